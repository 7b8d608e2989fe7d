"""Each viewer's means per time bin and per scene, read in SQL, for the metrics across viewers.

The running totals (``TimelineSlot``) sum the whole audience per slot, which gives a bin's mean
but not how much viewers differ, which a confidence interval across viewers needs. So the
metrics read one row per viewer and bin (or scene): for 1,000 viewers of a two-hour stimulus
at 10 s bins that is 720,000 rows, not the 7.2 million samples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Avg, Case, Count, F, FloatField, IntegerField, Q, Value, When
from django.db.models.expressions import Expression
from django.db.models.functions import Cast, Floor

from inference import EMOTIONS
from screenings.models import EmotionSample, Scene, Screening
from screenings.rules.slots import SLOT_EPSILON, slot_width
from screenings.selectors.reports import Members, included_samples


@dataclass(frozen=True)
class ViewerMeans:
    """Per viewer (rows) and group (columns: bins or scenes), NaN where the viewer has no sample there.

    ``samples`` and ``attending`` count samples; ``emotions`` holds each emotion's mean
    probability over the viewer's faces in the group (NaN where no face was found).
    """

    participants: np.ndarray  # (viewers,) participant ids, ascending
    groups: np.ndarray  # (groups,) bin numbers or scene positions, ascending
    samples: np.ndarray  # (viewers, groups)
    attending: np.ndarray  # (viewers, groups)
    emotions: np.ndarray  # (viewers, groups, 7)


def _attending() -> Q:
    # Facing the screen where the sample records it; a face without that record counts as attending.
    return Q(face_found=True) & ~Q(looking_at_screen=False)


def _per_viewer() -> dict[str, Any]:
    return {
        "samples": Count("pk"),
        "attending": Count("pk", filter=_attending()),
        **{emotion: Avg(emotion, filter=Q(face_found=True)) for emotion in EMOTIONS},
    }


def _viewer_means(screening: Screening, group: Expression, members: Members) -> ViewerMeans:
    rows = list(
        included_samples(screening, members=members)
        .annotate(group=group)
        .filter(group__isnull=False)
        .values("participant", "group")
        .annotate(**_per_viewer())
        .order_by("participant", "group")
    )
    return _from_rows(rows)


def _from_rows(rows: list[dict[str, Any]]) -> ViewerMeans:
    participants = np.array(sorted({row["participant"] for row in rows}), dtype=np.int64)
    groups = np.array(sorted({int(row["group"]) for row in rows}), dtype=np.int64)
    row_of = {participant: index for index, participant in enumerate(participants)}
    column_of = {group: index for index, group in enumerate(groups)}
    shape = (len(participants), len(groups))
    samples, attending = np.full(shape, np.nan), np.full(shape, np.nan)
    emotions = np.full((*shape, len(EMOTIONS)), np.nan)
    for row in rows:
        at = row_of[row["participant"]], column_of[int(row["group"])]
        samples[at], attending[at] = row["samples"], row["attending"]
        emotions[at] = [np.nan if row[emotion] is None else row[emotion] for emotion in EMOTIONS]
    return ViewerMeans(participants, groups, samples, attending, emotions)


def viewer_bin_means(screening: Screening, *, bin_slots: int, members: Members = None) -> ViewerMeans:
    """Each included viewer's means per time bin of ``bin_slots`` sampling slots (bin n starts at n times the bin).

    The bin of a sample is that of its slot (``screenings.rules.slots``), as in the timeline:
    floor(floor(t / w + ε) / k) is floor(t / (k w) + ε / k).
    """
    width = slot_width(screening) * bin_slots
    group = Floor(Cast(F("media_time"), FloatField()) / width + SLOT_EPSILON / bin_slots)
    return _viewer_means(screening, Cast(group, IntegerField()), members)


def viewer_scene_means(screening: Screening, scenes: list[Scene], *, members: Members = None) -> ViewerMeans:
    """Each included viewer's means per scene; ``groups`` are positions in ``scenes``.

    A sample belongs to the first scene whose span [start, end) holds its media time.
    """
    if not scenes:
        empty = np.zeros((0, 0))
        return ViewerMeans(np.zeros(0, np.int64), np.zeros(0, np.int64), empty, empty, np.zeros((0, 0, len(EMOTIONS))))
    spans = [
        When(media_time__gte=scene.start, media_time__lt=scene.end, then=Value(position))
        for position, scene in enumerate(scenes)
    ]
    return _viewer_means(screening, Case(*spans, default=None, output_field=IntegerField()), members)


def viewer_overall_means(screening_ids: list[int]) -> dict[int, ViewerMeans]:
    """Per screening, each included viewer's means over the whole stimulus (one group, 0), in one query.

    For comparisons and norms, which look at many screenings at once.
    """
    rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
    samples = EmotionSample.objects.filter(screening_id__in=screening_ids, participant__excluded_from_reports=False)
    grouped = samples.values("screening", "participant").annotate(**_per_viewer()).order_by("screening", "participant")
    for row in grouped:
        rows[row["screening"]].append({**row, "group": 0})
    return {screening_id: _from_rows(rows[screening_id]) for screening_id in screening_ids}
