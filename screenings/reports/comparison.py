"""Screenings side by side (two cuts of a trailer, say), and each one's norms among its organizer's screenings.

The curves are each screening's audience means per sampling interval, where each viewer has at
most one face per point, so the mean over faces is the mean over viewers. On the ``relative``
scale a point is placed at its share of the stimulus's length, so a 90 s and a 120 s cut run
over one axis from start to end. The metrics table and the norms take each viewer's mean over
the whole stimulus (docs/metrics.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.core.cache import cache

from inference import EMOTIONS
from screenings.models import Screening
from screenings.reports import aggregates, metrics
from screenings.selectors import reports as selectors
from screenings.selectors.metrics import ViewerMeans, totals_fingerprints, viewer_overall_means

SCALES = ("seconds", "relative")
# The most screenings one comparison shows.
MAX_COMPARED = 6
# Each pool screening's overall metrics are kept this long; a stored or erased sample or an
# exclusion changes its key anyway. The version changes with what the entries hold.
POOL_CACHE_SECONDS = 24 * 3600
POOL_CACHE_VERSION = 1


def overall_metrics(means: ViewerMeans) -> dict[str, Any]:
    """Each metric over the whole stimulus: the mean of the viewers' own means, with its 95% interval."""
    curves = metrics.viewer_curves(means)
    values = {name: curve[:, 0] if curve.shape[1] else np.zeros(0) for name, curve in curves.items()}
    return {"viewers": len(means.participants), **{name: metrics.estimate(column) for name, column in values.items()}}


def percentile_rank(value: float, among: list[float]) -> float:
    """The share of ``among`` below ``value``, counting ties as half, in percent (the screening itself included)."""
    below = sum(other < value for other in among)
    ties = sum(other == value for other in among)
    return 100.0 * (below + 0.5 * ties) / len(among)


def norms(screening_id: int, pool: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each metric of the screening with its percentile among the ``pool``'s screenings that have a value.

    The percentile is None where the screening has no value or fewer than two screenings do.
    """
    result = {}
    for name in metrics.CURVES:
        among = [entry[name]["mean"] for entry in pool.values() if entry[name]["mean"] is not None]
        value = pool[screening_id][name]["mean"]
        percentile = percentile_rank(value, among) if value is not None and len(among) >= 2 else None
        result[name] = {"value": value, "percentile": percentile, "among": len(among)}
    return result


def _pool_keys(screening_ids: list[int]) -> dict[int, str]:
    fingerprints = totals_fingerprints(screening_ids)
    return {pk: f"comparison-overall:{POOL_CACHE_VERSION}:{pk}:{fingerprints[pk]}" for pk in screening_ids}


def pool_overall_metrics(screening_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each screening's ``overall_metrics``, from the cache where its samples have not changed since.

    Computing them reads every sample of the screenings, so a page comparing against an
    organizer's many long screenings reads only those whose running totals changed. An entry is
    kept only if the totals did not change while it was computed.
    """
    keys = _pool_keys(screening_ids)
    cached = cache.get_many(list(keys.values()))
    result = {pk: cached[key] for pk, key in keys.items() if key in cached}
    missing = [pk for pk in screening_ids if pk not in result]
    if missing:
        computed = {pk: overall_metrics(means) for pk, means in viewer_overall_means(missing).items()}
        result |= computed
        again = _pool_keys(missing)
        cache.set_many({keys[pk]: computed[pk] for pk in missing if again[pk] == keys[pk]}, POOL_CACHE_SECONDS)
    return result


def _curve(screening: Screening, *, scale: str) -> dict[str, Any]:
    bins = aggregates.timeline(screening)
    duration = float(screening.stimulus_duration or (bins[-1].start if bins else 0) or 1)
    valence = [sum(b.means[e] for e in metrics.POSITIVE) - sum(b.means[e] for e in metrics.NEGATIVE) for b in bins]
    return {
        "at": [b.start / duration if scale == "relative" else b.start for b in bins],
        "participants": [b.participants for b in bins],
        "valence": valence,
        "expressiveness": [1.0 - b.means["neutral"] for b in bins],
        **{emotion: [b.means[emotion] for b in bins] for emotion in EMOTIONS},
    }


def comparison(screenings: list[Screening], *, pool: list[Screening], scale: str = "seconds") -> dict[str, Any]:
    """The ``screenings`` side by side: curves, summaries, metrics, and norms among ``pool`` (which holds them)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}")
    pool_metrics = pool_overall_metrics([screening.pk for screening in pool])
    entries = []
    for screening in screenings:
        stats = selectors.participant_sample_stats(screening)
        entries.append({
            "id": screening.pk, "title": screening.title, "duration": screening.stimulus_duration,
            "sampling_interval": float(screening.sampling_interval),
            "summary": aggregates.reaction_summary_from_stats(screening, stats),
            "metrics": pool_metrics[screening.pk], "norms": norms(screening.pk, pool_metrics),
            "curve": _curve(screening, scale=scale),
        })  # fmt: skip
    return {"scale": scale, "emotions": list(EMOTIONS), "pool": len(pool), "screenings": entries}
