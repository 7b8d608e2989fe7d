"""Running totals of emotion samples, per participant and per sampling slot, kept as samples come and go.

Reports over long screenings read these (a few thousand rows) instead of aggregating
every sample (hundreds of thousands). Every change is an ``UPDATE ... SET x = x + v``, so
concurrent frames from many participants never overwrite each other's counts. The
functions here are called by the sample services inside their transactions; nothing else
writes the totals.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

from inference import EMOTIONS
from screenings.models import (
    EmotionSample,
    EmotionTotals,
    Participant,
    ParticipantTotals,
    Screening,
    TimelineSlot,
    ViewerSeries,
)
from screenings.models.samples import DOMINANT_FIELDS, SLOT_TOTAL_COLUMNS
from screenings.rules.slots import SLOT_EPSILON, slot_of, slot_width
from screenings.selectors.samples import participant_rows, slot_rows


def totals_add(sample: EmotionSample, *, screening: Screening) -> None:
    """Count a newly stored sample into its participant's totals and, for a face, its timeline slot.

    Call inside the transaction that stores the sample, once per new sample.
    """
    participant_row = _participant_row(sample)
    _increment_or_create(
        ParticipantTotals,
        {"participant_id": sample.participant_id},
        participant_row,
        screening_id=sample.screening_id,
    )
    if not sample.face_found:
        return
    width = slot_width(screening)
    slot = slot_of(sample.media_time, width)
    # The participant counts once per slot however many of their faces fall in it.
    first_in_slot = not _other_face_within(sample, (slot - SLOT_EPSILON) * width, (slot + 1 - SLOT_EPSILON) * width)
    slot_row = participant_row | {"participants": int(first_in_slot)}
    key = {"screening_id": sample.screening_id, "slot": slot}
    _increment_or_create(TimelineSlot, key, _without(slot_row, "samples"))


def totals_add_together(samples: Sequence[EmotionSample], *, screenings: Mapping[int, Screening]) -> None:
    """``totals_add`` for samples stored together: one update per participant and per slot, not per sample.

    ``screenings`` maps the samples' screening ids to their screenings. Call inside the transaction
    that stores the samples, once, with every new sample; their participants' rows must be locked
    (live capture's batches hold them), so no other sample of theirs is stored meanwhile. The
    counts are those ``totals_add`` reaches one sample after another.
    """
    if not samples:
        return
    participant_rows: dict[tuple[int, int], dict[str, Any]] = {}
    for sample in samples:
        _add_into(participant_rows, (sample.participant_id, sample.screening_id), _participant_row(sample))
    for (participant_id, screening_id), row in sorted(participant_rows.items()):
        _increment_or_create(ParticipantTotals, {"participant_id": participant_id}, row, screening_id=screening_id)
    faces = [sample for sample in samples if sample.face_found]
    occupied = _slots_with_faces_before(faces, screenings)
    slot_rows: dict[tuple[int, int], dict[str, Any]] = {}
    for sample in faces:
        slot = slot_of(sample.media_time, slot_width(screenings[sample.screening_id]))
        first_in_slot = (sample.participant_id, slot) not in occupied
        occupied.add((sample.participant_id, slot))
        row = _without(_participant_row(sample), "samples") | {"participants": int(first_in_slot)}
        _add_into(slot_rows, (sample.screening_id, slot), row)
    for (screening_id, slot), row in sorted(slot_rows.items()):
        _increment_or_create(TimelineSlot, {"screening_id": screening_id, "slot": slot}, row)


def _participant_row(sample: EmotionSample) -> dict[str, Any]:
    """What one sample adds to its participant's totals (a slot's too, but for ``samples``)."""
    row: dict[str, Any] = {"samples": 1, "faces": int(sample.face_found)}
    row.update({emotion: getattr(sample, emotion) or 0.0 for emotion in EMOTIONS})
    row.update({field: int(sample.dominant_emotion == e) for e, field in DOMINANT_FIELDS.items()})
    return row


def _add_into(rows: dict[tuple[int, int], dict[str, Any]], key: tuple[int, int], row: dict[str, Any]) -> None:
    total = rows.setdefault(key, dict.fromkeys(row, 0))
    for column, value in row.items():
        total[column] += value


def _slots_with_faces_before(
    faces: Sequence[EmotionSample], screenings: Mapping[int, Screening]
) -> set[tuple[int, int]]:
    """The (participant, slot) pairs that already held a face before ``faces`` were stored.

    One query: each participant's stored faces within the media times their new faces span,
    less the new faces themselves.
    """
    if not faces:
        return set()
    spans: dict[int, tuple[float, float, float]] = {}
    for sample in faces:
        width = slot_width(screenings[sample.screening_id])
        slot = slot_of(sample.media_time, width)
        low, high = (slot - SLOT_EPSILON) * width, (slot + 1 - SLOT_EPSILON) * width
        known = spans.get(sample.participant_id)
        spans[sample.participant_id] = (min(known[0], low), max(known[1], high), width) if known else (low, high, width)
    quote = connection.ops.quote_name
    condition = f"({quote('participant_id')} = %s AND {quote('media_time')} >= %s AND {quote('media_time')} < %s)"
    new_ids = [sample.pk for sample in faces]
    sql = (
        f"SELECT {quote('participant_id')}, {quote('media_time')} FROM {quote(EmotionSample._meta.db_table)} "
        f"WHERE ({' OR '.join([condition] * len(spans))}) AND {quote('face_found')} = %s "
        f"AND {quote('id')} NOT IN ({', '.join(['%s'] * len(new_ids))})"
    )
    parameters = [value for participant_id, (low, high, _) in spans.items() for value in (participant_id, low, high)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*parameters, True, *new_ids])
        return {
            (participant_id, slot_of(media_time, spans[participant_id][2])) for participant_id, media_time in cursor
        }


def _other_face_within(sample: EmotionSample, low: float, high: float) -> bool:
    """Whether the sample's participant has another face in ``[low, high)`` of media time.

    Plain SQL on the (participant, media time) index, for the reason given at ``_increment``.
    """
    quote = connection.ops.quote_name
    sql = (
        f"SELECT 1 FROM {quote(EmotionSample._meta.db_table)} WHERE {quote('participant_id')} = %s "
        f"AND {quote('media_time')} >= %s AND {quote('media_time')} < %s AND {quote('face_found')} = %s "
        f"AND {quote('id')} <> %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [sample.participant_id, low, high, True, sample.pk])
        return cursor.fetchone() is not None


def _increment(model: type[EmotionTotals], key: dict[str, int], values: dict[str, float]) -> int:
    """Add ``values`` (negative to take away) to the row ``key``; returns how many rows changed (0 or 1).

    One UPDATE with parameters: the ORM's F() expressions cost milliseconds of Python per call
    for sixteen columns, and this runs for every webcam frame.
    """
    with connection.cursor() as cursor:
        # A model class is hashable; mypy without Django's stubs reads its __hash__ as an unbound method.
        sql = _increment_sql(model, tuple(values), tuple(key))  # type: ignore[arg-type]
        cursor.execute(sql, [*values.values(), *key.values()])
        return cursor.rowcount


def _increment_or_create(
    model: type[EmotionTotals], key: dict[str, int], values: dict[str, float], **create: int
) -> None:
    """Add ``values`` to the row ``key``, creating it (with ``create`` besides ``key``) on its first sample.

    The row usually exists, so the update comes first; a row created meanwhile by a concurrent
    sample is kept (the insert ignores the conflict).
    """
    if _increment(model, key, values) == 0:
        model.objects.bulk_create([model(**key, **create)], ignore_conflicts=True)
        _increment(model, key, values)


@functools.cache
def _increment_sql(model: type[EmotionTotals], columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = {quote(column)} + %s" for column in columns)
    conditions = " AND ".join(f"{quote(key)} = %s" for key in keys)
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name not in names}


def totals_remove_participant(participant: Participant) -> None:
    """Take a participant's samples out of the screening's timeline slots and drop their totals and series.

    Call inside the transaction that deletes the samples, before deleting them: no copy of the
    samples (the reports' packed series) outlives them.
    """
    screening = participant.screening
    for row in slot_rows(participant.samples.all(), slot_width(screening)):
        key = {"screening_id": screening.pk, "slot": int(row["slot"])}
        _increment(TimelineSlot, key, {column: -(row[column] or 0) for column in SLOT_TOTAL_COLUMNS})
    ParticipantTotals.objects.filter(participant=participant).delete()
    ViewerSeries.objects.filter(participant=participant).delete()


def totals_rebuild(screening: Screening, *, models: Any = None) -> None:
    """Recompute every total of a screening from its samples (after a bulk load or an upgrade).

    ``models`` gives ``EmotionSample``, ``TimelineSlot`` and ``ParticipantTotals`` as attributes
    (a migration passes its historical app registry's models); the default is the real ones,
    and then the reports' series are dropped too (the next report builds them from the samples).
    """
    sample_model, slot_model, totals_model = (
        (EmotionSample, TimelineSlot, ParticipantTotals)
        if models is None
        else (models.EmotionSample, models.TimelineSlot, models.ParticipantTotals)
    )
    slot_model.objects.filter(screening_id=screening.pk).delete()
    totals_model.objects.filter(screening_id=screening.pk).delete()
    if models is None:
        ViewerSeries.objects.filter(screening_id=screening.pk).delete()
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
