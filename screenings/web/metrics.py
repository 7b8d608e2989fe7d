"""What the report page's metrics section shows (templates/screenings/organizer/report_metrics.html)."""

from __future__ import annotations

from typing import Any

from screenings.models import Screening
from screenings.reports.metrics import CURVES


def report_metrics_context(screening: Screening, report: dict[str, Any]) -> dict[str, Any]:
    """The chart's data (``metrics_config``, for json_script), the scene rows and the paired tests.

    Straight from the report's JSON, so the page and the downloads cannot disagree.
    """
    metrics = report["metrics"]
    scenes = [{"start": row["start"], "end": row["end"], "label": row["scene"]} for row in metrics["scenes"]]
    return {
        "metrics_config": {"bins": metrics["bins"], "duration": screening.stimulus_duration, "scenes": scenes},
        "scene_metrics": [{**row, "estimates": [row[name] for name in CURVES]} for row in metrics["scenes"]],
        "paired_tests": [
            {"question": item["question"], "test": item["paired_test"]}
            for item in report["before_after"]
            if item.get("paired_test")
        ],
    }
