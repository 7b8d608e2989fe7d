"""Running totals of emotion samples, per participant and per sampling slot, kept as samples come and go.

Reports over long screenings read these (a few thousand rows) instead of aggregating
every sample (hundreds of thousands). Every change is an ``UPDATE ... SET x = x + v``, so
concurrent frames from many participants never overwrite each other's counts. The
functions here are called by the sample services inside their transactions; nothing else
writes the totals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast, Floor

from inference.labels import EMOTIONS
from screenings.models import EmotionSample, Participant, ParticipantTotals, Screening, TimelineSlot

# Guards the floor against a media time like 2.9999999999 that stands for 3.0.
SLOT_EPSILON = 1e-9
DOMINANT_FIELDS = {emotion: f"dominant_{emotion}" for emotion in EMOTIONS}


def slot_width(screening: Screening) -> float:
    return float(screening.sampling_interval)


def slot_of(media_time: float, width: float) -> int:
    """The sampling slot a media time falls in; the same rule as :func:`slot_expression` in SQL."""
    return math.floor(media_time / width + SLOT_EPSILON)


def slot_expression(width: float) -> Floor:
    return Floor(Cast(F("media_time"), FloatField()) / width + SLOT_EPSILON)


def _sums_and_dominants() -> dict[str, Any]:
    aggregates: dict[str, Any] = {emotion: Sum(emotion) for emotion in EMOTIONS}
    for emotion, field in DOMINANT_FIELDS.items():
        aggregates[field] = Count("pk", filter=Q(dominant_emotion=emotion))
    return aggregates


def slot_rows(samples: QuerySet[EmotionSample], width: float) -> list[dict[str, Any]]:
    """The faces among ``samples`` summed per slot: faces, participants, emotion sums, dominant counts."""
    return list(
        samples.filter(face_found=True)
        .annotate(slot=slot_expression(width))
        .values("slot")
        .annotate(faces=Count("pk"), participants=Count("participant", distinct=True), **_sums_and_dominants())
        .order_by("slot")
    )


def participant_rows(samples: QuerySet[EmotionSample]) -> list[dict[str, Any]]:
    """``samples`` summed per participant: samples, faces, emotion sums over faces, dominant counts."""
    return list(
        samples.values("participant")
        .annotate(samples=Count("pk"), faces=Count("pk", filter=Q(face_found=True)), **_sums_and_dominants())
        .order_by("participant")
    )


def _changes(row: dict[str, Any], sign: int, fields: Iterable[str]) -> dict[str, Any]:
    return {field: F(field) + sign * (row[field] or 0) for field in fields}


TOTAL_FIELDS = [*EMOTIONS, *DOMINANT_FIELDS.values()]


def totals_add(sample: EmotionSample, *, screening: Screening) -> None:
    """Count a newly stored sample into its participant's totals and, for a face, its timeline slot.

    Call inside the transaction that stores the sample, once per new sample.
    """
    participant_row: dict[str, Any] = {"samples": 1, "faces": int(sample.face_found)}
    participant_row.update({emotion: getattr(sample, emotion) or 0.0 for emotion in EMOTIONS})
    participant_row.update({field: int(sample.dominant_emotion == e) for e, field in DOMINANT_FIELDS.items()})
    _increment(
        ParticipantTotals,
        {"participant_id": sample.participant_id, "screening_id": sample.screening_id},
        _changes(participant_row, +1, ["samples", "faces", *TOTAL_FIELDS]),
    )
    if not sample.face_found:
        return
    width = slot_width(screening)
    slot = slot_of(sample.media_time, width)
    # The participant counts once per slot however many of their faces fall in it.
    first_in_slot = not (
        EmotionSample.objects.filter(participant_id=sample.participant_id, face_found=True)
        .filter(media_time__gte=(slot - SLOT_EPSILON) * width, media_time__lt=(slot + 1 - SLOT_EPSILON) * width)
        .exclude(pk=sample.pk)
        .exists()
    )
    slot_row = participant_row | {"participants": int(first_in_slot)}
    _increment(
        TimelineSlot,
        {"screening_id": sample.screening_id, "slot": slot},
        _changes(slot_row, +1, ["faces", "participants", *TOTAL_FIELDS]),
    )


def _increment(model: type[ParticipantTotals | TimelineSlot], key: dict[str, Any], changes: dict[str, Any]) -> None:
    """Add ``changes`` to the row ``key``, creating it first when it is the first sample there.

    The row usually exists, so the update comes first: one statement per sample, not two.
    A row created meanwhile by a concurrent sample is kept (the insert ignores the conflict).
    """
    if model.objects.filter(**key).update(**changes) == 0:
        model.objects.bulk_create([model(**key)], ignore_conflicts=True)
        model.objects.filter(**key).update(**changes)


def totals_remove_participant(participant: Participant) -> None:
    """Take a participant's samples out of the screening's timeline slots and drop their totals.

    Call inside the transaction that deletes the samples, before deleting them.
    """
    screening = participant.screening
    for row in slot_rows(participant.samples.all(), slot_width(screening)):
        TimelineSlot.objects.filter(screening=screening, slot=int(row["slot"])).update(
            **_changes(row, -1, ["faces", "participants", *TOTAL_FIELDS])
        )
    ParticipantTotals.objects.filter(participant=participant).delete()


def totals_rebuild(screening: Screening, *, models: Any = None) -> None:
    """Recompute every total of a screening from its samples (after a bulk load or an upgrade).

    ``models`` gives ``EmotionSample``, ``TimelineSlot`` and ``ParticipantTotals`` as attributes
    (a migration passes its historical app registry's models); the default is the real ones.
    """
    sample_model, slot_model, totals_model = (
        (EmotionSample, TimelineSlot, ParticipantTotals)
        if models is None
        else (models.EmotionSample, models.TimelineSlot, models.ParticipantTotals)
    )
    slot_model.objects.filter(screening_id=screening.pk).delete()
    totals_model.objects.filter(screening_id=screening.pk).delete()
    samples = sample_model.objects.filter(screening_id=screening.pk)
    slot_model.objects.bulk_create(
        [
            slot_model(screening_id=screening.pk, **row | {"slot": int(row["slot"])} | _zero_nulls(row))
            for row in slot_rows(samples, slot_width(screening))
        ],
        batch_size=2000,
    )
    totals_model.objects.bulk_create(
        [
            totals_model(screening_id=screening.pk, participant_id=participant_id, **fields | _zero_nulls(fields))
            for participant_id, fields in ((row.pop("participant"), row) for row in participant_rows(samples))
        ],
        batch_size=2000,
    )


def _zero_nulls(row: dict[str, Any]) -> dict[str, Any]:
    """SUM over no faces is NULL; a total of nothing is 0."""
    return {emotion: row[emotion] or 0.0 for emotion in EMOTIONS}
