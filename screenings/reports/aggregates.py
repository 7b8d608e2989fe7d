"""Report aggregates, computed in the database so the number of queries does not grow with participants.

Every aggregate leaves out participants marked ``excluded_from_reports``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast, Floor

from inference.labels import EMOTIONS
from screenings.models import Answer, EmotionSample, Participant, Question, Screening

DEFAULT_QUALITY_THRESHOLD = 0.6
NUMERIC_KINDS = {Question.Kind.LIKERT5, Question.Kind.LIKERT7, Question.Kind.NUMBER, Question.Kind.SLIDER}
State = Participant.State


def included_samples(screening: Screening) -> QuerySet[EmotionSample]:
    """The screening's samples without those of excluded participants.

    Excluded participants are few, so their ids are listed instead of joining the
    participants table: every report query stays a scan of the samples' index.
    """
    excluded = _excluded_ids(screening)
    samples = EmotionSample.objects.filter(screening=screening)
    return samples.exclude(participant_id__in=excluded) if excluded else samples


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
    """One pass over the screening's samples: per participant, samples, faces, mean of each emotion,
    and how often each emotion was dominant.

    Probabilities are NULL where no face was found, so the means are over faces only.
    """
    rows = (
        EmotionSample.objects.filter(screening=screening)
        .values("participant", "dominant_emotion")
        .annotate(n=Count("pk"), faces=Count("pk", filter=Q(face_found=True)), **{e: Sum(e) for e in EMOTIONS})
        .order_by()
    )
    stats: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = stats.setdefault(
            row["participant"], {"n": 0, "faces": 0, "dominant": {}, **dict.fromkeys(EMOTIONS, 0.0)}
        )
        entry["n"] += row["n"]
        entry["faces"] += row["faces"]
        if row["faces"]:
            entry["dominant"][row["dominant_emotion"]] = row["faces"]
        for emotion in EMOTIONS:
            entry[emotion] += row[emotion] or 0.0
    for entry in stats.values():
        for emotion in EMOTIONS:
            entry[emotion] = entry[emotion] / entry["faces"] if entry["faces"] else None
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


def timeline(screening: Screening, *, bin_seconds: float | None = None, smoothing: int = 1) -> list[TimelineBin]:
    """Mean probability of each emotion per time bin across included participants' faces.

    ``smoothing`` > 1 averages each bin with its neighbours (a centred moving average over that many bins).
    """
    width = float(bin_seconds or screening.sampling_interval)
    if width <= 0:
        raise ValueError("bins must be longer than zero seconds")
    rows = (
        included_samples(screening)
        .filter(face_found=True)
        .annotate(bin=Floor(Cast(F("media_time"), FloatField()) / width + 1e-9))
        .values("bin")
        .annotate(n=Count("participant", distinct=True), **{e: Avg(e) for e in EMOTIONS})
        .order_by("bin")
    )
    bins = [TimelineBin(int(row["bin"]) * width, row["n"], {e: float(row[e]) for e in EMOTIONS}) for row in rows]
    return smooth(bins, smoothing) if smoothing > 1 else bins


def smooth(bins: list[TimelineBin], window: int) -> list[TimelineBin]:
    half = window // 2
    smoothed = []
    for index, current in enumerate(bins):
        neighbours = bins[max(0, index - half) : index + half + 1]
        means = {e: sum(b.means[e] for b in neighbours) / len(neighbours) for e in EMOTIONS}
        smoothed.append(TimelineBin(current.start, current.participants, means))
    return smoothed


def reaction_summary(samples: QuerySet[EmotionSample]) -> dict[str, float]:
    """Share of each dominant emotion among the samples with a face (the reference's summary of reactions)."""
    counts = dict(samples.filter(face_found=True).values_list("dominant_emotion").annotate(n=Count("pk")))
    return _shares(counts)


def reaction_summary_from_stats(screening: Screening, stats: dict[int, dict[str, Any]]) -> dict[str, float]:
    """The same summary from ``participant_sample_stats``, without another pass over the samples."""
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


def scene_summaries(screening: Screening) -> list[dict[str, Any]]:
    """The reaction summary and mean probabilities within each scene (marker), one query per scene."""
    samples = included_samples(screening).filter(face_found=True)
    scenes = []
    for marker in screening.markers.all():
        rows = (
            samples.filter(media_time__gte=marker.start, media_time__lt=marker.end)
            .values("dominant_emotion")
            .annotate(n=Count("pk"), **{f"sum_{e}": Sum(e) for e in EMOTIONS})
            .order_by()
        )
        counts = {row["dominant_emotion"]: row["n"] for row in rows}
        total = sum(counts.values())
        sums = {e: sum(row[f"sum_{e}"] or 0.0 for row in rows) for e in EMOTIONS}
        scenes.append(
            {
                "label": marker.label,
                "start": marker.start,
                "end": marker.end,
                "shares": {e: (counts.get(e, 0) / total if total else 0.0) for e in EMOTIONS},
                "means": {e: (sums[e] / total if total else None) for e in EMOTIONS},
            }
        )
    return scenes


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
