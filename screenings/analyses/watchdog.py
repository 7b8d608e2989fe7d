"""The media worker's watchdog: a thread beside the job queue's loop that, every few seconds, writes
the heartbeat of the runs in this worker and queues again what stopped workers left behind."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from django.conf import settings
from django.db import close_old_connections, connections

from screenings.analyses import jobs
from screenings.analyses.progress import heartbeats_write
from screenings.models import MediaAnalysis

logger = logging.getLogger(__name__)

# Checks per ANALYSIS_STALLED_SECONDS: a run's heartbeat is written this many times before its
# silence reads as a dead worker, so a busy machine may miss a few without a job being run twice.
CHECKS_PER_STALL = 4


def check_seconds() -> float:
    """Seconds between two checks of the watchdog."""
    return settings.ANALYSIS_STALLED_SECONDS / CHECKS_PER_STALL


class Watchdog:
    """Runs ``check`` every ``check_seconds()`` in a thread while the ``with`` block runs.

    ``report`` receives the analyses each check queued again. A failing check (the database or
    Redis away for a moment) is logged and tried again at the next one: the watchdog never stops
    while its worker runs.
    """

    def __init__(self, *, report: Callable[[list[MediaAnalysis]], None]) -> None:
        self.report = report
        self.seconds = check_seconds()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="media-analysis-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)

    def check(self) -> None:
        """Heartbeats for this worker's runs first, so that its own never look stalled; then recovery."""
        try:
            heartbeats_write()
            recovered = jobs.analyses_recover()
        except Exception:
            logger.exception("media analysis watchdog: the check failed; trying again in %s s", self.seconds)
            return
        if recovered:
            self.report(recovered)

    def _watch(self) -> None:
        try:
            while not self._stopped.wait(self.seconds):
                # As a worker does around each job: a connection the database dropped is not reused.
                close_old_connections()
                self.check()
                close_old_connections()
        finally:
            # The thread's own connections, which nothing else would close.
            connections.close_all()
