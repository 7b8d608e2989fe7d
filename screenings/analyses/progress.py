"""A running analysis's progress and heartbeat: written now and then by the run (a cancel stops the
job there), kept fresh by its worker's watchdog while the worker lives, and read for the pages.

A run is one claim of an analysis, told apart from a later one by ``attempts``: every write of a run
names its attempt, so a run that was given up for dead and queued again (``jobs.analyses_recover``)
can no longer change the analysis; it stops at its next write (``AnalysisLost``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from screenings.models import MediaAnalysis

Status = MediaAnalysis.Status


# Progress is written to the database at most this often; each write also checks for a cancel.
PROGRESS_WRITE_SECONDS = 0.5


class AnalysisCancelled(Exception):
    """The organizer cancelled the analysis while it ran."""


class AnalysisLost(Exception):
    """The run is no longer the analysis's: it was deleted, or queued again after this run's worker
    had stopped sending heartbeats. The run must stop and leave the analysis and its files alone."""


@dataclass(frozen=True)
class Progress:
    percent: int
    elapsed_seconds: float | None
    remaining_seconds: float | None


def this_run(analysis_id: int, attempt: int) -> QuerySet[MediaAnalysis]:
    """The analysis's row while this run (``attempt``) still holds it, else no row."""
    return MediaAnalysis.objects.filter(pk=analysis_id, status=Status.RUNNING, attempts=attempt)


class ProgressReporter:
    """Writes progress and a heartbeat now and then, and stops the job when a cancel was asked
    (``AnalysisCancelled``) or the run lost the analysis (``AnalysisLost``)."""

    def __init__(self, analysis_id: int, *, attempt: int, share: float = 1.0) -> None:
        self.analysis_id = analysis_id
        self.attempt = attempt
        self.share = share
        self.last_write = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last_write < PROGRESS_WRITE_SECONDS and fraction < 1:
            return
        self.last_write = now
        rows = this_run(self.analysis_id, self.attempt)
        if not rows.update(progress=min(1.0, max(0.0, fraction)) * self.share, heartbeat_at=timezone.now()):
            raise AnalysisLost
        if rows.filter(cancel_requested=True).exists():
            raise AnalysisCancelled


# The runs going on in this process, as (analysis id, attempt); the watchdog writes their heartbeats.
_runs_here: set[tuple[int, int]] = set()
_runs_lock = threading.Lock()


@contextmanager
def run_kept_alive(analysis_id: int, attempt: int) -> Iterator[None]:
    """While the block runs, ``heartbeats_write`` (the worker's watchdog) keeps this run's heartbeat fresh."""
    with _runs_lock:
        _runs_here.add((analysis_id, attempt))
    try:
        yield
    finally:
        with _runs_lock:
            _runs_here.discard((analysis_id, attempt))


def heartbeats_write() -> None:
    """A fresh heartbeat for every run of this process.

    Written by the worker's watchdog thread, not by the run, so that a heartbeat says the worker
    lives however long the run's current step goes without reporting progress (loading the model,
    storing a long recording's samples); only a worker that stopped leaves its run's heartbeat to age.
    """
    with _runs_lock:
        runs = sorted(_runs_here)
    now = timezone.now()
    for analysis_id, attempt in runs:
        this_run(analysis_id, attempt).update(heartbeat_at=now)


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
