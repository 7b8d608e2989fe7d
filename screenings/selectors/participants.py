"""Reads about participants: by link token, for an organizer, and who is watching live."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from screenings.models import EmotionSample, Participant, Screening
from screenings.selectors.screenings import User, count_subquery


def participants_for_organizer(*, user: User) -> QuerySet[Participant]:
    """The participants of the user's screenings, each with the number of samples stored."""
    return Participant.objects.for_organizer(user).annotate(
        sample_count=count_subquery(EmotionSample.objects.all(), field="participant")
    )


def participant_by_token(*, token: str) -> Participant | None:
    """The participant behind a personal link, with their screening; None for an unknown token."""
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
            sample_count=count_subquery(EmotionSample.objects.all(), field="participant"),
        )
        .order_by("pk")
    )
    now = timezone.now()
    return [
        {
            "participant": row.pk,
            "label": str(row),
            "state": row.state,
            "connected": capture_connected(row, now=now),
            "media_time": row.latest_media_time,
            "face": row.latest_face,
            "emotion": row.latest_emotion or None,
            "samples": row.sample_count,
        }
        for row in rows
    ]


def capture_connected(participant: Participant, *, now: datetime | None = None) -> bool:
    """Whether a live capture connection is open: one is recorded and it was seen lately.

    A server that crashed never cleared its connections, so a recorded channel alone proves
    nothing; one not seen (connected, or a frame) for CAPTURE_CONNECTION_TIMEOUT_SECONDS is gone.
    """
    if not participant.capture_channel or participant.capture_seen_at is None:
        return False
    now = timezone.now() if now is None else now
    return now - participant.capture_seen_at <= timedelta(seconds=settings.CAPTURE_CONNECTION_TIMEOUT_SECONDS)


def participant_in_screening(*, screening: Screening, pk: int) -> Participant | None:
    """One participant of ``screening`` (already checked to be the organizer's)."""
    return screening.participants.filter(pk=pk).first()


def returning_participant(*, screening: Screening, token: str) -> Participant | None:
    """The open link's participant who comes back in the same browser: one of ``screening``'s who has
    neither declined, withdrawn nor been erased (None otherwise: they start afresh)."""
    return (
        screening.participants.select_related("screening")
        .filter(token=token, erased_at=None)
        .exclude(state__in=[Participant.State.DECLINED, Participant.State.WITHDRAWN])
        .first()
    )
