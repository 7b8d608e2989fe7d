"""The report of a screening and of one participant, as plain data for pages, JSON and exporters."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from django.core.cache import cache

from inference import EMOTIONS
from screenings.models import Participant, Question, Screening, Segment
from screenings.reports import aggregates, metrics
from screenings.rules.questions import answer_text
from screenings.selectors import metrics as metric_selectors
from screenings.selectors import reports as selectors
from screenings.selectors.reports import Members
from screenings.selectors.segments import segment_members, segment_summary
from screenings.selectors.series import included_audience

# Table 1 on the participant's page: this many timestamps a block, so the whole stimulus shows.
TABLE1_BLOCK = 20


def screening_report(
    screening: Screening,
    *,
    bin_seconds: float | None = None,
    smoothing: int = 1,
    threshold: float = aggregates.DEFAULT_QUALITY_THRESHOLD,
    segment: Segment | None = None,
) -> dict[str, Any]:
    """Everything the screening report shows, as JSON-ready data; with ``segment``, of its participants only.

    ``segment`` says which segment (its rules and size, None for everyone); every figure after it
    (funnel, quality, timeline, summaries, scenes, top moments, answers) counts only its members.
    """
    members = segment_members(segment) if segment is not None else None
    # One read of the slot totals serves the timeline and the scenes; one of the participants'
    # totals serves data quality, the summary and emotion-by-answer.
    stats = selectors.participant_sample_stats(screening, members=members)
    excluded = {participant for participant, entry in stats.items() if entry["excluded"]}
    slots = selectors.included_slots(screening, excluded=excluded, members=members)
    bins = aggregates.timeline(screening, bin_seconds=bin_seconds, smoothing=smoothing, slots=slots)
    quality = aggregates.data_quality(screening, threshold=threshold, stats=stats, members=members)
    funnel = aggregates.funnel(screening, members=members)
    return {
        "screening": {"id": screening.pk, "title": screening.title, "duration": screening.stimulus_duration},
        "segment": None if segment is None else segment_summary(segment, members=members),
        "emotions": list(EMOTIONS),
        "funnel": funnel,
        "funnel_steps": [{"step": step, "label": aggregates.FUNNEL_LABELS[step], "count": count}
                         for step, count in funnel.items()],
        "quality": {
            "threshold": threshold,
            "participants": [
                {**asdict(row), "face_rate": row.face_rate, "flagged": row.flagged} for row in quality
            ],
            **aggregates.quality_totals(screening, stats=stats),
        },
        "timeline": {
            "bin_seconds": float(bin_seconds or screening.sampling_interval),
            "smoothing": smoothing,
            "bins": [{"start": b.start, "participants": b.participants, **b.means} for b in bins],
        },
        "reaction_summary": aggregates.reaction_summary_from_stats(screening, stats),
        "scenes": aggregates.scene_summaries(screening, slots=slots, members=members),
        "before_after": before_after_items(screening, members=members),
        "emotion_by_answer": emotion_by_answer_items(screening, stats=stats, members=members),
        **metrics_items(screening, bin_seconds=bin_seconds, smoothing=smoothing, members=members, stats=stats),
    }  # fmt: skip


# Metrics kept this long in the cache; a changed sample, exclusion, label or scene makes a new key anyway.
METRICS_CACHE_SECONDS = 24 * 3600
# Part of every key: a change to what the metrics hold changes it, so older entries are never read.
METRICS_CACHE_VERSION = 1


def metrics_items(
    screening: Screening,
    *,
    bin_seconds: float | None,
    smoothing: int,
    members: Members,
    stats: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The report's ``top_moments``, ``metrics`` (per bin and per scene, with 95% intervals) and ``synchrony``.

    All from each viewer's own means (docs/metrics.md), which means reading every sample, from
    the viewers' packed series (``selectors.series``: built once per participant, not per view).
    The figures are also cached, under a key made of everything
    they depend on: the options, the segment's members, each participant's running totals
    (``stats``: samples, faces, emotion sums and whether excluded, which any stored or erased
    sample changes), their labels and the scenes. The next view of an unchanged screening
    reads them from the cache.
    """
    stats = selectors.participant_sample_stats(screening, members=members) if stats is None else stats
    scenes = selectors.screening_scenes(screening)
    labels = selectors.included_participant_names(screening, members=members)
    key = _metrics_key(screening, bin_seconds, smoothing, members, stats, scenes, labels)
    cached = cache.get(key)
    if cached is None:
        cached = _metrics(screening, bin_seconds=bin_seconds, smoothing=smoothing, members=members, scenes=scenes,
                          labels=labels)  # fmt: skip
        # Kept only if nothing the key is made of changed while they were computed (an exclusion
        # flipped meanwhile would otherwise file these figures under the key of the state before).
        again = _metrics_key(screening, bin_seconds, smoothing, members,
                             selectors.participant_sample_stats(screening, members=members),
                             selectors.screening_scenes(screening),
                             selectors.included_participant_names(screening, members=members))  # fmt: skip
        if again == key:
            cache.set(key, cached, METRICS_CACHE_SECONDS)
    return cached


def _metrics_key(
    screening: Screening,
    bin_seconds: float | None,
    smoothing: int,
    members: Members,
    stats: dict[int, dict[str, Any]],
    scenes: list[Any],
    labels: dict[int, str],
) -> str:
    depends_on = [
        METRICS_CACHE_VERSION, screening.pk, float(screening.sampling_interval), bin_seconds, smoothing,
        None if members is None else sorted(members), sorted((str(k), v) for k, v in stats.items()),
        [(scene.start, scene.end, scene.label) for scene in scenes], sorted(labels.items()),
    ]  # fmt: skip
    digest = hashlib.sha256(json.dumps(depends_on, sort_keys=True, default=str).encode()).hexdigest()
    return f"report-metrics:{screening.pk}:{digest}"


def _metrics(
    screening: Screening,
    *,
    bin_seconds: float | None,
    smoothing: int,
    members: Members,
    scenes: list[Any],
    labels: dict[int, str],
) -> dict[str, Any]:
    per_bin = aggregates.bin_slots(float(screening.sampling_interval), bin_seconds)
    viewers = included_audience(screening, members=members)
    bin_means = metric_selectors.viewer_bin_means(screening, bin_slots=per_bin, viewers=viewers)
    scene_means = metric_selectors.viewer_scene_means(screening, scenes, viewers=viewers)
    width = float(bin_seconds or screening.sampling_interval)
    return {
        # Ranked against each viewer's own baseline, with their significance (docs/metrics.md).
        "top_moments": metrics.top_moments(bin_means, bin_seconds=width),
        "metrics": {
            "confidence": metrics.CONFIDENCE,
            "bins": metrics.bin_metrics(bin_means, bin_seconds=width, smoothing=smoothing),
            "scenes": metrics.scene_metrics(scene_means, scenes),
        },
        "synchrony": metrics.synchrony(bin_means, smoothing=smoothing, labels=labels),
    }


def _shown_as(question: Question) -> str:
    """How a question's answers are presented: listed (free text), a histogram (numbers) or bars (a scale)."""
    if question.kind == Question.Kind.TEXT:
        return "list"
    return "histogram" if question.kind in aggregates.HISTOGRAM_KINDS else "bars"


def before_after_items(screening: Screening, *, members: Members = None) -> list[dict[str, Any]]:
    """Each question's answers before and after, and the change for numeric questions asked in both.

    ``categories`` is the axis in the order shown (every choice and scale point, or the
    histogram's bins); free-text questions have no chart (``chart`` is None) but ``texts``.
    """
    return [
        {
            "question_id": report.question.pk, "question": report.question.text, "kind": report.question.kind,
            "phase": report.question.phase, "shown_as": _shown_as(report.question),
            "chart": None if report.question.kind == Question.Kind.TEXT else f"question-{report.question.pk}",
            "categories": report.categories, "distributions": report.distributions, "texts": report.texts,
            "changes": report.changes, "mean_change": report.mean_change,
            "paired_test": metrics.paired_change([change["change"] for change in report.changes]),
        }
        for report in aggregates.before_after(screening, members=members)
    ]  # fmt: skip


def emotion_by_answer_items(
    screening: Screening, *, stats: dict | None = None, members: Members = None
) -> list[dict[str, Any]]:
    """Participants grouped by each after-answer, with their mean emotions while watching."""
    tables = aggregates.emotion_by_answer(screening, stats=stats, members=members)
    return [{**table, "chart": f"answer-{table['question_id']}"} for table in tables]


def _shown(value: Any) -> Any:
    """An answer as the participant's page shows it: numbers as numbers, anything else as text.

    Choices picked read joined (never a Python list), "prefer not to say" in words; None stays
    None: the question was asked but not answered.
    """
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    return answer_text(value)


def _table1_blocks(timestamps: list[float], rows: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Table 1 cut into blocks of ``TABLE1_BLOCK`` timestamps, so no part of the stimulus is off the page."""
    return [
        {"timestamps": timestamps[start : start + TABLE1_BLOCK],
         "rows": {emotion: values[start : start + TABLE1_BLOCK] for emotion, values in rows.items()}}
        for start in range(0, len(timestamps), TABLE1_BLOCK)
    ]  # fmt: skip


def participant_report(participant: Participant) -> dict[str, Any]:
    """One participant: timeline, scenes, the reference's Table 1 (1 for each timestamp's dominant emotion), answers."""
    samples = selectors.participant_samples(participant)
    answers = selectors.participant_answer_values(participant)
    questions = selectors.screening_questions(participant.screening)
    scenes = selectors.screening_scenes(participant.screening)
    faces = [s for s in samples if s.face_found]
    timestamps = [s.media_time for s in samples]
    rows = {e: [int(s.dominant_emotion == e) for s in samples] for e in EMOTIONS}
    return {
        "participant": {
            "id": participant.pk, "label": str(participant), "external_id": participant.external_id,
            "state": participant.state, "excluded": participant.excluded_from_reports,
        },
        "quality": {
            "samples": len(samples), "faces": len(faces),
            "face_rate": len(faces) / len(samples) if samples else None,
        },
        "timeline": [
            {"media_time": s.media_time, "face": s.face_found, "emotion": s.dominant_emotion or None,
             **{e: getattr(s, e) for e in EMOTIONS}}
            for s in samples
        ],
        "scenes": [{"label": scene.label, "start": scene.start, "end": scene.end} for scene in scenes],
        "table1": {"timestamps": timestamps, "rows": rows, "blocks": _table1_blocks(timestamps, rows),
                   "duration": participant.screening.stimulus_duration},
        "answers": [
            {
                "question": q.text, "kind": q.kind,
                "before": _shown(answers.get((q.pk, "before"))) if q.asked_in(Question.Phase.BEFORE) else None,
                "after": _shown(answers.get((q.pk, "after"))) if q.asked_in(Question.Phase.AFTER) else None,
                "asked_before": q.asked_in(Question.Phase.BEFORE), "asked_after": q.asked_in(Question.Phase.AFTER),
            }
            for q in questions
        ],
    }  # fmt: skip
