"""Background jobs, run by a worker (``manage.py media_worker``) through Django's Tasks API."""

from __future__ import annotations

from django_tasks import task

from screenings.analyses import runner


@task()
def run_media_analysis(analysis_id: int) -> None:
    """Analyse one uploaded image set, video or recording (see ``runner.analysis_run``)."""
    runner.analysis_run(analysis_id=analysis_id)
