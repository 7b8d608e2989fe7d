"""The included viewers' samples as arrays, read from their packed series and rebuilt where a series is stale.

A read-through cache: ``ViewerSeries`` holds derived data only (the samples stay where they
are), so building one here writes nothing a participant gave. A series is fresh while its
``totals_key`` matches its participant's running totals, which every stored or erased sample
changes in the same transaction. The key is read before the samples, so a sample stored in
between lands in a series filed under the older key, which the next read rebuilds; a series is
never filed under a key newer than its samples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TypeAlias

from django.db import connection
from django.db.models import QuerySet

from inference import EMOTIONS
from screenings.models import EmotionSample, Participant, ParticipantTotals, Screening, ViewerSeries
from screenings.models.samples import DOMINANT_FIELDS
from screenings.rules.series import Audience, Series, series_from_rows, series_pack, series_unpack

# A segment's participant ids, or None for everyone.
Members: TypeAlias = frozenset[int] | None

# Stale series are rebuilt this many participants to a query, so memory stays bounded on a first view.
BUILD_CHUNK = 100
_SAMPLE_COLUMNS = ["participant_id", "media_time", "face_found", "looking_at_screen", "dominant_emotion", *EMOTIONS]
_TOTALS_COLUMNS = ["participant_id", "samples", "faces", *EMOTIONS, *DOMINANT_FIELDS.values()]


def included_audience(screening: Screening, *, members: Members = None) -> Audience:
    """Every included viewer's samples (only ``members``' when given), from their series, rebuilt where stale."""
    keys = _totals_keys(screening, members)
    series: dict[int, Series] = {}
    stored = ViewerSeries.objects.filter(participant_id__in=_included(screening, members))
    for participant_id, totals_key, data in stored.values_list("participant_id", "totals_key", "data").iterator():
        if keys.get(participant_id) == totals_key:
            series[participant_id] = series_unpack(data)
    stale = sorted(set(keys) - set(series))
    for start in range(0, len(stale), BUILD_CHUNK):
        series.update(_rebuilt(screening, stale[start : start + BUILD_CHUNK], keys))
    return Audience.of(series)


def series_refresh(*, screening: Screening, participants: list[int]) -> None:
    """Build the series of those of ``participants`` whose series is missing or stale (a finished journey's)."""
    keys = _totals_keys(screening, None, participants)
    fresh = ViewerSeries.objects.filter(participant_id__in=list(keys)).values_list("participant_id", "totals_key")
    stale = sorted(set(keys.items()) - set(fresh))
    for start in range(0, len(stale), BUILD_CHUNK):
        _rebuilt(screening, [participant for participant, _ in stale[start : start + BUILD_CHUNK]], keys)


def _included(screening: Screening, members: Members) -> QuerySet[Participant]:
    """The included participants' ids (only ``members``' when given), as a subquery."""
    participants = Participant.objects.filter(screening=screening, excluded_from_reports=False)
    return (participants if members is None else participants.filter(pk__in=members)).values("pk")


def _totals_keys(screening: Screening, members: Members, participants: list[int] | None = None) -> dict[int, str]:
    """Per included participant with samples (of ``participants`` when given), a digest of their running totals."""
    rows = ParticipantTotals.objects.filter(screening=screening, participant_id__in=_included(screening, members))
    if participants is not None:
        rows = rows.filter(participant_id__in=participants)
    return {
        participant_id: hashlib.sha256(repr(values).encode()).hexdigest()
        for participant_id, *values in rows.filter(samples__gt=0).values_list(*_TOTALS_COLUMNS)
    }


def _rebuilt(screening: Screening, participants: list[int], keys: dict[int, str]) -> dict[int, Series]:
    """The series of ``participants`` built from their samples and saved under the keys read before them."""
    rows: dict[int, list[tuple]] = {participant: [] for participant in participants}
    for participant_id, *values in _sample_rows(participants):
        rows[participant_id].append(tuple(values))
    built = {participant: series_from_rows(rows[participant]) for participant in participants}
    ViewerSeries.objects.bulk_create(
        [ViewerSeries(participant_id=participant, screening=screening, totals_key=keys[participant],
                      data=series_pack(series)) for participant, series in built.items()],
        update_conflicts=True, unique_fields=["participant"], update_fields=["totals_key", "data"],
    )  # fmt: skip
    return built


def _sample_rows(participants: list[int]) -> Iterable[tuple]:
    """The participants' samples as plain tuples straight from the cursor (no model per row)."""
    sql, params = (
        EmotionSample.objects.filter(participant_id__in=participants)
        .values_list(*_SAMPLE_COLUMNS)
        .order_by()
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        yield from cursor.fetchall()
