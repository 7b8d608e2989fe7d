"""A running analysis's progress: written now and then with a heartbeat (a cancel stops the job there),
and read for the pages."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.utils import timezone

from screenings.models import MediaAnalysis

Status = MediaAnalysis.Status


# Progress is written to the database at most this often; each write also checks for a cancel.
PROGRESS_WRITE_SECONDS = 0.5


class AnalysisCancelled(Exception):
    """The organizer cancelled the analysis while it ran."""


@dataclass(frozen=True)
class Progress:
    percent: int
    elapsed_seconds: float | None
    remaining_seconds: float | None


class ProgressReporter:
    """Writes progress and a heartbeat now and then, and stops the job when a cancel was asked."""

    def __init__(self, analysis_id: int, *, share: float = 1.0) -> None:
        self.analysis_id = analysis_id
        self.share = share
        self.last_write = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last_write < PROGRESS_WRITE_SECONDS and fraction < 1:
            return
        self.last_write = now
        rows = MediaAnalysis.objects.filter(pk=self.analysis_id)
        # No row updated: the analysis was deleted while it ran.
        if not rows.update(progress=min(1.0, max(0.0, fraction)) * self.share, heartbeat_at=timezone.now()):
            raise AnalysisCancelled
        if rows.filter(cancel_requested=True).exists():
            raise AnalysisCancelled


def analysis_progress(analysis: MediaAnalysis) -> Progress:
    """Percent done, seconds elapsed and an estimate of the seconds left (None when unknown)."""
    percent = round(analysis.progress * 100)
    if analysis.started_at is None:
        return Progress(percent, None, None)
    end = analysis.finished_at or timezone.now()
    elapsed = max(0.0, (end - analysis.started_at).total_seconds())
    remaining = None
    if analysis.status == Status.RUNNING and analysis.progress > 0.01:
        remaining = elapsed * (1 - analysis.progress) / analysis.progress
    return Progress(percent, elapsed, remaining)
