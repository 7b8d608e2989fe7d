"""Report aggregates, read from the running totals (``screenings.services.totals``) so that neither
the time nor the number of queries grows with the number of samples or participants.

Every aggregate leaves out participants marked ``excluded_from_reports``; given ``members`` (a
segment's participant ids), it counts only them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference import EMOTIONS
from screenings.models import Answer, Participant, Question, Screening
from screenings.rules.questions import (
    CHOICE_KINDS,
    LIKERT_POINTS,
    NO_ANSWER_TEXT,
    NONE_CHOSEN_TEXT,
    PREFER_NOT_TO_SAY_TEXT,
    SLIDER_RANGE,
    answer_text,
    is_prefer_not,
)
from screenings.rules.slots import SLOT_EPSILON
from screenings.selectors.reports import (
    Members,
    SlotTotals,
    included_answer_rows,
    included_faces_within,
    included_participant_names,
    included_slots,
    participant_sample_stats,
    participant_states,
    screening_questions,
    screening_scenes,
    watchers,
)

DEFAULT_QUALITY_THRESHOLD = 0.6
NUMERIC_KINDS = {Question.Kind.LIKERT5, Question.Kind.LIKERT7, Question.Kind.NUMBER, Question.Kind.SLIDER}
# Answers spread over a range: counted in histogram bins, not one bar per distinct value.
HISTOGRAM_KINDS = {Question.Kind.NUMBER, Question.Kind.SLIDER}
HISTOGRAM_BINS = 10
RANGE_DASH = "\N{EN DASH}"
# Answers that are no point of a scale: shown after it, in this order.
SPECIAL_ANSWERS = (NONE_CHOSEN_TEXT, PREFER_NOT_TO_SAY_TEXT, NO_ANSWER_TEXT)
State = Participant.State
FUNNEL_LABELS = {
    "invited": "Invited", "consented": "Consented", "declined": "Declined", "before_done": "Before done",
    "watched": "Watched", "completed": "Completed", "withdrawn": "Withdrawn",
}  # fmt: skip


def funnel(screening: Screening, *, members: Members = None) -> dict[str, int]:
    """How many participants reached each step (a participant further on counts for the steps before)."""
    counts = Counter(participant_states(screening, members=members))
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


def data_quality(
    screening: Screening,
    *,
    threshold: float = DEFAULT_QUALITY_THRESHOLD,
    stats: dict[int, dict[str, Any]] | None = None,
    members: Members = None,
) -> list[ParticipantQuality]:
    """Samples and face-found rate per participant who started watching, flagged below ``threshold``."""
    stats = participant_sample_stats(screening, members=members) if stats is None else stats
    participants = watchers(screening, members=members)
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
    members: Members = None,
) -> list[TimelineBin]:
    """Mean probability of each emotion per time bin across included participants' faces.

    A bin is the sampling interval or a whole multiple of it. ``participants`` is the number of
    participants with a face in the bin: exact for a bin of one sampling interval, the mean per
    sampling interval for a longer bin. ``smoothing`` > 1 averages each bin with its neighbours
    (a centred moving average over that many bins).
    """
    slots = included_slots(screening, members=members) if slots is None else slots
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
    counts: dict[str, int] = {}
    for entry in stats.values():
        if not entry["excluded"]:
            for emotion, n in entry["dominant"].items():
                counts[emotion] = counts.get(emotion, 0) + n
    return _shares(counts)


def _shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {emotion: (counts.get(emotion, 0) / total if total else 0.0) for emotion in EMOTIONS}


def scene_summaries(
    screening: Screening, *, slots: SlotTotals | None = None, members: Members = None
) -> list[dict[str, Any]]:
    """The reaction summary and mean probabilities within each scene over included faces.

    The slots wholly inside a scene come from the slot totals; the samples in the slot or two
    that a scene's edges cut through are read one by one (one query for all scenes).
    """
    slots = included_slots(screening, members=members) if slots is None else slots
    defined = screening_scenes(screening)
    edges = {scene.pk: _scene_edges(scene.start, scene.end, slots.width) for scene in defined}
    edge_spans = [span for scene_spans in edges.values() for span in scene_spans[1]]
    edge_samples = included_faces_within(screening, edge_spans, members=members)
    scenes = []
    for scene in defined:
        (first, stop), spans = edges[scene.pk]
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
                "label": scene.label,
                "start": scene.start,
                "end": scene.end,
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


@dataclass(frozen=True)
class AnswerScale:
    """How a question's answers are grouped and ordered wherever they are shown.

    Choices in the question's order, every point of a Likert scale, numbers and sliders in
    histogram bins (``edges``), then answers outside the scale and the special ones
    ("none chosen", "prefer not to say", "no answer"). A point no one chose is still on the axis.
    """

    question: Question
    edges: tuple[float, ...] = ()
    integers: bool = False

    @property
    def histogram(self) -> bool:
        return self.question.kind in HISTOGRAM_KINDS

    def scale(self) -> list[str]:
        """The categories shown whether or not anyone chose them."""
        kind = self.question.kind
        if kind in CHOICE_KINDS:
            return [str(choice) for choice in self.question.choices]
        if kind in LIKERT_POINTS:
            return [str(point) for point in range(1, LIKERT_POINTS[kind] + 1)]
        if self.histogram:
            return [self._bin_label(index) for index in range(len(self.edges) - 1)]
        return []

    def keys(self, value: Any) -> list[str]:
        """The categories one answer counts in (several for a multiple-choice answer)."""
        if self.histogram and _is_number(value) and self.edges:
            return [self._bin_label(self._bin_index(float(value)))]
        if value is None:
            return [NO_ANSWER_TEXT]
        if is_prefer_not(value):
            return [PREFER_NOT_TO_SAY_TEXT]
        if isinstance(value, list):
            return [str(item) for item in value] or [NONE_CHOSEN_TEXT]
        return [answer_text(value)]

    def order(self, counted: Iterable[str]) -> list[str]:
        """The scale, then the other categories ``counted`` holds."""
        scale = self.scale()
        counted = set(counted)
        outside = sorted(counted - set(scale) - set(SPECIAL_ANSWERS), key=answer_sort_key)
        return scale + outside + [special for special in SPECIAL_ANSWERS if special in counted]

    def _bin_index(self, value: float) -> int:
        # Bins are half-open, the last one closed: numpy.histogram's rule.
        index = int(np.searchsorted(self.edges, value, side="right")) - 1
        return min(max(index, 0), len(self.edges) - 2)

    def _bin_label(self, index: int) -> str:
        low, high = self.edges[index], self.edges[index + 1]
        last = index == len(self.edges) - 2
        if not self.integers:
            return f"{low:g}{RANGE_DASH}{high:g}"
        top = int(high) if last and high - low > 1 else int(high) - 1
        return f"{int(low)}" if top <= low else f"{int(low)}{RANGE_DASH}{top}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _nice_width(span: float, *, integers: bool) -> float:
    """A bin width of 1, 2, 2.5 or 5 times a power of ten giving at most ``HISTOGRAM_BINS`` bins."""
    raw = span / HISTOGRAM_BINS
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    steps = (1, 2, 5, 10) if integers else (1, 2, 2.5, 5, 10)
    width = next(step * magnitude for step in steps if step * magnitude >= raw)
    return max(1.0, float(math.ceil(width))) if integers else width


def answer_scale(question: Question, values: Iterable[Any]) -> AnswerScale:
    """The scale of ``question``; for a number or slider question, histogram bins over its range and ``values``."""
    if question.kind not in HISTOGRAM_KINDS:
        return AnswerScale(question)
    numbers = [float(value) for value in values if _is_number(value)]
    if question.kind == Question.Kind.SLIDER:
        low, high = (float(bound) for bound in SLIDER_RANGE)
    else:
        low = question.min_value if question.min_value is not None else min(numbers, default=None)
        high = question.max_value if question.max_value is not None else max(numbers, default=None)
    if low is None or high is None:
        return AnswerScale(question)
    low, high = min([low, *numbers]), max([high, *numbers])
    integers = all(number.is_integer() for number in numbers) and float(low).is_integer()
    if integers and high - low + 1 <= HISTOGRAM_BINS:
        # Few whole numbers: one bin each.
        return AnswerScale(question, tuple(float(edge) for edge in np.arange(low, high + 2)), integers=True)
    width = _nice_width(high - low or 1.0, integers=integers)
    start = math.floor(low / width) * width
    count = max(1, math.ceil((high - start) / width - 1e-9))
    return AnswerScale(question, tuple(start + width * index for index in range(count + 1)), integers=integers)


def answer_scales(screening: Screening, rows: Iterable[tuple[int, str, int, Any]]) -> dict[int, AnswerScale]:
    """Each question's scale, its histogram bins set from the included answers ``rows``."""
    values: dict[int, list[Any]] = defaultdict(list)
    for question_id, _, _, value in rows:
        values[question_id].append(value)
    return {question.pk: answer_scale(question, values[question.pk]) for question in screening_questions(screening)}


@dataclass
class QuestionReport:
    question: Question
    distributions: dict[str, dict[str, int]] = field(default_factory=dict)  # phase -> answer -> count
    changes: list[dict[str, Any]] = field(default_factory=list)  # per participant, both-phase numeric questions
    mean_change: float | None = None
    categories: list[str] = field(default_factory=list)  # the axis: every category in the order shown
    texts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # free text: phase -> the answers


def before_after(screening: Screening, *, members: Members = None) -> list[QuestionReport]:
    """Each question's answer distribution per phase; for numeric questions asked in both, each participant's change.

    Distributions follow the question's scale (``AnswerScale``); free-text answers are listed
    with their participant instead (``texts``).
    """
    answers = list(included_answer_rows(screening, members=members))
    scales = answer_scales(screening, answers)
    by_question: dict[int, list[tuple[str, int, Any]]] = defaultdict(list)
    for question_id, phase, participant_id, value in answers:
        by_question[question_id].append((phase, participant_id, value))
    has_text = any(scale.question.kind == Question.Kind.TEXT for scale in scales.values())
    names = included_participant_names(screening, members=members) if has_text else {}
    reports = []
    for question in screening_questions(screening):
        scale = scales[question.pk]
        report = QuestionReport(question)
        counted: dict[str, dict[str, int]] = {}
        for phase, participant_id, value in by_question.get(question.pk, []):
            counts = counted.setdefault(phase, {})
            for key in scale.keys(value):
                counts[key] = counts.get(key, 0) + 1
            if question.kind == Question.Kind.TEXT and isinstance(value, str) and value:
                report.texts.setdefault(phase, []).append(
                    {"participant": participant_id, "label": names.get(participant_id, ""), "answer": value}
                )
        if question.kind != Question.Kind.TEXT:
            report.categories = scale.order(key for counts in counted.values() for key in counts)
        order = report.categories or sorted({key for counts in counted.values() for key in counts})
        for phase in (Question.Phase.BEFORE, Question.Phase.AFTER):
            if phase in counted:
                report.distributions[phase] = {key: counted[phase][key] for key in order if key in counted[phase]}
        if question.phase == Question.Phase.BOTH and question.kind in NUMERIC_KINDS:
            _add_changes(report, by_question.get(question.pk, []))
        reports.append(report)
    return reports


def _add_changes(report: QuestionReport, answers: list[tuple[str, int, Any]]) -> None:
    """Each participant's after minus before, and their mean, for a numeric question asked in both phases."""
    values: dict[int, dict[str, float]] = defaultdict(dict)
    for phase, participant_id, value in answers:
        if _is_number(value):
            values[participant_id][phase] = float(value)
    for participant_id, pair in sorted(values.items()):
        if "before" in pair and "after" in pair:
            report.changes.append({"participant": participant_id, **pair, "change": pair["after"] - pair["before"]})
    if report.changes:
        report.mean_change = sum(c["change"] for c in report.changes) / len(report.changes)


def emotion_means_by_participant(
    screening: Screening, *, stats: dict[int, dict[str, Any]] | None = None, members: Members = None
) -> dict[int, dict[str, float]]:
    """Each included participant's mean probability of each emotion over their faces while watching."""
    stats = participant_sample_stats(screening, members=members) if stats is None else stats
    return {
        participant: {e: float(row[e]) for e in EMOTIONS}
        for participant, row in stats.items()
        if not row["excluded"] and row["faces"]
    }


def emotion_by_answer(
    screening: Screening, *, stats: dict[int, dict[str, Any]] | None = None, members: Members = None
) -> list[dict[str, Any]]:
    """For each after-question but free text: participants grouped by their answer, with their mean emotions.

    Answers are grouped and ordered as in ``before_after`` (choices in the question's order,
    numbers in the same histogram bins).
    """
    means = emotion_means_by_participant(screening, stats=stats, members=members)
    answers = list(included_answer_rows(screening, members=members))
    scales = answer_scales(screening, answers)
    groups: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for question_id, phase, participant_id, value in answers:
        if phase == Answer.Phase.AFTER and participant_id in means and value is not None:
            for key in scales[question_id].keys(value):
                groups[question_id][key].append(participant_id)
    tables = []
    for question in screening_questions(screening):
        if not question.asked_in(Question.Phase.AFTER) or question.kind == Question.Kind.TEXT:
            continue
        answered = groups.get(question.pk, {})
        rows = [
            {
                "answer": answer, "participants": len(answered[answer]),
                "means": {e: sum(means[p][e] for p in answered[answer]) / len(answered[answer]) for e in EMOTIONS},
            }
            for answer in scales[question.pk].order(answered)
            if answer in answered
        ]  # fmt: skip
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
    included = [row for row in stats.values() if not row["excluded"]]
    return {"samples": sum(row["n"] for row in included), "faces": sum(row["faces"] for row in included)}
