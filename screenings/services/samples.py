"""Storing emotion samples (live capture, recordings) with their running totals, and capture connections."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from inference import EMOTIONS
from screenings.models import EmotionSample, Participant
from screenings.rules.errors import PhaseError
from screenings.selectors import capture_allowed_for
from screenings.services import totals as sample_totals


def sample_record(
    *,
    participant: Participant,
    media_time: float,
    probabilities: Mapping[str, float] | None,
    face_box: tuple[int, int, int, int] | None = None,
    looking_at_screen: bool | None = None,
    model_version: str = "",
    captured_at: datetime | None = None,
) -> tuple[EmotionSample, bool]:
    """Store the emotion read at ``media_time``; the same media time again returns the stored sample.

    ``probabilities`` is None when no face was found. ``looking_at_screen`` is kept only with a
    face (None: not known). Returns the sample and whether it was new.
    """
    media_time = round(float(media_time), 3)
    fields: dict[str, Any] = {
        "participant": participant,
        "screening_id": participant.screening_id,
        "media_time": media_time,
        "captured_at": captured_at or timezone.now(),
        "face_found": probabilities is not None,
        "model_version": model_version,
    }
    if probabilities is not None:
        missing = set(EMOTIONS) - set(probabilities)
        if missing:
            raise ValueError(f"probabilities lack {sorted(missing)}")
        fields.update({emotion: float(probabilities[emotion]) for emotion in EMOTIONS})
        fields["dominant_emotion"] = max(EMOTIONS, key=lambda emotion: probabilities[emotion])
        fields["looking_at_screen"] = looking_at_screen
    if face_box is not None:
        fields.update(dict(zip(("face_x", "face_y", "face_width", "face_height"), face_box, strict=True)))
    try:
        # Insert first: a new frame (the common case) costs one query, a re-sent one two.
        with transaction.atomic():
            sample = EmotionSample.objects.create(**fields)
            sample_totals.totals_add(sample, screening=participant.screening)
            return sample, True
    except IntegrityError:
        return EmotionSample.objects.get(participant=participant, media_time=media_time), False


@transaction.atomic
def captured_sample_record(
    *,
    participant: Participant,
    media_time: float,
    probabilities: Mapping[str, float] | None,
    face_box: tuple[int, int, int, int] | None = None,
    looking_at_screen: bool | None = None,
    model_version: str = "",
    frame_image: bytes | None = None,
) -> tuple[EmotionSample, bool]:
    """``sample_record`` for live capture, only while the participant may still be captured.

    The check (``selectors.capture_allowed``, on the stored row) runs under the participant's row
    lock, which withdrawal and erasure take too: a frame still being read when the participant
    withdraws or is erased is refused here (``PhaseError``), never stored after the erasure.
    ``frame_image`` is kept with a new sample, in the same transaction, when the screening keeps
    frames, so an erasure that follows finds the file and deletes it.
    """
    # Five columns, not two model instances: this runs for every webcam frame.
    state, erased_at, status, keep_frames, seen_at = (
        Participant.objects.select_for_update(of=("self",))
        .filter(pk=participant.pk)
        .values_list("state", "erased_at", "screening__status", "screening__keep_raw_frames", "capture_seen_at")
        .get()
    )
    if not capture_allowed_for(state, erased_at, status):
        raise PhaseError("This participant is not watching now.")
    capture_seen_record(participant=participant, last_seen=seen_at)
    sample, created = sample_record(
        participant=participant,
        media_time=media_time,
        probabilities=probabilities,
        face_box=face_box,
        looking_at_screen=looking_at_screen,
        model_version=model_version,
    )
    if created and keep_frames and frame_image is not None:
        sample_frame_keep(sample=sample, content=ContentFile(frame_image))
    return sample, created


def sample_frame_keep(*, sample: EmotionSample, content: ContentFile) -> EmotionSample:
    """Keep the raw webcam frame behind a sample (only for screenings that keep frames).

    The file name holds a random token: ids and media times are easy to guess, and a kept frame
    is a participant's face, so nobody may find one from its path. ``upload_to`` adds ``frames/``.
    """
    token = secrets.token_urlsafe(16)
    name = f"{sample.screening_id}/{sample.participant_id}/{sample.media_time:010.3f}-{token}.jpg"
    sample.frame.save(name, content, save=False)
    EmotionSample.objects.filter(pk=sample.pk).update(frame=sample.frame.name)
    return sample


def capture_connection_record(*, participant: Participant, channel_name: str) -> None:
    """Remember which live connection captures for this participant (shown in the organizer's live view)."""
    Participant.objects.filter(pk=participant.pk).update(capture_channel=channel_name, capture_seen_at=timezone.now())


def capture_seen_record(*, participant: Participant, last_seen: datetime | None) -> None:
    """Note that the participant's capture is alive (a frame arrived), so the live view keeps them connected.

    Written at most four times per ``CAPTURE_CONNECTION_TIMEOUT_SECONDS``, not for every frame:
    ``last_seen`` is the stored time, read with the frame's other checks.
    """
    now = timezone.now()
    if last_seen is None or now - last_seen > timedelta(seconds=settings.CAPTURE_CONNECTION_TIMEOUT_SECONDS / 4):
        Participant.objects.filter(pk=participant.pk).update(capture_seen_at=now)


def capture_disconnection_record(*, participant: Participant, channel_name: str) -> None:
    """Forget the connection, unless a newer one has replaced it meanwhile."""
    Participant.objects.filter(pk=participant.pk, capture_channel=channel_name).update(capture_channel="")
