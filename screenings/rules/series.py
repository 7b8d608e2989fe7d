"""One viewer's samples packed into arrays, and the per-viewer groupings the report metrics read from them.

The metrics across viewers need each viewer's mean per time bin and per scene. Grouping every
sample in SQL for each report view costs seconds at a million samples; the same samples as
arrays (``ViewerSeries``, about 40 bytes a sample) are grouped in numpy in milliseconds. The
packing keeps every value as stored: probabilities are kept as float32 only when each one
survives the round trip exactly (a network's outputs do), as float64 otherwise.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inference import EMOTIONS

# A packed series: magic, bytes per probability (4 or 8), samples, bytes of the names; then the
# arrays in this order: media times (float64), face found (uint8), looking at the screen (int8:
# -1 not recorded, 0, 1), dominant emotion and model version (uint16 each: an index in their
# names), the probabilities (NaN where NULL), and last the names (JSON: the dominant emotions'
# texts as stored, '' for none, and the model versions').
_MAGIC = b"RSS2"
_HEADER = struct.Struct("<4sBII")
NOT_RECORDED = -1


@dataclass(frozen=True)
class Series:
    """Samples in media time order: one entry per sample in each array."""

    media_time: np.ndarray  # float64
    face_found: np.ndarray  # bool
    looking: np.ndarray  # int8: NOT_RECORDED, 0 or 1
    dominant: np.ndarray  # uint16: index in dominants
    dominants: tuple[str, ...]  # the dominant emotions as stored ('' for none)
    model_version: np.ndarray  # uint16: index in versions
    versions: tuple[str, ...]  # the model versions as stored
    emotions: np.ndarray  # (samples, 7) float64 (float32 where that holds them exactly), NaN where none

    def __len__(self) -> int:
        return len(self.media_time)


def series_from_columns(
    media_time: Sequence[float], face_found: Sequence[bool], looking: Sequence[bool | None],
    dominant: Sequence[str], model_version: Sequence[str], emotions: Any,
) -> Series:  # fmt: skip
    """A series from one participant's sample columns, in any order; the series is in media time order.

    ``looking`` holds None where not recorded, ``dominant`` an emotion or '' and ``emotions`` a
    (samples, 7) array-like with NaN or None where a sample has no probability.
    """
    times = np.asarray(media_time, dtype=np.float64)
    order = np.argsort(times, kind="stable")
    seen = [NOT_RECORDED if value is None else int(bool(value)) for value in looking]
    dominants, dominant_codes = _coded(dominant)
    versions, version_codes = _coded(model_version)
    probabilities = np.array(emotions, dtype=np.float64).reshape(len(times), len(EMOTIONS))  # None becomes NaN
    return Series(
        times[order], np.asarray(face_found, dtype=bool)[order], np.array(seen, dtype=np.int8)[order],
        dominant_codes[order], dominants, version_codes[order], versions, probabilities[order],
    )  # fmt: skip


def _coded(texts: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """The distinct texts, and each text's index among them."""
    names, codes = np.unique(np.array(list(texts) or [""], dtype=object).astype(str), return_inverse=True)
    if len(names) > np.iinfo(np.uint16).max:
        raise ValueError("a participant's samples hold more distinct texts than a series holds")
    return tuple(names.tolist()), codes[: len(texts)].astype(np.uint16)


def series_from_rows(rows: list[tuple]) -> Series:
    """A series from rows of (media time, face found, looking, dominant emotion, model version, *probabilities)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * (5 + len(EMOTIONS))
    media_time, face_found, looking, dominant, model_version = columns[:5]
    return series_from_columns(media_time, face_found, looking, dominant, model_version, [row[5:] for row in rows])


def series_pack(series: Series) -> bytes:
    """The series as bytes for ``ViewerSeries.data``; ``series_unpack`` gives back exactly the same values."""
    narrow = series.emotions.astype(np.float32)
    exact = np.array_equal(narrow.astype(np.float64), series.emotions, equal_nan=True)
    emotions = narrow if exact else series.emotions.astype(np.float64)
    names = json.dumps({"dominant": list(series.dominants), "versions": list(series.versions)}).encode()
    return b"".join([
        _HEADER.pack(_MAGIC, emotions.itemsize, len(series), len(names)),
        series.media_time.astype("<f8").tobytes(),
        series.face_found.astype(np.uint8).tobytes(),
        series.looking.astype(np.int8).tobytes(),
        series.dominant.astype("<u2").tobytes(),
        series.model_version.astype("<u2").tobytes(),
        emotions.astype(emotions.dtype.newbyteorder("<")).tobytes(),
        names,
    ])  # fmt: skip


def series_unpack(data: bytes | memoryview) -> Series:
    """A series from ``series_pack``'s bytes; bytes packed otherwise (or by another version) raise ValueError."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise ValueError("a packed series is shorter than its header")
    magic, width, count, names = _HEADER.unpack_from(data)
    expected = _HEADER.size + count * (8 + 2 + 4 + width * len(EMOTIONS)) + names
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
    looking, dominant, model_version = take("i1", count), take("<u2", count), take("<u2", count)
    emotions = take(f"<f{width}", count * len(EMOTIONS)).reshape(count, len(EMOTIONS))
    texts = json.loads(data[offset:])
    return Series(media_time, face_found, looking, dominant, tuple(texts["dominant"]), model_version,
                  tuple(texts["versions"]), emotions)  # fmt: skip


@dataclass(frozen=True)
class Audience:
    """Many viewers' samples end to end, viewer by viewer (ascending ids), each in media time order.

    Ready for grouping: ``values`` holds the probabilities with 0 where a sample has none, and
    ``counted`` says which are there (one column for all seven when, as always from capture,
    a sample has all of them or none).
    """

    participants: np.ndarray  # (viewers,) participant ids, ascending
    offsets: np.ndarray  # (viewers + 1,) where each viewer's samples start, and the end
    media_time: np.ndarray  # (samples,) float64
    face_found: np.ndarray  # (samples,) bool
    looking: np.ndarray  # (samples,) int8
    dominant: np.ndarray  # (samples,) int8: index in EMOTIONS, NOT_RECORDED for none or another text
    values: np.ndarray  # (samples, 7) float64
    counted: np.ndarray  # (samples, 7) or (samples, 1) float64: 1 where the probability is there

    @classmethod
    def of(cls, series: dict[int, Series]) -> Audience:
        participants = np.array(sorted(series), dtype=np.int64)
        parts = [series[int(participant)] for participant in participants] or [series_from_rows([])]
        offsets = np.r_[0, np.cumsum([len(series[int(participant)]) for participant in participants])]
        emotions = np.concatenate([part.emotions for part in parts]).astype(np.float64, copy=False)
        missing = np.isnan(emotions)
        uniform = bool((missing == missing[:, :1]).all())
        counted = (~missing[:, :1] if uniform else ~missing).astype(np.float64)
        joined = {name: np.concatenate([getattr(part, name) for part in parts])
                  for name in ("media_time", "face_found", "looking")}  # fmt: skip
        joined["dominant"] = np.concatenate([_emotion_indices(part.dominants)[part.dominant] for part in parts])
        return cls(participants=participants, offsets=offsets.astype(np.int64), **joined,
                   values=np.nan_to_num(emotions, nan=0.0, copy=False), counted=counted)  # fmt: skip

    @property
    def viewer(self) -> np.ndarray:
        """Each sample's viewer: its index in ``participants``."""
        return np.repeat(np.arange(len(self.participants)), np.diff(self.offsets))

    def attending(self) -> np.ndarray:
        """Samples whose face was found and not recorded as turned away (a face without that record attends)."""
        return self.face_found & (self.looking != 0)


def _emotion_indices(names: tuple[str, ...]) -> np.ndarray:
    """Each name's index in EMOTIONS (NOT_RECORDED for '' or a text that is none of them)."""
    return np.array([EMOTIONS.index(name) if name in EMOTIONS else NOT_RECORDED for name in names], dtype=np.int8)


# Columns of a per-viewer table: participant, group, samples, attending, then each emotion's mean.
GROUPED_COLUMNS = 4 + len(EMOTIONS)


def _summed_runs(audience: Audience, starts: np.ndarray, stops: np.ndarray, order: np.ndarray | None = None) -> tuple:
    """Samples, attending samples and mean emotions over the runs ``[start, stop)`` of the samples (none empty).

    ``order`` (a permutation of the samples) says which samples the runs are runs of; None: as they are.
    """
    total = len(audience.media_time)
    partition = len(starts) and starts[0] == 0 and stops[-1] == total and np.array_equal(starts[1:], stops[:-1])
    if partition:
        bounds, inside = starts, None
    else:  # reduceat sums from each index to the next: the stops go in between (one at the end drops out)
        bounds = np.column_stack([starts, stops]).ravel()
        inside = bounds < total

    def summed(values: np.ndarray) -> np.ndarray:
        values = values if order is None else values[order]
        if inside is None:
            # Runs of one sample each (one-slot bins) need no sums.
            return values if len(bounds) == total else np.add.reduceat(values, bounds, axis=0)
        full = np.zeros((len(bounds), *values.shape[1:]))
        full[inside] = np.add.reduceat(values, bounds[inside], axis=0)
        return full[::2]

    with np.errstate(invalid="ignore", divide="ignore"):
        means = summed(audience.values) / summed(audience.counted)
    return stops - starts, summed(audience.attending().astype(np.float64)), means


def per_viewer_groups(audience: Audience, groups: np.ndarray) -> np.ndarray:
    """Each viewer's samples, attending samples and mean emotions per group, as a GROUPED_COLUMNS table.

    ``groups`` gives each sample's group (a bin number, say). One row per viewer and group that
    holds a sample; the means are over the samples with a probability (NaN where none has one),
    as SQL's AVG ignores NULL.
    """
    if not len(groups):
        return np.zeros((0, GROUPED_COLUMNS))
    viewer = audience.viewer
    low = int(groups.min())
    key = viewer.astype(np.int64) * (int(groups.max()) - low + 1) + (groups - low)
    order = None
    if np.any(key[1:] < key[:-1]):  # viewers' samples come in media time order, so bins come in order
        order = np.argsort(key, kind="stable")
        key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    stops = np.r_[starts[1:], len(key)]
    samples, attending, means = _summed_runs(audience, starts, stops, order)
    first = starts if order is None else order[starts]
    return np.column_stack([audience.participants[viewer[first]], groups[first], samples, attending, means])


def per_viewer_span(audience: Audience, start: float, end: float, group: int) -> np.ndarray:
    """Each viewer's samples, attending samples and mean emotions over media times in ``[start, end)``.

    A GROUPED_COLUMNS table with ``group`` in the group column, a row per viewer with a sample there.
    """
    times, offsets = audience.media_time, audience.offsets
    viewers = np.arange(len(audience.participants))
    firsts = np.array([offsets[v] + np.searchsorted(times[offsets[v] : offsets[v + 1]], start) for v in viewers])
    lasts = np.array([offsets[v] + np.searchsorted(times[offsets[v] : offsets[v + 1]], end) for v in viewers])
    held = lasts > firsts
    if not held.any():
        return np.zeros((0, GROUPED_COLUMNS))
    samples, attending, means = _summed_runs(audience, firsts[held], lasts[held])
    return np.column_stack([audience.participants[held], np.full(int(held.sum()), group), samples, attending, means])


def faces_per_slot(audience: Audience, width: float, *, epsilon: float) -> np.ndarray:
    """The audience's faces summed per sampling slot of ``width`` seconds, slots ascending.

    Columns as the running totals' (``SLOT_TOTAL_COLUMNS`` after the slot): faces, participants
    with a face in the slot, each emotion's summed probability, faces with each emotion dominant.
    A slot is ``floor(t / width + epsilon)``, the rule of ``screenings.rules.slots``.
    """
    faces = audience.face_found
    if not faces.any():
        return np.zeros((0, 3 + 2 * len(EMOTIONS)))
    slot = np.floor(audience.media_time[faces] / width + epsilon).astype(np.int64)
    viewer = audience.viewer[faces]
    # Each viewer's slots come in order, so a viewer's first face in a slot is where the pair changes.
    first_in_slot = np.r_[True, (viewer[1:] != viewer[:-1]) | (slot[1:] != slot[:-1])]
    # Counted over the slots that hold a face, not every slot up to the last (a media time far past
    # the stimulus would make that billions).
    slots, index = np.unique(slot, return_inverse=True)
    size = len(slots)
    emotions, dominant = audience.values[faces], audience.dominant[faces]
    columns = [np.bincount(index, minlength=size), np.bincount(index[first_in_slot], minlength=size)]
    columns += [np.bincount(index, weights=emotions[:, e], minlength=size) for e in range(len(EMOTIONS))]
    columns += [np.bincount(index, weights=dominant == e, minlength=size) for e in range(len(EMOTIONS))]
    return np.column_stack([slots, *columns]).astype(np.float64)
