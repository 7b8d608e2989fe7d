"""Run the background job worker for media analyses, with a watchdog that queues again what a stopped
worker left behind: at start, and every few seconds while it runs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from screenings.analyses import jobs
from screenings.analyses.watchdog import Watchdog
from screenings.models import MediaAnalysis


class Command(BaseCommand):
    help = (
        "Run media analyses in the background: the database queue by default, RQ when TASK_QUEUE=rq. "
        "Analyses whose worker stopped (no heartbeat for ANALYSIS_STALLED_SECONDS) are queued again, "
        "at start and while the worker runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="Exit once the queue is empty.")

    def handle(self, *args: Any, batch: bool = False, **options: Any) -> None:
        self.report(jobs.analyses_recover())
        with Watchdog(report=self.report):
            self.run_queue(batch=batch)

    def report(self, recovered: list[MediaAnalysis]) -> None:
        if recovered:
            numbers = ", ".join(str(analysis.pk) for analysis in recovered)
            label = "analysis" if len(recovered) == 1 else "analyses"
            self.stdout.write(f"Queued again what a stopped worker had left: {label} {numbers}.")
            self.stdout.flush()

    def run_queue(self, *, batch: bool) -> None:
        if settings.TASK_QUEUE == "rq":
            from rq.worker import SimpleWorker

            # One process, no fork per job: the emotion model is loaded once and kept.
            call_command(
                "rqworker",
                "default",
                burst=batch,
                worker_class=f"{SimpleWorker.__module__}.SimpleWorker",
                job_class="django_tasks_rq.Job",
            )
        else:
            call_command("db_worker", batch=batch, reload=False, startup_delay=False, interval=1.0)
