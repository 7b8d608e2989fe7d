"""Report aggregates, read from the running totals (``screenings.services.totals``) so that neither
the time nor the number of queries grows with the number of samples or participants.

Every aggregate leaves out participants marked ``excluded_from_reports``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Q, QuerySet

from inference.labels import EMOTIONS
from screenings.models import Answer, EmotionSample, Participant, ParticipantTotals, Question, Screening, TimelineSlot
from screenings.rules.slots import SLOT_EPSILON, slot_width
from screenings.services.totals import DOMINANT_FIELDS, SLOT_TOTAL_COLUMNS, slot_rows

DEFAULT_QUALITY_THRESHOLD = 0.6
NUMERIC_KINDS = {Question.Kind.LIKERT5, Question.Kind.LIKERT7, Question.Kind.NUMBER, Question.Kind.SLIDER}
State = Participant.State


def included_samples(screening: Screening) -> QuerySet[EmotionSample]:
    """The screening's samples without those of excluded participants.

    Selected through the participants, so the database walks the (participant, media time)
    index: rows come out in the order downloads want without sorting hundreds of thousands.
    """
    return EmotionSample.objects.filter(participant__in=screening.participants.filter(excluded_from_reports=False))


def funnel(screening: Screening) -> dict[str, int]:
    """How many participants reached each step (a participant further on counts for the steps before)."""
    counts = Counter(screening.participants.values_list("state", flat=True))
    order = [State.INVITED, State.CONSENTED, State.BEFORE_DONE, State.WATCHING, State.WATCHED, State.AFTER_DONE,
             State.COMPLETED]  # fmt: skip
    reached = {}
    for index, state in enumerate(order):
        reached[state] = sum(counts[later] for later in order[index:])
    return {
        "invited": sum(counts.values()),
        "consented": reached[State.CONSENTED],
        "declined": counts[State.DECLINED],
        "before_done": reached[State.BEFORE_DONE],
        "watched": reached[State.WATCHED],
        "completed": counts[State.COMPLETED],
        "withdrawn": counts[State.WITHDRAWN],
    }


@dataclass(frozen=True)
class ParticipantQuality:
    participant_id: int
    label: str
    external_id: str
    state: str
    excluded: bool
    samples: int
    faces: int
    threshold: float

    @property
    def face_rate(self) -> float | None:
        return self.faces / self.samples if self.samples else None

    @property
    def flagged(self) -> bool:
        return self.face_rate is None or self.face_rate < self.threshold


def participant_sample_stats(screening: Screening) -> dict[int, dict[str, Any]]:
    """Per participant: samples, faces, mean of each emotion, and how often each emotion was dominant.

    Read from the participants' running totals (one row each), not from the samples.
    Probabilities count only where a face was found, so the means are over faces only.
    """
    stats: dict[int, dict[str, Any]] = {}
    for totals in ParticipantTotals.objects.filter(screening=screening):
        faces = totals.faces
        dominant = {emotion: getattr(totals, field) for emotion, field in DOMINANT_FIELDS.items()}
        stats[totals.participant_id] = {
            "n": totals.samples,
            "faces": faces,
            "dominant": {emotion: count for emotion, count in dominant.items() if count},
            **{emotion: (getattr(totals, emotion) / faces if faces else None) for emotion in EMOTIONS},
        }
    return stats


def data_quality(
    screening: Screening,
    *,
    threshold: float = DEFAULT_QUALITY_THRESHOLD,
    stats: dict[int, dict[str, Any]] | None = None,
) -> list[ParticipantQuality]:
    """Samples and face-found rate per participant who started watching, flagged below ``threshold``."""
    stats = participant_sample_stats(screening) if stats is None else stats
    participants = screening.participants.exclude(watch_started_at=None).order_by("pk")
    return [
        ParticipantQuality(
            participant_id=participant.pk,
            label=str(participant),
            external_id=participant.external_id,
            state=participant.state,
            excluded=participant.excluded_from_reports,
            samples=stats.get(participant.pk, {}).get("n", 0),
            faces=stats.get(participant.pk, {}).get("faces", 0),
            threshold=threshold,
        )
        for participant in participants
    ]


@dataclass
class TimelineBin:
    start: float
    participants: int
    means: dict[str, float]


@dataclass(frozen=True)
class SlotTotals:
    """The included participants' faces summed per sampling slot (only slots with faces)."""

    width: float
    slots: np.ndarray  # slot numbers, ascending
    faces: np.ndarray
    participants: np.ndarray
    sums: np.ndarray  # (slots, 7): sum of each emotion's probability
    dominant: np.ndarray  # (slots, 7): faces with each emotion dominant


SLOT_COLUMNS = ["slot", *SLOT_TOTAL_COLUMNS]


def included_slots(screening: Screening) -> SlotTotals:
    """The screening's timeline slots less what excluded participants put in them.

    Excluded participants are few, so their samples are summed again and subtracted; everyone
    else is read from the running totals.
    """
    width = slot_width(screening)
    table = np.array(
        TimelineSlot.objects.filter(screening=screening).order_by("slot").values_list(*SLOT_COLUMNS), dtype=np.float64
    ).reshape(-1, len(SLOT_COLUMNS))
    excluded = _excluded_ids(screening)
    if excluded and len(table):
        position = {int(slot): index for index, slot in enumerate(table[:, 0])}
        samples = EmotionSample.objects.filter(screening=screening, participant_id__in=excluded)
        for row in slot_rows(samples, width):
            index = position.get(int(row["slot"]))
            if index is not None:
                table[index, 1:] -= [row[column] or 0.0 for column in SLOT_TOTAL_COLUMNS]
    table = table[table[:, 1] > 0.5] if len(table) else table
    return SlotTotals(
        width=width,
        slots=table[:, 0].astype(np.int64),
        faces=table[:, 1],
        participants=table[:, 2],
        sums=table[:, 3 : 3 + len(EMOTIONS)],
        dominant=table[:, 3 + len(EMOTIONS) :],
    )


def bin_slots(width: float, bin_seconds: float | None) -> int:
    """How many sampling slots make one time bin; a bin must be a whole number of slots."""
    if bin_seconds is None:
        return 1
    if bin_seconds <= 0:
        raise ValueError("bins must be longer than zero seconds")
    count = round(bin_seconds / width)
    if count < 1 or not math.isclose(count * width, bin_seconds, rel_tol=1e-6):
        raise ValueError(f"a time bin must be a whole number of sampling intervals ({width:g} s)")
    return count


def timeline(
    screening: Screening,
    *,
    bin_seconds: float | None = None,
    smoothing: int = 1,
    slots: SlotTotals | None = None,
) -> list[TimelineBin]:
    """Mean probability of each emotion per time bin across included participants' faces.

    A bin is the sampling interval or a whole multiple of it. ``participants`` is the number of
    participants with a face in the bin: exact for a bin of one sampling interval, the mean per
    sampling interval for a longer bin. ``smoothing`` > 1 averages each bin with its neighbours
    (a centred moving average over that many bins).
    """
    slots = included_slots(screening) if slots is None else slots
    per_bin = bin_slots(slots.width, bin_seconds)
    if not len(slots.slots):
        return []
    groups, first = np.unique(slots.slots // per_bin, return_index=True)
    faces = np.add.reduceat(slots.faces, first)
    participants = np.add.reduceat(slots.participants, first) / per_bin
    sums = np.add.reduceat(slots.sums, first, axis=0)
    bins = [
        TimelineBin(
            float(group) * per_bin * slots.width,
            round(float(participants[index])),
            {emotion: float(sums[index, column] / faces[index]) for column, emotion in enumerate(EMOTIONS)},
        )
        for index, group in enumerate(groups)
    ]
    return smooth(bins, smoothing) if smoothing > 1 else bins


def smooth(bins: list[TimelineBin], window: int) -> list[TimelineBin]:
    half = window // 2
    smoothed = []
    for index, current in enumerate(bins):
        neighbours = bins[max(0, index - half) : index + half + 1]
        means = {e: sum(b.means[e] for b in neighbours) / len(neighbours) for e in EMOTIONS}
        smoothed.append(TimelineBin(current.start, current.participants, means))
    return smoothed


def reaction_summary_from_stats(screening: Screening, stats: dict[int, dict[str, Any]]) -> dict[str, float]:
    """Share of each dominant emotion among included faces (the reference's summary of reactions).

    Counted from ``participant_sample_stats``, so it costs no pass over the samples.
    """
    excluded = _excluded_ids(screening)
    counts: dict[str, int] = {}
    for participant, entry in stats.items():
        if participant not in excluded:
            for emotion, n in entry["dominant"].items():
                counts[emotion] = counts.get(emotion, 0) + n
    return _shares(counts)


def _shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {emotion: (counts.get(emotion, 0) / total if total else 0.0) for emotion in EMOTIONS}


def _excluded_ids(screening: Screening) -> set[int]:
    return set(screening.participants.filter(excluded_from_reports=True).values_list("pk", flat=True))


def scene_summaries(screening: Screening, *, slots: SlotTotals | None = None) -> list[dict[str, Any]]:
    """The reaction summary and mean probabilities within each scene (marker) over included faces.

    The slots wholly inside a scene come from the slot totals; the samples in the slot or two
    that a scene's edges cut through are read one by one (one query for all scenes).
    """
    slots = included_slots(screening) if slots is None else slots
    markers = list(screening.markers.all())
    edges = {marker.pk: _scene_edges(marker.start, marker.end, slots.width) for marker in markers}
    edge_samples = _samples_within(screening, [span for spans in edges.values() for span in spans[1]])
    scenes = []
    for marker in markers:
        (first, stop), spans = edges[marker.pk]
        inside = (slots.slots >= first) & (slots.slots < stop)
        total = float(slots.faces[inside].sum())
        sums = slots.sums[inside].sum(axis=0)
        dominant = slots.dominant[inside].sum(axis=0)
        for media_time, dominant_emotion, probabilities in edge_samples:
            if any(low <= media_time < high for low, high in spans):
                total += 1
                sums = sums + probabilities
                dominant = dominant + [dominant_emotion == emotion for emotion in EMOTIONS]
        scenes.append(
            {
                "label": marker.label,
                "start": marker.start,
                "end": marker.end,
                "shares": {e: (float(dominant[i]) / total if total else 0.0) for i, e in enumerate(EMOTIONS)},
                "means": {e: (float(sums[i]) / total if total else None) for i, e in enumerate(EMOTIONS)},
            }
        )
    return scenes


def _scene_edges(start: float, end: float, width: float) -> tuple[tuple[int, int], list[tuple[float, float]]]:
    """The slots wholly inside ``[start, end)``, and the media-time spans left over at its edges."""
    first = math.ceil(start / width - SLOT_EPSILON)
    stop = math.floor(end / width + SLOT_EPSILON)
    if first >= stop:
        return (0, 0), [(start, end)]
    spans = [(start, first * width), (stop * width, end)]
    return (first, stop), [(low, high) for low, high in spans if high > low]


def _samples_within(screening: Screening, spans: list[tuple[float, float]]) -> list[tuple[float, str, np.ndarray]]:
    """Included faces whose media time lies in any of ``spans``: (media time, dominant emotion, probabilities)."""
    if not spans:
        return []
    within = Q()
    for low, high in spans:
        within |= Q(media_time__gte=low, media_time__lt=high)
    rows = included_samples(screening).filter(within, face_found=True).values_list("media_time", "dominant_emotion",
                                                                                    *EMOTIONS)  # fmt: skip
    return [(row[0], row[1], np.array(row[2:], dtype=np.float64)) for row in rows]


def top_moments(bins: list[TimelineBin], *, window_bins: int = 3, count: int = 3) -> dict[str, list[dict]]:
    """For each emotion, the non-overlapping windows of ``window_bins`` bins where the audience's mean is highest."""
    moments: dict[str, list[dict]] = {}
    if not bins:
        return {emotion: [] for emotion in EMOTIONS}
    width = bins[1].start - bins[0].start if len(bins) > 1 else 1.0
    for emotion in EMOTIONS:
        windows = []
        for index in range(max(1, len(bins) - window_bins + 1)):
            group = bins[index : index + window_bins]
            windows.append((sum(b.means[emotion] for b in group) / len(group), group[0].start, group[-1].start + width))
        chosen: list[tuple[float, float, float]] = []
        for mean, start, end in sorted(windows, key=lambda window: -window[0]):
            if all(end <= other_start or start >= other_end for _, other_start, other_end in chosen):
                chosen.append((mean, start, end))
            if len(chosen) == count:
                break
        moments[emotion] = [{"start": start, "end": end, "mean": mean} for mean, start, end in chosen]
    return moments


@dataclass
class QuestionReport:
    question: Question
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)  # phase -> answer -> count
    changes: list[dict[str, Any]] = field(default_factory=list)  # per participant, both-phase numeric questions
    mean_change: float | None = None


def _answer_key(value: Any) -> list[str]:
    if value is None:
        return ["(no answer)"]
    if isinstance(value, list):
        return [str(item) for item in value] or ["(none chosen)"]
    return [str(value)]


def before_after(screening: Screening) -> list[QuestionReport]:
    """Each question's answer distribution per phase; for numeric questions asked in both, each participant's change."""
    answers = Answer.objects.filter(
        participant__screening=screening, participant__excluded_from_reports=False
    ).values_list("question_id", "phase", "participant_id", "value")
    by_question: dict[int, list[tuple[str, int, Any]]] = defaultdict(list)
    for question_id, phase, participant_id, value in answers:
        by_question[question_id].append((phase, participant_id, value))
    reports = []
    for question in screening.questions.all():
        report = QuestionReport(question)
        for phase, _, value in by_question.get(question.pk, []):
            counts = report.distributions.setdefault(phase, {})
            for key in _answer_key(value):
                counts[key] = counts.get(key, 0) + 1
        if question.phase == Question.Phase.BOTH and question.kind in NUMERIC_KINDS:
            values: dict[int, dict[str, float]] = defaultdict(dict)
            for phase, participant_id, value in by_question.get(question.pk, []):
                if isinstance(value, int | float):
                    values[participant_id][phase] = float(value)
            for participant_id, pair in sorted(values.items()):
                if "before" in pair and "after" in pair:
                    change = pair["after"] - pair["before"]
                    report.changes.append({"participant": participant_id, **pair, "change": change})
            if report.changes:
                report.mean_change = sum(c["change"] for c in report.changes) / len(report.changes)
        reports.append(report)
    return reports


def emotion_means_by_participant(
    screening: Screening, *, stats: dict[int, dict[str, Any]] | None = None
) -> dict[int, dict[str, float]]:
    """Each included participant's mean probability of each emotion over their faces while watching."""
    stats = participant_sample_stats(screening) if stats is None else stats
    excluded = _excluded_ids(screening)
    return {
        participant: {e: float(row[e]) for e in EMOTIONS}
        for participant, row in stats.items()
        if participant not in excluded and row["faces"]
    }


def emotion_by_answer(screening: Screening, *, stats: dict[int, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """For each after-question: participants grouped by their answer, with their mean emotions while watching."""
    means = emotion_means_by_participant(screening, stats=stats)
    answers = Answer.objects.filter(
        participant__screening=screening, participant__excluded_from_reports=False, phase=Answer.Phase.AFTER
    ).values_list("question_id", "participant_id", "value")
    groups: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for question_id, participant_id, value in answers:
        if participant_id in means and value is not None:
            for key in _answer_key(value):
                groups[question_id][key].append(participant_id)
    tables = []
    for question in screening.questions.all():
        if not question.asked_in(Question.Phase.AFTER) or question.kind == Question.Kind.TEXT:
            continue
        rows = []
        for answer, participant_ids in sorted(
            groups.get(question.pk, {}).items(), key=lambda item: answer_sort_key(item[0])
        ):
            rows.append(
                {
                    "answer": answer, "participants": len(participant_ids),
                    "means": {e: sum(means[p][e] for p in participant_ids) / len(participant_ids) for e in EMOTIONS},
                }
            )  # fmt: skip
        tables.append({"question": question.text, "question_id": question.pk, "rows": rows})
    return tables


def answer_sort_key(answer: str) -> tuple[int, float, str]:
    """Numbers first in numeric order, then texts."""
    try:
        number = float(answer)
    except ValueError:
        return (1, math.inf, answer)
    return (0, number, answer)


def quality_totals(screening: Screening, *, stats: dict[int, dict[str, Any]] | None = None) -> dict[str, int]:
    """Samples and faces of the included participants."""
    stats = participant_sample_stats(screening) if stats is None else stats
    excluded = _excluded_ids(screening)
    included = [row for participant, row in stats.items() if participant not in excluded]
    return {"samples": sum(row["n"] for row in included), "faces": sum(row["faces"] for row in included)}
