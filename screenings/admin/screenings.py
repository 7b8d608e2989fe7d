"""The organizer side: screenings, their participants, answers and samples in the Django admin.

Every staff user is an organizer. Each sees and edits only the screenings they own or
collaborate on, and only those screenings' participants, answers and samples; another
organizer's objects give 404, in lists, forms, inlines, autocomplete and actions alike.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from screenings import selectors, services
from screenings.models import (
    MINIMUM_SAMPLING_INTERVAL,
    SAMPLING_INTERVAL_CHOICES,
    Answer,
    EmotionSample,
    Marker,
    MediaAnalysis,
    Participant,
    Question,
    Screening,
)
from screenings.reports.exporters import spreadsheet_safe
from screenings.services import MAX_INVITES_PER_REQUEST
from screenings.web.links import open_link_url, participant_link_url


def organizer_choices() -> QuerySet:
    """The users who can run screenings: active staff."""
    return get_user_model().objects.filter(is_staff=True, is_active=True)


def scoped_choices(model: type[Model], user: Any) -> QuerySet | None:
    """What an organizer may pick in a foreign key to ``model``; None where the admin's default is already safe."""
    if model is Screening:
        return Screening.objects.for_organizer(user)
    if model is Participant:
        return Participant.objects.for_organizer(user)
    if model is Question:
        return Question.objects.filter(screening__in=Screening.objects.for_organizer(user))
    if model is get_user_model():
        return organizer_choices()
    return None


class OrganizerPermissionsMixin:
    """Any active staff user may use these pages; which rows they reach is decided by ``get_queryset``.

    Foreign-key choices are scoped the same way, so no form can point at another organizer's screening.
    """

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        choices = scoped_choices(db_field.related_model, request.user)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def _is_organizer(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_organizer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_organizer(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._is_organizer(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_organizer(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_organizer(request)


class OrganizerAccessMixin(OrganizerPermissionsMixin):
    """Organizer permissions, and a 404 for the change, delete and history pages of an object out of reach."""

    def _refuse_unless_visible(self, request: HttpRequest, object_id: str | None) -> None:
        # The admin's own answer to a hidden object is a redirect with a message; ours is a plain 404.
        if object_id is not None and self.get_object(request, unquote(object_id)) is None:  # type: ignore[attr-defined]
            raise Http404("No such object.")

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refuse_unless_visible(request, object_id)
        return super().change_view(request, object_id, *args, **kwargs)  # type: ignore[misc]

    def delete_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refuse_unless_visible(request, object_id)
        return super().delete_view(request, object_id, *args, **kwargs)  # type: ignore[misc]

    def history_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refuse_unless_visible(request, object_id)
        return super().history_view(request, object_id, *args, **kwargs)  # type: ignore[misc]


class ReadOnlyMixin:
    """Answers and samples are written by participants only; organizers read them (and erase through the action)."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class QuestionInline(OrganizerPermissionsMixin, admin.StackedInline):
    model = Question
    extra = 0
    fields = [("phase", "kind", "required", "order"), "text", "help_text", "choices", ("min_value", "max_value"),
              ("low_label", "high_label")]  # fmt: skip


class MarkerInline(OrganizerPermissionsMixin, admin.TabularInline):
    model = Marker
    extra = 0
    fields = ["start", "end", "label"]


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


class InviteForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=MAX_INVITES_PER_REQUEST, initial=10, label="How many links")
    label = forms.CharField(max_length=200, required=False, help_text="A note kept with each invite, e.g. 'wave 1'.")


@admin.register(Screening)
class ScreeningAdmin(OrganizerAccessMixin, admin.ModelAdmin):
    inlines = [QuestionInline, MarkerInline]
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
            {"fields": ["stimulus", "stimulus_url", "stimulus_duration", "sampling_interval", "capture_source"]},
        ),
        (
            "Participants",
            {"fields": ["consent_text", "participant_quota", "completion_redirect_url", "keep_raw_frames"]},
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
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "collaborators":
            kwargs["queryset"] = organizer_choices()
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Screening | None = None) -> bool:
        # The same rule as the API: data that participants gave is never deleted along with its screening.
        deletable = obj is None or selectors.screening_is_deletable(screening=obj)
        return super().has_delete_permission(request, obj) and deletable

    def save_model(self, request: HttpRequest, obj: Screening, form: Any, change: bool) -> None:
        if not change:
            obj.owner = request.user
        services.screening_save(screening=obj)

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


class OwnScreeningFilter(admin.SimpleListFilter):
    """Filter by screening, listing only the organizer's own screenings."""

    title = "screening"
    parameter_name = "screening"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[int, str]]:
        return [(s.pk, s.title) for s in Screening.objects.for_organizer(request.user).only("pk", "title")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(screening_id=self.value()) if self.value() else queryset


class AnswerInline(ReadOnlyMixin, OrganizerPermissionsMixin, admin.TabularInline):
    model = Answer
    extra = 0
    fields = ["phase", "question", "value", "answered_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Answer]:
        return super().get_queryset(request).select_related("question")


@admin.register(Participant)
class ParticipantAdmin(OrganizerAccessMixin, admin.ModelAdmin):
    list_display = ["__str__", "screening", "source", "state", "external_id", "created_at", "completed_at", "samples"]
    list_filter = [OwnScreeningFilter, "state", "source"]
    list_select_related = ["screening"]
    search_fields = ["external_id", "label"]
    readonly_fields = ["screening", "personal_link", "source", "state", "external_id", "user_agent", "created_at",
                       "consented_at", "before_done_at", "watch_started_at", "watched_at", "after_done_at",
                       "completed_at", "declined_at", "withdrawn_at", "erased_at", "watch_position"]  # fmt: skip
    fields = ["label", *readonly_fields]
    inlines = [AnswerInline]
    actions = ["erase_data"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Participant]:
        return selectors.participants_for_organizer(user=request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # Participants come from invites (the screening action or the API) and the open link.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Participant | None = None) -> bool:
        # A participant's data goes through erasure, which also deletes kept frames; the row stays for the counts.
        return False

    @admin.display(description="samples", ordering="sample_count")
    def samples(self, obj: Participant) -> int:
        return obj.sample_count

    @admin.display(description="personal link")
    def personal_link(self, obj: Participant) -> str:
        return format_html('<a href="{0}">{0}</a>', participant_link_url(obj, request=None))

    @admin.action(description="Erase data (answers and samples)")
    def erase_data(self, request: HttpRequest, queryset: QuerySet[Participant]) -> HttpResponse | None:
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase participants' data?",
                "participants": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/screenings/participant/erase_confirmation.html", context)
        for participant in queryset:
            services.participant_erase(participant=participant)
        self.message_user(
            request, f"Erased the answers and samples of {len(queryset)} participant(s).", messages.SUCCESS
        )
        return None


@admin.register(Answer)
class AnswerAdmin(ReadOnlyMixin, OrganizerAccessMixin, admin.ModelAdmin):
    list_display = ["participant", "question", "phase", "value", "answered_at"]
    list_filter = ["phase"]
    list_select_related = ["participant", "question"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Answer]:
        return Answer.objects.filter(participant__in=Participant.objects.for_organizer(request.user))


@admin.register(EmotionSample)
class EmotionSampleAdmin(ReadOnlyMixin, OrganizerAccessMixin, admin.ModelAdmin):
    list_display = ["participant", "screening", "media_time", "face_found", "dominant_emotion", "model_version"]
    list_filter = [OwnScreeningFilter, "face_found", "dominant_emotion"]
    list_select_related = ["participant", "screening"]
    exclude = ["frame"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EmotionSample]:
        return EmotionSample.objects.filter(screening__in=Screening.objects.for_organizer(request.user))


@admin.register(MediaAnalysis)
class MediaAnalysisAdmin(ReadOnlyMixin, OrganizerAccessMixin, admin.ModelAdmin):
    """Media analyses appear in the admin's menu; uploads, progress and results live on their own pages."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[MediaAnalysis]:
        return MediaAnalysis.objects.for_organizer(request.user)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("organizer-analyses"))

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        self._refuse_unless_visible(request, object_id)
        return HttpResponseRedirect(reverse("organizer-analysis", args=[unquote(object_id)]))
