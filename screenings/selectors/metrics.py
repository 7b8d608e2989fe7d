"""Each viewer's means per time bin and per scene, read in SQL, for the metrics across viewers.

The running totals (``TimelineSlot``) sum the whole audience per slot, which gives a bin's mean
but not how much viewers differ, which a confidence interval across viewers needs. So the
metrics read one row per viewer and bin (or scene): for 1,000 viewers of a two-hour stimulus
at 10 s bins that is 720,000 rows, not the 7.2 million samples.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Avg, Count, F, Q, QuerySet

from inference import EMOTIONS
from screenings.models import EmotionSample, ParticipantTotals, Scene, Screening
from screenings.rules.series import Audience, per_viewer_groups, per_viewer_span
from screenings.rules.slots import SLOT_EPSILON, slot_width
from screenings.selectors.reports import Members
from screenings.selectors.series import included_audience


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
    # A sample without a face has no probabilities (NULL), so AVG over faces needs no filter.
    return {"samples": Count("pk"), "attending": Count("pk", filter=_attending()),
            **{emotion: Avg(emotion) for emotion in EMOTIONS}}  # fmt: skip


# The columns read per viewer and group, in this order: participant, group, samples, attending, emotions.
_COLUMNS = ("participant", "group", "samples", "attending", *EMOTIONS)


def _table(queryset: QuerySet[Any]) -> np.ndarray:
    """The query's rows as one float array, read straight from the cursor (no model or converter per row).

    At a million viewer-bins Django's per-row value conversion cost more than the query.
    """
    try:
        sql, params = queryset.values_list(*_COLUMNS).query.sql_with_params()
    except EmptyResultSet:  # a segment nobody meets: no query to run
        return np.zeros((0, len(_COLUMNS)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return np.array(rows, dtype=np.float64).reshape(-1, len(_COLUMNS))


def _from_table(table: np.ndarray) -> ViewerMeans:
    participants, rows = np.unique(table[:, 0].astype(np.int64), return_inverse=True)
    groups, columns = np.unique(table[:, 1].astype(np.int64), return_inverse=True)
    shape = (len(participants), len(groups))
    samples, attending = np.full(shape, np.nan), np.full(shape, np.nan)
    emotions = np.full((*shape, len(EMOTIONS)), np.nan)
    samples[rows, columns], attending[rows, columns] = table[:, 2], table[:, 3]
    emotions[rows, columns] = table[:, 4:]
    return ViewerMeans(participants, groups, samples, attending, emotions)


def viewer_bin_means(
    screening: Screening, *, bin_slots: int, members: Members = None, viewers: Audience | None = None
) -> ViewerMeans:
    """Each included viewer's means per time bin of ``bin_slots`` sampling slots (bin n starts at n times the bin).

    The bin of a sample is that of its slot (``screenings.rules.slots``), as in the timeline:
    floor(floor(t / w + ε) / k) is floor(t / (k w) + ε / k). Read from the viewers' series
    (``viewers``: ``included_audience(screening, members=members)`` when the caller has it).
    """
    viewers = included_audience(screening, members=members) if viewers is None else viewers
    width = slot_width(screening) * bin_slots
    bins = np.floor(viewers.media_time / width + SLOT_EPSILON / bin_slots).astype(np.int64)
    return _from_table(per_viewer_groups(viewers, bins))


def viewer_scene_means(
    screening: Screening, scenes: list[Scene], *, members: Members = None, viewers: Audience | None = None
) -> ViewerMeans:
    """Each included viewer's means per scene over the samples in the scene's span [start, end).

    ``groups`` are positions in ``scenes``. Scenes may overlap (a punchline inside an act): each
    is aggregated on its own. ``viewers`` as for ``viewer_bin_means``.
    """
    if not scenes:
        empty = np.zeros((0, 0))
        return ViewerMeans(np.zeros(0, np.int64), np.zeros(0, np.int64), empty, empty, np.zeros((0, 0, len(EMOTIONS))))
    viewers = included_audience(screening, members=members) if viewers is None else viewers
    tables = [per_viewer_span(viewers, scene.start, scene.end, position) for position, scene in enumerate(scenes)]
    return _from_table(np.concatenate(tables))


def viewer_overall_means(screening_ids: list[int]) -> dict[int, ViewerMeans]:
    """Per screening, each included viewer's means over the whole stimulus (one group, 0), in one query.

    For comparisons and norms, which look at many screenings at once.
    """
    samples = EmotionSample.objects.filter(screening_id__in=screening_ids, participant__excluded_from_reports=False)
    # The screening stands in the group's place, so one table holds every screening's viewers.
    grouped = samples.annotate(group=F("screening_id")).values("participant", "group").annotate(**_per_viewer())
    table = _table(grouped.order_by())
    result = {}
    for screening_id in screening_ids:
        rows = table[table[:, 1] == screening_id]
        rows[:, 1] = 0
        result[screening_id] = _from_table(rows)
    return result


def totals_fingerprints(screening_ids: list[int]) -> dict[int, str]:
    """Per screening, a digest of every participant's running totals and whether they are excluded, in one query.

    Any stored or erased sample and any exclusion changes it, so it keys what is computed from the
    samples (the comparison's per-viewer means). A screening without totals gets the digest of nothing.
    """
    rows = (
        ParticipantTotals.objects.filter(screening_id__in=screening_ids)
        .order_by("screening_id", "participant_id")
        .values_list("screening_id", "participant_id", "samples", "faces", *EMOTIONS,
                     "participant__excluded_from_reports")
    )  # fmt: skip
    digests = {screening_id: hashlib.sha256() for screening_id in screening_ids}
    for screening_id, *values in rows:
        digests[screening_id].update(repr(values).encode())
    return {screening_id: digest.hexdigest() for screening_id, digest in digests.items()}
