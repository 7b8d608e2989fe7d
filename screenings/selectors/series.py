"""The included viewers' samples as arrays, read from their packed series and rebuilt where a series is stale.

A read-through cache: ``ViewerSeries`` holds derived data only (the samples stay where they
are), so building one here writes nothing a participant gave. A series is fresh while its
``totals_key`` matches its participant's running totals, which every stored or erased sample
changes in the same transaction. The key is read before the samples, and a rebuilt series is
saved only under the participant's row lock with the totals still at that key (``_rebuilt``):
a series is never filed under a key newer than its samples, and none outlives an erasure.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.db import transaction

from inference import EMOTIONS
from screenings.models import Participant, ParticipantTotals, Screening, ViewerSeries
from screenings.models.samples import DOMINANT_FIELDS
from screenings.rules.series import Audience, Series, series_from_columns, series_pack, series_unpack
from screenings.selectors.audience import Members, audience
from screenings.selectors.sample_tables import stored_sample_batches, stored_types

# Series are read and rebuilt this many participants at a time, so memory stays bounded.
BUILD_CHUNK = 100
_TOTALS_COLUMNS = ["participant_id", "samples", "faces", *EMOTIONS, *DOMINANT_FIELDS.values()]


def included_audience(screening: Screening, *, members: Members = None) -> Audience:
    """Every included viewer's samples (only ``members``' when given), from their series, rebuilt where stale."""
    series: dict[int, Series] = {}
    for chunk in _series_by_chunk(screening, members):
        series.update(chunk)
    return Audience.of(series)


def _series_by_chunk(screening: Screening, members: Members) -> Iterator[dict[int, Series]]:
    """The included viewers' fresh series, ``BUILD_CHUNK`` participants at a time in participant order.

    A participant whose samples went after the keys were read has none, and is left out.
    """
    keys = _totals_keys(screening, members)
    participants = sorted(keys)
    for start in range(0, len(participants), BUILD_CHUNK):
        chunk = participants[start : start + BUILD_CHUNK]
        series = _fresh_series(screening, chunk, keys)
        yield {participant: series[participant] for participant in chunk if participant in series}


def _fresh_series(screening: Screening, participants: list[int], keys: dict[int, str]) -> dict[int, Series]:
    """The series of ``participants`` (keys: their totals' digests): stored where fresh, rebuilt where not."""
    series: dict[int, Series] = {}
    stored = ViewerSeries.objects.filter(participant_id__in=participants)
    for participant_id, totals_key, data in stored.values_list("participant_id", "totals_key", "data"):
        if keys[participant_id] == totals_key:
            # A series packed by an earlier version of the format is built again below.
            with contextlib.suppress(ValueError):
                series[participant_id] = series_unpack(data)
    stale = [participant for participant in participants if participant not in series]
    return series | (_rebuilt(screening, stale, keys) if stale else {})


def series_refresh(*, screening: Screening, participants: list[int] | None = None) -> int:
    """Build the series of those of ``participants`` (None: every included one) whose series is missing or stale.

    Returns how many were built. Each hundred are saved as they are built, so a refresh cut short
    keeps what it finished.
    """
    keys = _totals_keys(screening, None, participants)
    fresh = ViewerSeries.objects.filter(participant_id__in=list(keys)).values_list("participant_id", "totals_key")
    stale = sorted(set(keys.items()) - set(fresh))
    for start in range(0, len(stale), BUILD_CHUNK):
        _rebuilt(screening, [participant for participant, _ in stale[start : start + BUILD_CHUNK]], keys)
    return len(stale)


def _totals_keys(screening: Screening, members: Members, participants: list[int] | None = None) -> dict[int, str]:
    """Per included participant with samples (of ``participants`` when given), a digest of their running totals."""
    rows = ParticipantTotals.objects.filter(
        screening=screening,
        participant_id__in=audience(screening, members).filter(excluded_from_reports=False).values("pk"),
    )
    if participants is not None:
        rows = rows.filter(participant_id__in=participants)
    return {
        participant_id: hashlib.sha256(repr(values).encode()).hexdigest()
        for participant_id, *values in rows.filter(samples__gt=0).values_list(*_TOTALS_COLUMNS)
    }


def _rebuilt(screening: Screening, participants: list[int], keys: dict[int, str]) -> dict[int, Series]:
    """The series of ``participants`` built from their samples, and kept where nothing changed meanwhile.

    A series is saved only under its participant's row lock (the lock erasure and live capture
    take), and only if their totals still have the key read before the samples: a sample stored,
    or the samples erased, while they were read leaves the series unsaved (an erasure must leave
    no copy). A participant still watching gets a new sample every slot, so their series would be
    stale by the next view: it is built but not saved.
    """
    built = dict(_series_from_samples(screening, frozenset(participants)))
    with transaction.atomic():
        # Rows another transaction holds (a capture batch, an erasure) are left: their series would change anyway.
        locked = (
            Participant.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(built), erased_at__isnull=True)
            .exclude(state=Participant.State.WATCHING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        unchanged = _totals_keys(screening, None, list(locked))
        kept = [participant for participant in built if unchanged.get(participant) == keys[participant]]
        ViewerSeries.objects.bulk_create(
            [ViewerSeries(participant_id=participant, screening=screening, totals_key=keys[participant],
                          data=series_pack(built[participant])) for participant in kept],
            update_conflicts=True, unique_fields=["participant"], update_fields=["totals_key", "data"],
        )  # fmt: skip
    return built


def _series_from_samples(screening: Screening, participants: frozenset[int]) -> Iterator[tuple[int, Series]]:
    """Each of ``participants``' series, read column-wise from their samples (``stored_sample_batches``)."""
    import pyarrow as pa

    batches = list(stored_sample_batches(screening, members=participants, size=65_536))
    if not batches:
        return
    table = pa.Table.from_batches(batches)
    ids = table.column("participant_id").to_numpy()
    bounds = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])
    emotions = np.column_stack([table.column(emotion).to_numpy(zero_copy_only=False) for emotion in EMOTIONS])
    columns = {name: table.column(name).to_pylist() for name in ("looking_at_screen", "dominant_emotion",
                                                                 "model_version")}  # fmt: skip
    times, faces = table.column("media_time").to_numpy(), table.column("face_found").to_numpy(zero_copy_only=False)
    for start, stop in itertools.pairwise(bounds):
        yield int(ids[start]), series_from_columns(
            times[start:stop], faces[start:stop], columns["looking_at_screen"][start:stop],
            columns["dominant_emotion"][start:stop], columns["model_version"][start:stop], emotions[start:stop],
        )  # fmt: skip


def series_sample_batches(screening: Screening, *, members: Members = None, size: int) -> Iterator[Any]:
    """The included samples' ``sample_tables.STORED_COLUMNS`` as ``pyarrow.RecordBatch``es, from their series.

    Batches of at most ``size`` rows, ordered by participant and media time, the values as stored
    (NULL stays null), as ``stored_sample_batches`` reads them from the samples.
    """
    for chunk in _series_by_chunk(screening, members):
        if not chunk:
            continue
        batch = _batch(list(chunk.items()))
        for offset in range(0, batch.num_rows, size):
            yield batch.slice(offset, size)


def _batch(parts: list[tuple[int, Series]]) -> Any:
    """Some participants' series as one record batch of the stored columns."""
    import pyarrow as pa

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(series, name) for _, series in parts])

    def texts(codes: str, names: str) -> Any:
        # Each series numbers its own texts: their lists end to end, the codes shifted to match.
        shifts = np.cumsum([0] + [len(getattr(series, names)) for _, series in parts[:-1]])
        pairs = zip(parts, shifts, strict=True)
        shifted = [getattr(series, codes).astype(np.int64) + shift for (_, series), shift in pairs]
        every = [text for _, series in parts for text in getattr(series, names)]
        return pa.array(every, type=pa.string()).take(pa.array(np.concatenate(shifted)))

    looking = joined("looking")
    emotions = np.concatenate([series.emotions.astype(np.float64) for _, series in parts])
    missing = np.isnan(emotions)
    columns = {
        "participant_id": pa.array(np.repeat([participant for participant, _ in parts], [len(s) for _, s in parts])),
        "media_time": pa.array(joined("media_time")),
        "face_found": pa.array(joined("face_found")),
        **{emotion: pa.array(emotions[:, index], mask=missing[:, index]) for index, emotion in enumerate(EMOTIONS)},
        "dominant_emotion": texts("dominant", "dominants"),
        "looking_at_screen": pa.array(looking == 1, mask=looking < 0),
        "model_version": texts("model_version", "versions"),
    }
    types = stored_types()
    return pa.RecordBatch.from_arrays([columns[name].cast(kind) for name, kind in types.items()],
                                      schema=pa.schema(list(types.items())))  # fmt: skip
