"""Segments of one screening side by side: each segment's own report, cut down to what a comparison shows."""

from __future__ import annotations

from typing import Any

from inference import EMOTIONS
from screenings.models import Screening, Segment
from screenings.reports.builder import screening_report

# The emotions a scene's cell names, highest mean first.
SCENE_EMOTIONS_SHOWN = 2
# The curves of compared segments, one colour each (at most four segments are compared).
SEGMENT_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def segment_comparison(screening: Screening, segments: list[Segment], **options: Any) -> list[dict[str, Any]]:
    """Each of ``segments``' report, with ``options`` (bin, smoothing, threshold), as a comparison shows it.

    Every entry is built from ``screening_report`` restricted to its segment, so a comparison and
    the report of one segment cannot disagree.
    """
    entries = [compared(screening_report(screening, segment=segment, **options)) for segment in segments]
    for index, entry in enumerate(entries):
        entry["colour"] = SEGMENT_COLOURS[index % len(SEGMENT_COLOURS)]
    return entries


def compared(report: dict[str, Any]) -> dict[str, Any]:
    """One segment's column of the comparison: size, curves, summary, top moments, scenes, changes."""
    included = [row for row in report["quality"]["participants"] if not row["excluded"]]
    return {
        "segment": report["segment"],
        "viewers": len(included),
        "faces": report["quality"]["faces"],
        "timeline": report["timeline"],
        "reaction_summary": report["reaction_summary"],
        "top_moments": {emotion: windows[0] if windows else None for emotion, windows in report["top_moments"].items()},
        "scenes": [_scene(scene) for scene in report["scenes"]],
        "changes": [
            {"question": item["question"], "mean_change": item["mean_change"], "participants": len(item["changes"])}
            for item in report["before_after"]
            if item["mean_change"] is not None
        ],
    }


def _scene(scene: dict[str, Any]) -> dict[str, Any]:
    means = {emotion: mean for emotion, mean in scene["means"].items() if mean is not None}
    strongest = sorted(means, key=lambda emotion: -means[emotion])[:SCENE_EMOTIONS_SHOWN]
    return {"label": scene["label"], "strongest": [{"emotion": e, "mean": means[e]} for e in strongest]}


def compared_rows(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The comparison's tables, one row per emotion, scene or question and one cell per segment."""
    scenes = [scene["label"] for scene in entries[0]["scenes"]] if entries else []
    questions = sorted({change["question"] for entry in entries for change in entry["changes"]})
    return {
        "summary": [{"emotion": e, "cells": [entry["reaction_summary"][e] for entry in entries]} for e in EMOTIONS],
        "top_moments": [{"emotion": e, "cells": [entry["top_moments"][e] for entry in entries]} for e in EMOTIONS],
        "scenes": [
            {"label": label, "cells": [entry["scenes"][index]["strongest"] for entry in entries]}
            for index, label in enumerate(scenes)
        ],
        "changes": [
            {"question": question, "cells": [_change(entry, question) for entry in entries]} for question in questions
        ],
    }


def _change(entry: dict[str, Any], question: str) -> dict[str, Any] | None:
    return next((change for change in entry["changes"] if change["question"] == question), None)
