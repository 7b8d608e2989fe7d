"""The report's emotion metrics with their uncertainty across viewers (the formulas: docs/metrics.md).

Every metric is first computed per viewer (a viewer's mean in a bin or scene), and the audience's
figure is the mean over viewers with a 95% confidence interval from Student's t over those viewer
values: viewers, not samples, are the independent units, so a viewer with many samples in a bin
does not narrow the interval.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from inference import EMOTIONS
from screenings.models import Scene
from screenings.selectors.metrics import ViewerMeans

# A spread of values this small relative to their size is rounding noise (changes of 2.3 -> 2.4
# and 5.1 -> 5.2 differ by 1e-16): the values are the same, and a t-test of them is undefined.
SAME_VALUES = 1e-12

POSITIVE = ("happy",)
NEGATIVE = ("angry", "disgust", "fear", "sad")
# Synchrony needs this many bins that a viewer and the rest of the audience both have.
MIN_COMMON_BINS = 3
CONFIDENCE = 0.95
CURVES = ("valence", "expressiveness", "attention")


def _t_distribution() -> Any:
    """Student's t from scipy.stats, imported at the first report: importing scipy.stats takes most of a
    second, which every process that loads the site would otherwise pay at start-up."""
    from scipy import stats

    return stats.t


def _column(emotion: str) -> int:
    return EMOTIONS.index(emotion)


def viewer_curves(means: ViewerMeans) -> dict[str, np.ndarray]:
    """Each viewer's valence, expressiveness and attention per group (viewers by groups, NaN where none)."""
    emotions = means.emotions
    positive = sum(emotions[..., _column(emotion)] for emotion in POSITIVE)
    negative = sum(emotions[..., _column(emotion)] for emotion in NEGATIVE)
    with np.errstate(invalid="ignore", divide="ignore"):
        attention = means.attending / means.samples
    return {
        "valence": positive - negative,
        "expressiveness": 1.0 - emotions[..., _column("neutral")],
        "attention": attention,
    }


def _column_intervals(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of a viewers-by-columns matrix: finite values, their mean and the half-width of its t interval."""
    finite = np.isfinite(matrix)
    counts = finite.sum(axis=0)
    values = np.where(finite, matrix, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = values.sum(axis=0) / counts
        spread = np.sqrt(np.where(finite, (matrix - means) ** 2, 0.0).sum(axis=0) / (counts - 1))
        quantiles = _t_distribution().ppf(0.5 + CONFIDENCE / 2, np.maximum(counts - 1, 1))
        halves = quantiles * spread / np.sqrt(counts)
    return counts, means, halves


def column_estimates(matrix: np.ndarray) -> list[dict[str, Any]]:
    """``estimate`` of each column of a viewers-by-columns matrix, computed for all columns at once."""
    if not matrix.shape[1]:
        return []
    counts, means, halves = _column_intervals(matrix)
    return [_estimate_of(int(count), float(mean), float(half))
            for count, mean, half in zip(counts, means, halves, strict=True)]  # fmt: skip


def _estimate_of(count: int, mean: float, half: float) -> dict[str, Any]:
    if not count:
        return {"mean": None, "lower": None, "upper": None, "viewers": 0}
    if count < 2:
        return {"mean": mean, "lower": None, "upper": None, "viewers": 1}
    return {"mean": mean, "lower": mean - half, "upper": mean + half, "viewers": count}


def estimate(values: np.ndarray) -> dict[str, Any]:
    """The mean of the finite ``values`` with its 95% t interval; bounds are None below two values."""
    return column_estimates(np.asarray(values, dtype=float).reshape(-1, 1))[0]


def smooth_rows(matrix: np.ndarray, window: int) -> np.ndarray:
    """Each row's centred moving average over ``window`` columns, over the values it has (NaN stays NaN)."""
    if window <= 1 or not matrix.size:
        return matrix
    half = window // 2
    finite = np.isfinite(matrix)
    sums = _window_sums(np.where(finite, matrix, 0.0), half)
    counts = _window_sums(finite.astype(float), half)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, sums / counts, np.nan)


def _window_sums(matrix: np.ndarray, half: int) -> np.ndarray:
    """Each row's sums over the columns from ``half`` before to ``half`` after each column (fewer at the edges)."""
    padded = np.pad(matrix, ((0, 0), (half, half)))
    running = np.concatenate([np.zeros((matrix.shape[0], 1)), np.cumsum(padded, axis=1)], axis=1)
    return running[:, 2 * half + 1 :] - running[:, : -(2 * half + 1)]


def bin_metrics(means: ViewerMeans, *, bin_seconds: float, smoothing: int = 1) -> list[dict[str, Any]]:
    """Per time bin: each metric across viewers, and how many viewers had a sample in the bin."""
    curves = {name: column_estimates(smooth_rows(curve, smoothing)) for name, curve in viewer_curves(means).items()}
    viewers = np.isfinite(means.samples).sum(axis=0)
    return [
        {
            "start": round(float(group) * bin_seconds, 6),
            "viewers": int(viewers[column]),
            **{name: estimates[column] for name, estimates in curves.items()},
        }
        for column, group in enumerate(means.groups)
    ]


def scene_metrics(means: ViewerMeans, scenes: list[Scene]) -> list[dict[str, Any]]:
    """Per scene (in ``scenes``' order): each metric across the viewers who had a sample in it."""
    curves = viewer_curves(means)
    column_of = {int(group): column for column, group in enumerate(means.groups)}
    rows = []
    for position, scene in enumerate(scenes):
        column = column_of.get(position)
        row: dict[str, Any] = {"scene": scene.label, "start": scene.start, "end": scene.end}
        if column is None:
            empty = np.zeros(0)
            rows.append({**row, "viewers": 0, **{name: estimate(empty) for name in CURVES}})
            continue
        viewers = int(np.isfinite(means.samples[:, column]).sum())
        rows.append({**row, "viewers": viewers, **{name: estimate(curve[:, column]) for name, curve in curves.items()}})
    return rows


def _leave_one_out(curve: np.ndarray) -> list[tuple[int, float, int]]:
    """(row, r, common bins) for each viewer whose curve correlates with the mean of everyone else's."""
    finite = np.isfinite(curve)
    sums = np.where(finite, curve, 0.0).sum(axis=0)
    counts = finite.sum(axis=0)
    results = []
    for row in range(curve.shape[0]):
        own = curve[row]
        others_count = counts - finite[row]
        with np.errstate(invalid="ignore", divide="ignore"):
            others = (sums - np.where(finite[row], own, 0.0)) / others_count
        common = finite[row] & (others_count > 0)
        if common.sum() < MIN_COMMON_BINS:
            continue
        x, y = own[common], others[common]
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue  # a flat curve correlates with nothing
        results.append((row, float(np.corrcoef(x, y)[0, 1]), int(common.sum())))
    return results


def _fisher_mean(values: list[float]) -> dict[str, Any]:
    """The mean correlation through Fisher's z, with the 95% t interval of the z values, turned back into r."""
    if not values:
        return {"mean": None, "lower": None, "upper": None, "viewers": 0}
    z = np.arctanh(np.clip(values, -0.999999, 0.999999))
    interval = estimate(z)
    return {key: (None if value is None else float(np.tanh(value))) if key != "viewers" else value
            for key, value in interval.items()}  # fmt: skip


def synchrony(means: ViewerMeans, *, smoothing: int = 1, labels: dict[int, str] | None = None) -> dict[str, Any]:
    """Audience synchrony per curve: each viewer's correlation with the mean of the rest (leave-one-out ISC).

    ``per_viewer`` lists each viewer with at least ``MIN_COMMON_BINS`` bins in common with the
    rest and a curve that moves; the audience's figure is their mean through Fisher's z.
    """
    labels = labels or {}
    result = {}
    for name, curve in viewer_curves(means).items():
        if name == "attention":
            continue  # mostly 1: a correlation of it says little
        correlations = _leave_one_out(smooth_rows(curve, smoothing))
        participants = [int(means.participants[row]) for row, _, _ in correlations]
        result[name] = {
            **_fisher_mean([r for _, r, _ in correlations]),
            "per_viewer": [
                {"participant": participant, "label": labels.get(participant, ""), "r": r, "bins": bins}
                for participant, (_, r, bins) in zip(participants, correlations, strict=True)
            ],
        }
    return {"min_common_bins": MIN_COMMON_BINS, "curves": result}


# Top moments: windows of this many bins, this many per emotion.
MOMENT_WINDOW_BINS = 3
MOMENTS_PER_EMOTION = 3


def _window_means(emotion: np.ndarray, width: int) -> np.ndarray:
    """Each viewer's mean over each window of ``width`` consecutive columns (viewers by windows; NaN: no face)."""
    finite = np.isfinite(emotion)
    running = np.concatenate([np.zeros((emotion.shape[0], 1)), np.cumsum(np.where(finite, emotion, 0.0), axis=1)], 1)
    counted = np.concatenate([np.zeros((emotion.shape[0], 1)), np.cumsum(finite, axis=1)], 1)
    width = min(width, emotion.shape[1])
    sums, counts = running[:, width:] - running[:, :-width], counted[:, width:] - counted[:, :-width]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _rises(windows: np.ndarray, baseline: np.ndarray) -> dict[str, np.ndarray]:
    """Per window, as arrays: the viewers' rise above their baseline with its interval, and a one-sided t-test of it.

    ``counts`` viewers with a value, ``means`` of the window, ``baselines`` of the same viewers,
    ``lifts`` (mean rise) and ``halves`` (its interval's half-width), ``p`` (NaN: not tested).
    """
    rises = windows - baseline[:, None]
    counts, lifts, halves = _column_intervals(rises)
    present = np.isfinite(rises)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(present, windows, 0.0).sum(axis=0) / counts
        baselines = np.where(present, baseline[:, None], 0.0).sum(axis=0) / counts
        spread = np.sqrt(np.where(present, (rises - lifts) ** 2, 0.0).sum(axis=0) / (counts - 1))
        t = lifts / (spread / np.sqrt(counts))
        p = _t_distribution().sf(t, np.maximum(counts - 1, 1))
    tested = (counts > 1) & (spread > SAME_VALUES * np.maximum(1.0, np.abs(np.nan_to_num(means))))
    return {"counts": counts, "means": means, "baselines": baselines, "lifts": lifts, "halves": halves,
            "p": np.where(tested, p, np.nan)}  # fmt: skip


def _moment(rises: dict[str, np.ndarray], column: int, start: float, end: float, candidates: int) -> dict[str, Any]:
    """One window of ``_rises`` as the report lists it (``candidates``: windows tried, for the adjusted p)."""
    lift = _estimate_of(int(rises["counts"][column]), float(rises["lifts"][column]), float(rises["halves"][column]))
    p = float(rises["p"][column])
    tested = not math.isnan(p)
    return {"start": start, "end": end, "mean": float(rises["means"][column]),
            "baseline": float(rises["baselines"][column]), "lift": lift["mean"], "lower": lift["lower"],
            "upper": lift["upper"], "viewers": lift["viewers"], "p": p if tested else None,
            "p_adjusted": min(1.0, p * candidates) if tested else None}  # fmt: skip


def top_moments(
    means: ViewerMeans, *, bin_seconds: float, window_bins: int = MOMENT_WINDOW_BINS, count: int = MOMENTS_PER_EMOTION
) -> dict[str, list[dict[str, Any]]]:
    """For each emotion, the non-overlapping windows where viewers rose most above their own baseline.

    A viewer's baseline is their mean of the emotion over the whole stimulus; each window (of
    ``window_bins`` consecutive bins) is ranked by the viewers' mean rise above it (``lift``),
    with its 95% interval, a one-sided t-test that the audience rose (``p``) and that p times
    the number of windows tried (``p_adjusted``, Bonferroni: the windows were picked as the
    highest of many).
    """
    columns = len(means.groups)
    if not columns or not len(means.participants):
        return {emotion: [] for emotion in EMOTIONS}
    width = min(window_bins, columns)

    def span(column: int) -> tuple[float, float]:
        first, last = means.groups[column], means.groups[column + width - 1]
        return round(float(first) * bin_seconds, 6), round(float(last + 1) * bin_seconds, 6)

    moments: dict[str, list[dict[str, Any]]] = {}
    for position, emotion in enumerate(EMOTIONS):
        values = means.emotions[..., position]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a viewer with no face at all: NaN
            baseline = np.nanmean(values, axis=1)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a window where no viewer's face was found
            rises = _rises(_window_means(values, width), baseline)
        # Highest lift first (ties in time order), over the windows where some viewer had a face.
        ranked = [column for column in np.argsort(-rises["lifts"], kind="stable") if rises["counts"][column]]
        chosen: list[tuple[int, tuple[float, float]]] = []
        for column in ranked:
            (start, end) = window = span(int(column))
            if all(end <= other_start or start >= other_end for _, (other_start, other_end) in chosen):
                chosen.append((int(column), window))
            if len(chosen) == count:
                break
        candidates = len(rises["lifts"])
        moments[emotion] = [_moment(rises, column, *window, candidates) for column, window in chosen]
    return moments


def paired_change(changes: list[float]) -> dict[str, Any] | None:
    """The mean after-minus-before change with its 95% t interval and a paired t-test (two-sided).

    None without answers in both phases; ``t`` and ``p`` are None below two pairs or when every
    change is the same (the test is then undefined).
    """
    if not changes:
        return None
    values = np.asarray(changes, dtype=float)
    interval = estimate(values)
    result = {"pairs": len(values), "mean": interval["mean"], "lower": interval["lower"],
              "upper": interval["upper"], "t": None, "p": None}  # fmt: skip
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    if spread > SAME_VALUES * max(1.0, abs(float(values.mean()))):
        t = float(values.mean() / (spread / math.sqrt(len(values))))
        result["t"] = t
        result["p"] = float(2 * _t_distribution().sf(abs(t), len(values) - 1))
    return result
