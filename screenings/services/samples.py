"""Storing emotion samples (live capture, recordings) with their running totals, and capture connections."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from inference import EMOTIONS
from screenings.models import EmotionSample, Participant, Screening
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
    fields = _sample_fields(
        participant=participant,
        media_time=media_time,
        probabilities=probabilities,
        face_box=face_box,
        looking_at_screen=looking_at_screen,
        model_version=model_version,
        captured_at=captured_at or timezone.now(),
    )
    try:
        # Insert first: a new frame (the common case) costs one query, a re-sent one two.
        with transaction.atomic():
            sample = EmotionSample.objects.create(**fields)
            sample_totals.totals_add(sample, screening=participant.screening)
            return sample, True
    except IntegrityError:
        return EmotionSample.objects.get(participant=participant, media_time=fields["media_time"]), False


def _sample_fields(
    *,
    participant: Participant,
    media_time: float,
    probabilities: Mapping[str, float] | None,
    face_box: tuple[int, int, int, int] | None,
    looking_at_screen: bool | None,
    model_version: str,
    captured_at: datetime,
) -> dict[str, Any]:
    """A sample's column values; media times are kept to the millisecond, the unit samples are matched by."""
    fields: dict[str, Any] = {
        "participant": participant,
        "screening_id": participant.screening_id,
        "media_time": round(float(media_time), 3),
        "captured_at": captured_at,
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
    return fields


@dataclass(frozen=True)
class CapturedReading:
    """One live frame's reading, to be stored as its participant's sample at ``media_time``."""

    participant: Participant
    media_time: float
    probabilities: Mapping[str, float] | None
    face_box: tuple[int, int, int, int] | None = None
    looking_at_screen: bool | None = None
    model_version: str = ""
    frame_image: bytes | None = None


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

    One reading through ``captured_samples_record``; raises ``PhaseError`` when the participant
    may not be captured now. Returns the sample and whether it was new.
    """
    reading = CapturedReading(
        participant=participant,
        media_time=media_time,
        probabilities=probabilities,
        face_box=face_box,
        looking_at_screen=looking_at_screen,
        model_version=model_version,
        frame_image=frame_image,
    )
    [stored] = captured_samples_record(readings=[reading])
    if stored is None:
        raise PhaseError("This participant is not watching now.")
    return stored


@transaction.atomic
def captured_samples_record(*, readings: Sequence[CapturedReading]) -> list[tuple[EmotionSample, bool] | None]:
    """Store live frames' readings together, in one transaction; for each, its sample and whether it was new.

    A reading whose participant may no longer be captured (``selectors.capture_allowed``, on the
    stored row) gets None and stores nothing. The check runs under the participants' row locks,
    which withdrawal and erasure take too: a frame still being read when its participant withdraws
    or is erased is refused here, never stored after the erasure. The locks are taken in the
    order of the participants' ids, so two processes storing batches never deadlock. A media
    time already stored for its participant (a re-sent frame, or the same one twice in the
    batch) returns the stored sample, as ``sample_record`` does. A frame is kept with a new
    sample, in the same transaction, when its screening keeps frames, so an erasure that follows
    finds the file and deletes it.
    """
    ids = sorted({reading.participant.pk for reading in readings})
    # Six columns per participant, not model instances: this runs for every batch of webcam frames.
    rows = (
        Participant.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "state", "erased_at", "screening__status", "screening__keep_raw_frames", "capture_seen_at")
    )
    allowed: dict[int, bool] = {}
    seen: dict[int, datetime | None] = {}
    for pk, state, erased_at, status, keep_frames, seen_at in rows:
        if capture_allowed_for(state, erased_at, status):
            allowed[pk] = keep_frames
            seen[pk] = seen_at
    _capture_seen_record(seen)
    storable = [reading for reading in readings if reading.participant.pk in allowed]
    stored = iter(_samples_record_together(storable))
    results: list[tuple[EmotionSample, bool] | None] = []
    for reading in readings:
        if reading.participant.pk not in allowed:
            results.append(None)
            continue
        sample, created = next(stored)
        if created and allowed[reading.participant.pk] and reading.frame_image is not None:
            sample_frame_keep(sample=sample, content=ContentFile(reading.frame_image))
        results.append((sample, created))
    return results


def _samples_record_together(readings: Sequence[CapturedReading]) -> list[tuple[EmotionSample, bool]]:
    """``sample_record`` for many readings at once: a query for those stored before, one insert, the totals.

    Call inside a transaction holding the readings' participants' row locks, so no other capture
    stores their samples meanwhile. Should an insert still collide (a sample stored without those
    locks), each reading is stored on its own instead.
    """
    now = timezone.now()
    fields = [
        _sample_fields(
            participant=reading.participant,
            media_time=reading.media_time,
            probabilities=reading.probabilities,
            face_box=reading.face_box,
            looking_at_screen=reading.looking_at_screen,
            model_version=reading.model_version,
            captured_at=now,
        )
        for reading in readings
    ]
    keys = [(row["participant"].pk, row["media_time"]) for row in fields]
    before = {
        (sample.participant_id, sample.media_time): sample
        for sample in EmotionSample.objects.filter(
            participant_id__in={key[0] for key in keys}, media_time__in={key[1] for key in keys}
        )
    }
    new: dict[tuple[int, float], EmotionSample] = {}
    for key, row in zip(keys, fields, strict=True):
        if key not in before and key not in new:
            new[key] = EmotionSample(**row)
    try:
        with transaction.atomic():
            EmotionSample.objects.bulk_create(list(new.values()))
            sample_totals.totals_add_together(list(new.values()), screenings=_screenings(readings))
    except IntegrityError:
        return [_sample_record_alone(reading, captured_at=now) for reading in readings]
    results: list[tuple[EmotionSample, bool]] = []
    claimed: set[tuple[int, float]] = set()
    for key in keys:
        if key in before:
            results.append((before[key], False))
        else:
            # The first reading of a media time created its sample; a second one in the batch finds it.
            results.append((new[key], key not in claimed))
            claimed.add(key)
    return results


def _sample_record_alone(reading: CapturedReading, *, captured_at: datetime) -> tuple[EmotionSample, bool]:
    return sample_record(
        participant=reading.participant,
        media_time=reading.media_time,
        probabilities=reading.probabilities,
        face_box=reading.face_box,
        looking_at_screen=reading.looking_at_screen,
        model_version=reading.model_version,
        captured_at=captured_at,
    )


def _screenings(readings: Sequence[CapturedReading]) -> dict[int, Screening]:
    return {reading.participant.screening_id: reading.participant.screening for reading in readings}


def _capture_seen_record(seen: Mapping[int, datetime | None]) -> None:
    """Note that these participants' capture is alive (a frame arrived), so the live view keeps them connected.

    ``seen`` maps each participant to the stored time, read with the frames' other checks; each is
    written at most four times per ``CAPTURE_CONNECTION_TIMEOUT_SECONDS``, not for every frame.
    """
    now = timezone.now()
    stale = timedelta(seconds=settings.CAPTURE_CONNECTION_TIMEOUT_SECONDS / 4)
    due = [pk for pk, last_seen in seen.items() if last_seen is None or now - last_seen > stale]
    if due:
        Participant.objects.filter(pk__in=due).update(capture_seen_at=now)


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


def capture_disconnection_record(*, participant: Participant, channel_name: str) -> None:
    """Forget the connection, unless a newer one has replaced it meanwhile."""
    Participant.objects.filter(pk=participant.pk, capture_channel=channel_name).update(capture_channel="")
