"""Run the background job worker for media analyses, after queueing again what a restart cut off."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from screenings.analyses import jobs


class Command(BaseCommand):
    help = (
        "Run media analyses in the background: the database queue by default, RQ when TASK_QUEUE=rq. "
        "Analyses a restart cut off are queued again first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="Exit once the queue is empty.")

    def handle(self, *args: Any, batch: bool = False, **options: Any) -> None:
        recovered = jobs.analyses_recover()
        if recovered:
            self.stdout.write(f"Queued again {len(recovered)} analyses that a restart had cut off.")
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
