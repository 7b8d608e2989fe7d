"""The organizer side: screenings, their participants, answers and samples in the Django admin.

Every staff user is an organizer. Each sees and edits only the screenings they own or
collaborate on, and only those screenings' participants, answers and samples; another
organizer's objects give 404, in lists, forms, inlines, autocomplete and actions alike.
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from screenings import selectors, services
from screenings.admin.forms import QuestionForm, ScreeningAdminForm, SegmentForm
from screenings.admin.mixins import OrganizerAccessMixin, OrganizerPermissionsMixin, organizer_choices
from screenings.admin.segment_rules import SegmentRulesWidget
from screenings.models import (
    MINIMUM_SAMPLING_INTERVAL,
    SAMPLING_INTERVAL_CHOICES,
    Participant,
    Question,
    Scene,
    Screening,
    Segment,
)
from screenings.reports.exporters import spreadsheet_safe
from screenings.selectors.segments import questions_by_id
from screenings.services import MAX_INVITES_PER_REQUEST
from screenings.services.segments import MAX_SEGMENTS_PER_SCREENING
from screenings.web.links import open_link_url, participant_link_url, stimulus_preview_url


class QuestionInline(OrganizerPermissionsMixin, admin.StackedInline):
    model = Question
    form = QuestionForm
    extra = 0
    # Shows each question only the fields of its kind (static/js/admin-question-kinds.js).
    classes = ["question-kinds"]
    fields = [("phase", "kind", "required", "allow_prefer_not", "order", "retired"), "text", "help_text", "choices",
              ("min_value", "max_value"), ("low_label", "high_label")]  # fmt: skip

    def get_formset(self, request: HttpRequest, obj: Screening | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # The admin builds the inline's form from ours; its own check of a deletion names every
        # answer the database keeps, which a study with 200 participants makes unreadable.
        base = formset.form

        class AnsweredQuestionForm(base):  # type: ignore[valid-type,misc]
            def hand_clean_DELETE(self) -> None:
                if self.cleaned_data.get("DELETE") and self.instance.pk and self.instance.answers.exists():
                    raise ValidationError(
                        f"Participants have answered “{self.instance.text}”: an answered question cannot be "
                        "deleted, so its answers are kept. Tick “retired” instead: it is then no longer asked, "
                        "and its answers stay in the report."
                    )
                super().hand_clean_DELETE()

        formset.form = AnsweredQuestionForm
        return formset


class SceneInline(OrganizerPermissionsMixin, admin.TabularInline):
    model = Scene
    extra = 0
    fields = ["start", "end", "label"]


class SegmentInline(OrganizerPermissionsMixin, admin.StackedInline):
    """Segments of the audience: a name and rules, checked as the API checks them (``services.segment_*``)."""

    model = Segment
    form = SegmentForm
    extra = 0
    # The services' limit, so the admin never offers a row it would refuse.
    max_num = MAX_SEGMENTS_PER_SCREENING
    fields = ["name", "rules"]

    def get_formset(self, request: HttpRequest, obj: Screening | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # Each row's rules are checked against this screening's questions, which the builder offers and the
        # help lists with their ids (a new screening has none: its segments wait for it to be saved).
        questions = list(questions_by_id(obj).values()) if obj is not None else []
        rules = copy.deepcopy(SegmentForm.base_fields["rules"])
        rules.widget = SegmentRulesWidget(questions)
        listed = "; ".join(f"{question.pk}: “{question.text}” ({question.get_kind_display()}, {question.phase})"
                           for question in questions)  # fmt: skip
        if listed:
            rules.help_text = f"{rules.help_text} This screening's questions: {listed}."
        formset.form = type("ScreeningSegmentForm", (formset.form,), {"screening": obj, "rules": rules})
        return formset


@dataclass(frozen=True)
class InlineWrites:
    """The services an inline's rows are written through."""

    create: Callable[[Screening, dict[str, Any]], Model]
    update: Callable[[Any, dict[str, Any]], Model]
    delete: Callable[[Any], None]


INLINE_SERVICES = {
    Question: InlineWrites(
        create=lambda screening, fields: services.question_create(screening=screening, **fields),
        update=lambda question, changes: services.question_update(question=question, **changes),
        delete=lambda question: services.question_delete(question=question),
    ),
    Scene: InlineWrites(
        create=lambda screening, fields: services.scene_create(screening=screening, **fields),
        update=lambda scene, changes: services.scene_update(scene=scene, **changes),
        delete=lambda scene: services.scene_delete(scene=scene),
    ),
    Segment: InlineWrites(
        create=lambda screening, fields: services.segment_create(screening=screening, **fields),
        update=lambda segment, changes: services.segment_update(segment=segment, **changes),
        delete=lambda segment: services.segment_delete(segment=segment),
    ),
}


class SamplingIntervalWidget(forms.NumberInput):
    """A number box that offers the usual intervals while allowing any value of 0.2 s or more."""

    def __init__(self) -> None:
        # No step here: the form field sets one from the decimal places, so 0.25 is as valid as 0.5.
        super().__init__(attrs={"list": "sampling-intervals", "min": str(MINIMUM_SAMPLING_INTERVAL)})

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> SafeString:
        options = format_html_join(
            "", '<option value="{}"></option>', ((f"{v:g}",) for v, _ in SAMPLING_INTERVAL_CHOICES)
        )
        box = super().render(name, value, attrs, renderer)
        return format_html('{}<datalist id="sampling-intervals">{}</datalist>', box, options)


@dataclass(frozen=True)
class LinkedFile:
    """A stored file as the admin's file widget shows it: its name, linked to ``url``."""

    name: str
    url: str

    def __str__(self) -> str:
        return self.name


class StimulusFileWidget(AdminFileWidget):
    """The stimulus upload, whose "Currently:" link is the organizers' stimulus page: media is not served."""

    def format_value(self, value: Any) -> Any:
        value = super().format_value(value)
        screening = getattr(value, "instance", None)
        if value and screening is not None and screening.pk is not None:
            return LinkedFile(name=value.name, url=stimulus_preview_url(screening, request=None))
        return value


class InviteForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=MAX_INVITES_PER_REQUEST, initial=10, label="How many links")
    label = forms.CharField(max_length=200, required=False, help_text="A note kept with each invite, e.g. 'wave 1'.")


@admin.register(Screening)
class ScreeningAdmin(OrganizerAccessMixin, admin.ModelAdmin):
    inlines = [QuestionInline, SceneInline, SegmentInline]
    form = ScreeningAdminForm

    class Media:
        js = ["js/admin-question-kinds.js"]

    list_display = ["title", "status", "invited_count", "completed_count", "sample_count", "live_link", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["status", "open_link", "owner", "opened_at", "closed_at", "created_at", "updated_at"]
    filter_horizontal = ["collaborators"]
    actions = ["open_screenings", "close_screenings", "generate_invites", "show_open_links"]
    fieldsets = [
        ("Study", {"fields": ["title", "slug", "description", "status", "open_link"]}),
        (
            "Stimulus",
            {
                "fields": [
                    "stimulus",
                    "held_stimulus",
                    "stimulus_url",
                    "stimulus_duration",
                    "sampling_interval",
                    "capture_source",
                ]
            },
        ),
        (
            "Participants",
            {
                "fields": [
                    "consent_text",
                    "participant_quota",
                    "completion_redirect_url",
                    "keep_raw_frames",
                    "require_face_check",
                    "pause_without_face",
                ]
            },
        ),
        ("Organizers", {"fields": ["owner", "collaborators"]}),
        ("Dates", {"fields": ["created_at", "updated_at", "opened_at", "closed_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Screening]:
        return selectors.screenings_for_organizer(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Screening | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        if request.user.is_superuser and obj is not None:
            fields.remove("owner")
        return fields

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "sampling_interval":
            kwargs["widget"] = SamplingIntervalWidget()
        if db_field.name == "stimulus":
            kwargs["widget"] = StimulusFileWidget
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "collaborators":
            kwargs["queryset"] = organizer_choices()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Screening | None = None) -> bool:
        deletable = obj is None or services.screening_is_deletable(screening=obj)
        return super().has_delete_permission(request, obj) and deletable

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[list[str], dict, set, list]:
        """The delete confirmation names what each screening destroys, in counts (listing every sample of a
        long study would take the page minutes to build)."""
        summaries = [(screening, services.screening_deletion_summary(screening=screening)) for screening in objs]
        lines = [
            f"{screening}: destroys {summary}, its stimulus file and kept frames" for screening, summary in summaries
        ]
        counts = {
            "participants": sum(summary.participants for _, summary in summaries),
            "answers": sum(summary.answers for _, summary in summaries),
            "emotion samples": sum(summary.samples for _, summary in summaries),
        }
        protected = [
            f"{screening} is open: close it first"
            for screening in objs
            if not services.screening_is_deletable(screening=screening)
        ]
        return lines, counts, set(), protected

    def save_model(self, request: HttpRequest, obj: Screening, form: Any, change: bool) -> None:
        if not change:
            obj.owner = request.user
        services.screening_save(screening=obj)
        form.release_held_stimulus()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Questions, scenes and segments from the inlines, each through its service (never the formset's own save)."""
        formset.save(commit=False)
        writes = INLINE_SERVICES[formset.model]
        for obj in formset.deleted_objects:
            writes.delete(obj)
        for obj, changed in formset.changed_objects:
            writes.update(obj, {field: getattr(obj, field) for field in changed})
        for obj in formset.new_objects:
            fields = {
                field.name: getattr(obj, field.name)
                for field in obj._meta.concrete_fields
                if field.name not in ("id", "screening")
            }
            created = writes.create(form.instance, fields)
            obj.pk = created.pk

    # The admin's confirmation page (get_deleted_objects) is where the organizer confirmed.
    def delete_model(self, request: HttpRequest, obj: Screening) -> None:
        services.screening_delete(screening=obj, confirmed=True)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Screening]) -> None:
        for screening in queryset:
            services.screening_delete(screening=screening, confirmed=True)

    @admin.display(description="invited", ordering="invited_count")
    def invited_count(self, obj: Screening) -> int:
        return obj.invited_count

    @admin.display(description="completed", ordering="completed_count")
    def completed_count(self, obj: Screening) -> int:
        return obj.completed_count

    @admin.display(description="samples stored", ordering="sample_count")
    def sample_count(self, obj: Screening) -> int:
        return obj.sample_count

    @admin.display(description="results")
    def live_link(self, obj: Screening) -> str:
        return format_html(
            '<a href="{}">report</a> · <a href="{}">live view</a> · <a href="{}">recordings</a>',
            reverse("organizer-report", args=[obj.pk]),
            reverse("organizer-live", args=[obj.pk]),
            reverse("organizer-recording-upload", args=[obj.pk]),
        )

    @admin.display(description="open link")
    def open_link(self, obj: Screening) -> str:
        if obj.pk is None:
            return "-"
        url = open_link_url(obj, request=None)
        return format_html('<a href="{0}">{0}</a> (append ?pid=&lt;panel id&gt; for panel participants)', url)

    @admin.action(description="Open for participants")
    def open_screenings(self, request: HttpRequest, queryset: QuerySet[Screening]) -> None:
        for screening in queryset:
            try:
                services.screening_open(screening=screening)
                self.message_user(request, f"“{screening}” is open.", messages.SUCCESS)
            except services.StudyError as error:
                self.message_user(request, f"“{screening}” cannot open: {error}", messages.ERROR)

    @admin.action(description="Close")
    def close_screenings(self, request: HttpRequest, queryset: QuerySet[Screening]) -> None:
        for screening in queryset:
            services.screening_close(screening=screening)
        self.message_user(request, f"Closed {len(queryset)} screening(s).", messages.SUCCESS)

    @admin.action(description="Show the open link")
    def show_open_links(self, request: HttpRequest, queryset: QuerySet[Screening]) -> None:
        for screening in queryset:
            url = open_link_url(screening, request=request)
            self.message_user(request, f"{screening}: {url} (add ?pid=<panel id> for panel participants)")

    @admin.action(description="Generate personal invite links (CSV)")
    def generate_invites(self, request: HttpRequest, queryset: QuerySet[Screening]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one screening to generate invites for.", messages.ERROR)
            return None
        screening = queryset.get()
        form = InviteForm(request.POST if "count" in request.POST else None)
        if form.is_valid():
            participants = services.invites_create(
                screening=screening, count=form.cleaned_data["count"], label=form.cleaned_data["label"]
            )
            return invites_csv_response(request, screening, participants)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Personal invite links for “{screening}”",
            "form": form,
            "screening": screening,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/screenings/screening/generate_invites.html", context)


def invites_csv_response(request: HttpRequest, screening: Screening, participants: list[Participant]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["participant_id", "label", "link"])
    for participant in participants:
        link = participant_link_url(participant, request=request)
        writer.writerow([participant.pk, spreadsheet_safe(participant.label), link])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{screening.slug}-invites.csv"'
    return response
