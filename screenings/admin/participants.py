"""Participants, their answers and samples in the admin: read-only but for the label, erased through the action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from screenings import selectors, services
from screenings.admin.mixins import OrganizerAccessMixin, OrganizerPermissionsMixin, ReadOnlyMixin
from screenings.models import (
    Answer,
    EmotionSample,
    Participant,
    Screening,
)
from screenings.web.links import participant_link_url


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

    def save_model(self, request: HttpRequest, obj: Participant, form: Any, change: bool) -> None:
        # The label is the one field an organizer edits here; the journey's columns are not written back.
        services.participant_label_set(participant=obj, label=form.cleaned_data["label"])

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
    list_display = [
        "participant", "screening", "media_time", "face_found", "looking_at_screen", "dominant_emotion", "model_version"
    ]  # fmt: skip
    list_filter = [OwnScreeningFilter, "face_found", "looking_at_screen", "dominant_emotion"]
    list_select_related = ["participant", "screening"]
    exclude = ["frame"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EmotionSample]:
        return EmotionSample.objects.filter(screening__in=Screening.objects.for_organizer(request.user))
