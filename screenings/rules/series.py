"""One viewer's samples packed into arrays, and the per-viewer groupings the report metrics read from them.

The metrics across viewers need each viewer's mean per time bin and per scene. Grouping every
sample in SQL for each report view costs seconds at a million samples; the same samples as
arrays (``ViewerSeries``, about 40 bytes a sample) are grouped in numpy in milliseconds. The
packing keeps every value as stored: probabilities are kept as float32 only when each one
survives the round trip exactly (a network's outputs do), as float64 otherwise.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from inference import EMOTIONS

# A packed series: magic, bytes per probability (4 or 8), samples; then the arrays in this order:
# media times (float64), face found (uint8), looking at the screen (int8: -1 not recorded, 0, 1),
# dominant emotion (int8: its index in EMOTIONS, -1 none) and the probabilities (NaN where NULL).
_MAGIC = b"RSS1"
_HEADER = struct.Struct("<4sBI")
NOT_RECORDED = -1


@dataclass(frozen=True)
class Series:
    """Samples in media time order: one entry per sample in each array."""

    media_time: np.ndarray  # float64
    face_found: np.ndarray  # bool
    looking: np.ndarray  # int8: NOT_RECORDED, 0 or 1
    dominant: np.ndarray  # int8: index in EMOTIONS, NOT_RECORDED for none
    emotions: np.ndarray  # (samples, 7) float64, NaN where the sample has no probability

    def __len__(self) -> int:
        return len(self.media_time)


def series_from_rows(rows: list[tuple]) -> Series:
    """A series from rows of (media time, face found, looking at the screen, dominant emotion, *probabilities).

    ``looking`` and probabilities may be None (not recorded, no face); ``dominant`` is an emotion or ''.
    Rows may come in any order; the series is in media time order.
    """
    if not rows:
        return Series(np.zeros(0), np.zeros(0, bool), np.zeros(0, np.int8), np.zeros(0, np.int8),
                      np.zeros((0, len(EMOTIONS))))  # fmt: skip
    codes = {emotion: index for index, emotion in enumerate(EMOTIONS)} | {"": NOT_RECORDED, None: NOT_RECORDED}
    media_time = np.array([row[0] for row in rows], dtype=np.float64)
    order = np.argsort(media_time, kind="stable")
    looking = np.array([NOT_RECORDED if row[2] is None else int(bool(row[2])) for row in rows], dtype=np.int8)
    try:
        dominant = np.array([codes[row[3]] for row in rows], dtype=np.int8)
    except KeyError as error:
        raise ValueError(f"a sample's dominant emotion {error.args[0]!r} is not one of {EMOTIONS}") from None
    emotions = np.array([row[4:] for row in rows], dtype=np.float64)  # None becomes NaN
    face_found = np.array([bool(row[1]) for row in rows], dtype=bool)
    return Series(media_time[order], face_found[order], looking[order], dominant[order], emotions[order])


def series_pack(series: Series) -> bytes:
    """The series as bytes for ``ViewerSeries.data``; ``series_unpack`` gives back exactly the same values."""
    narrow = series.emotions.astype(np.float32)
    exact = np.array_equal(narrow.astype(np.float64), series.emotions, equal_nan=True)
    emotions = narrow if exact else series.emotions
    return b"".join([
        _HEADER.pack(_MAGIC, emotions.itemsize, len(series)),
        series.media_time.astype("<f8").tobytes(),
        series.face_found.astype(np.uint8).tobytes(),
        series.looking.astype(np.int8).tobytes(),
        series.dominant.astype(np.int8).tobytes(),
        emotions.astype(emotions.dtype.newbyteorder("<")).tobytes(),
    ])  # fmt: skip


def series_unpack(data: bytes | memoryview) -> Series:
    """A series from ``series_pack``'s bytes; a value packed otherwise raises ValueError."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise ValueError("a packed series is shorter than its header")
    magic, width, count = _HEADER.unpack_from(data)
    expected = _HEADER.size + count * (8 + 3 + width * len(EMOTIONS))
    if magic != _MAGIC or width not in (4, 8) or len(data) != expected:
        raise ValueError("not a packed series of this version")
    offset = _HEADER.size

    def take(dtype: str, items: int) -> np.ndarray:
        nonlocal offset
        array = np.frombuffer(data, dtype=dtype, count=items, offset=offset)
        offset += array.nbytes
        return array

    media_time = take("<f8", count)
    face_found = take("u1", count).astype(bool)
    looking, dominant = take("i1", count), take("i1", count)
    emotions = take(f"<f{width}", count * len(EMOTIONS)).astype(np.float64).reshape(count, len(EMOTIONS))
    return Series(media_time, face_found, looking, dominant, emotions)


@dataclass(frozen=True)
class Audience:
    """Many viewers' series end to end: viewer by viewer (ascending ids), each in media time order."""

    participants: np.ndarray  # (viewers,) participant ids, ascending
    viewer: np.ndarray  # (samples,) index into participants
    series: Series  # every viewer's samples, concatenated

    @classmethod
    def of(cls, series: dict[int, Series]) -> Audience:
        participants = np.array(sorted(series), dtype=np.int64)
        parts = [series[int(participant)] for participant in participants]
        viewer = np.repeat(np.arange(len(parts)), [len(part) for part in parts])
        if not parts:
            return cls(participants, viewer, series_from_rows([]))
        fields = Series.__dataclass_fields__
        joined = Series(*(np.concatenate([getattr(part, name) for part in parts]) for name in fields))
        return cls(participants, viewer, joined)


# Columns of a per-viewer table: participant, group, samples, attending, then each emotion's mean.
GROUPED_COLUMNS = 4 + len(EMOTIONS)


def attending(series: Series) -> np.ndarray:
    """Samples whose face was found and not recorded as turned away (a face without that record attends)."""
    return series.face_found & (series.looking != 0)


def per_viewer_groups(audience: Audience, groups: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Each viewer's samples, attending samples and mean emotions per group, as a GROUPED_COLUMNS table.

    ``groups`` gives each sample's group (a bin number, say); ``rows`` picks the samples that
    count (all when None). One row per viewer and group that holds a sample; the means are over
    the samples with a probability (NaN where none has one), as SQL's AVG ignores NULL.
    """
    viewer, series = audience.viewer, audience.series
    if rows is not None:
        viewer, groups = viewer[rows], groups[rows]
        series = Series(*(getattr(series, name)[rows] for name in Series.__dataclass_fields__))
    if not len(viewer):
        return np.zeros((0, GROUPED_COLUMNS))
    low = int(groups.min())
    key = viewer.astype(np.int64) * (int(groups.max()) - low + 1) + (groups - low)
    order = None
    if np.any(key[1:] < key[:-1]):  # viewers' samples come in media time order, so this is rare
        order = np.argsort(key, kind="stable")
        key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])

    def summed(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values if order is None else values[order], starts, axis=0)

    counted = ~np.isnan(series.emotions)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = summed(np.where(counted, series.emotions, 0.0)) / summed(counted.astype(np.float64))
    first = starts if order is None else order[starts]
    return np.column_stack([
        audience.participants[viewer[first]], groups[first], np.diff(np.r_[starts, len(key)]),
        summed(attending(series).astype(np.float64)), means,
    ]).astype(np.float64)  # fmt: skip


def faces_per_slot(audience: Audience, width: float, *, epsilon: float) -> np.ndarray:
    """The audience's faces summed per sampling slot of ``width`` seconds, slots ascending.

    Columns as the running totals' (``SLOT_TOTAL_COLUMNS`` after the slot): faces, participants
    with a face in the slot, each emotion's summed probability, faces with each emotion dominant.
    A slot is ``floor(t / width + epsilon)``, the rule of ``screenings.rules.slots``.
    """
    faces = audience.series.face_found
    if not faces.any():
        return np.zeros((0, 3 + 2 * len(EMOTIONS)))
    slot = np.floor(audience.series.media_time[faces] / width + epsilon).astype(np.int64)
    viewer = audience.viewer[faces]
    slots, index = np.unique(slot, return_inverse=True)
    # A viewer counts once per slot however many of their faces fall in it.
    pairs = np.unique(viewer * (int(slots[-1]) + 1) + slot)
    participants = np.bincount(np.searchsorted(slots, pairs % (int(slots[-1]) + 1)), minlength=len(slots))
    emotions = np.nan_to_num(audience.series.emotions[faces])
    dominant = audience.series.dominant[faces]
    columns = [slots, np.bincount(index, minlength=len(slots)), participants]
    columns += [np.bincount(index, weights=emotions[:, e], minlength=len(slots)) for e in range(len(EMOTIONS))]
    columns += [np.bincount(index, weights=dominant == e, minlength=len(slots)) for e in range(len(EMOTIONS))]
    return np.column_stack(columns).astype(np.float64)
