"""The report's metrics as flat tables, for the metrics CSV, the workbook's sheets and the PDF (docs/metrics.md).

Each metric is three columns, its mean across viewers and the 95% interval's bounds, then how many
viewers it is the mean of. Empty (None) where there is no value: a bound with fewer than two viewers.
"""

from __future__ import annotations

from typing import Any

from screenings.reports.exporters.safety import spreadsheet_safe
from screenings.reports.metrics import CURVES

ESTIMATE_PARTS = ("", "_lower", "_upper", "_viewers")
ESTIMATE_KEYS = ("mean", "lower", "upper", "viewers")


def estimate_columns() -> list[str]:
    return [f"{name}{part}" for name in CURVES for part in ESTIMATE_PARTS]


def _estimates(entry: dict[str, Any]) -> list[Any]:
    return [entry[name][key] for name in CURVES for key in ESTIMATE_KEYS]


def bin_metric_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Per time bin (the report's bin and smoothing): start, viewers with a sample, then each metric."""
    header = ["start", "viewers", *estimate_columns()]
    return header, [[row["start"], row["viewers"], *_estimates(row)] for row in report["metrics"]["bins"]]


def scene_metric_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Per scene: its label and span, viewers with a sample in it, then each metric."""
    header = ["scene", "start", "end", "viewers", *estimate_columns()]
    rows = [[spreadsheet_safe(row["scene"]), row["start"], row["end"], row["viewers"], *_estimates(row)]
            for row in report["metrics"]["scenes"]]  # fmt: skip
    return header, rows


def synchrony_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Per curve: the audience's synchrony (its Fisher mean and interval), then each viewer's correlation."""
    header = ["curve", "participant", "label", "r", "lower", "upper", "viewers_or_bins"]
    rows: list[list[Any]] = []
    for curve, result in report["synchrony"]["curves"].items():
        rows.append([curve, None, "audience", result["mean"], result["lower"], result["upper"], result["viewers"]])
        for viewer in result["per_viewer"]:
            rows.append([curve, viewer["participant"], spreadsheet_safe(viewer["label"]), viewer["r"], None, None,
                         viewer["bins"]])  # fmt: skip
    return header, rows


def paired_test_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Per question asked before and after with a number: the mean change, its interval and the paired t-test."""
    header = ["question", "pairs", "mean_change", "lower", "upper", "t", "p"]
    rows = []
    for question in report["before_after"]:
        test = question.get("paired_test")
        if test is not None:
            rows.append([spreadsheet_safe(question["question"]), test["pairs"], test["mean"], test["lower"],
                         test["upper"], test["t"], test["p"]])  # fmt: skip
    return header, rows
