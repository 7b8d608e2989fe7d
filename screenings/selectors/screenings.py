"""Reads: which screenings and participants a user may see, and the numbers shown beside them."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from inference.labels import EMOTIONS
from screenings.models import EmotionSample, MediaAnalysis, Participant, Question, Screening, TimelineSlot
from screenings.rules.slots import slot_width

User = AbstractBaseUser | AnonymousUser


def _count_subquery(queryset: QuerySet, field: str = "screening") -> Coalesce:
    counted = queryset.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def screenings_for_organizer(*, user: User) -> QuerySet[Screening]:
    """The user's screenings with participant and sample counts, in one query."""
    return Screening.objects.for_organizer(user).annotate(
        invited_count=_count_subquery(Participant.objects.all()),
        completed_count=_count_subquery(Participant.objects.filter(state=Participant.State.COMPLETED)),
        sample_count=_count_subquery(EmotionSample.objects.all()),
    )


def participants_for_organizer(*, user: User) -> QuerySet[Participant]:
    """The participants of the user's screenings, each with the number of samples stored."""
    return Participant.objects.for_organizer(user).annotate(
        sample_count=_count_subquery(EmotionSample.objects.all(), field="participant")
    )


def screening_for_organizer(*, user: User, pk: int) -> Screening:
    """The screening with this id if the user organizes it; otherwise a 404, never a 403, so ids do not leak."""
    return get_object_or_404(Screening.objects.for_organizer(user), pk=pk)


def participant_by_token(*, token: str) -> Participant:
    return get_object_or_404(Participant.objects.select_related("screening"), token=token)


def questions_for_phase(*, screening: Screening, phase: str) -> list[Question]:
    return [question for question in screening.questions.all() if question.asked_in(phase)]


def participant_for_capture(*, token: str) -> Participant | None:
    """The participant behind a capture link with their screening, or None for an unknown token."""
    return Participant.objects.select_related("screening").filter(token=token).first()


def capture_allowed(participant: Participant) -> bool:
    """Frames are taken only from a watching participant of an open screening, never after an erasure."""
    return capture_allowed_for(participant.state, participant.erased_at, participant.screening.status)


def capture_allowed_for(state: str, erased_at: datetime | None, screening_status: str) -> bool:
    """``capture_allowed`` from the three stored columns it depends on."""
    return state == Participant.State.WATCHING and erased_at is None and screening_status == Screening.Status.OPEN


def live_participants(*, screening: Screening) -> list[dict]:
    """Each participant who has started watching, whether they are connected, and their latest sample."""
    latest = EmotionSample.objects.filter(participant=OuterRef("pk")).order_by("-captured_at", "-media_time")
    rows = (
        screening.participants.exclude(watch_started_at=None)
        .annotate(
            latest_media_time=Subquery(latest.values("media_time")[:1]),
            latest_face=Subquery(latest.values("face_found")[:1]),
            latest_emotion=Subquery(latest.values("dominant_emotion")[:1]),
            sample_count=_count_subquery(EmotionSample.objects.all(), field="participant"),
        )
        .order_by("pk")
    )
    return [
        {
            "participant": row.pk,
            "label": str(row),
            "state": row.state,
            "connected": bool(row.capture_channel),
            "media_time": row.latest_media_time,
            "face": row.latest_face,
            "emotion": row.latest_emotion or None,
            "samples": row.sample_count,
        }
        for row in rows
    ]


def audience_running_mean(*, screening: Screening) -> list[dict]:
    """Per sampling slot of media time: how many faces were read and the mean of each emotion across them."""
    width = slot_width(screening)
    return [
        {"media_time": slot.slot * width, "n": slot.faces, **{e: getattr(slot, e) / slot.faces for e in EMOTIONS}}
        for slot in TimelineSlot.objects.filter(screening=screening, faces__gt=0).order_by("slot")
    ]


def screening_is_deletable(*, screening: Screening) -> bool:
    """Only a draft that nobody has joined may be deleted; any other screening is closed instead, keeping its data."""
    return screening.status == Screening.Status.DRAFT and not screening.participants.exists()


def analysis_for_organizer(*, user: User, pk: int) -> MediaAnalysis:
    """The media analysis with this id if the user made it; otherwise a 404."""
    return get_object_or_404(MediaAnalysis.objects.for_organizer(user), pk=pk)
