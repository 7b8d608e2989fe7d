"""Background jobs, run by a worker (``manage.py media_worker``) through Django's Tasks API."""

from __future__ import annotations

from django_tasks import task

from screenings.analyses import runner as media_analyses


@task()
def run_media_analysis(analysis_id: int) -> None:
    """Analyse one uploaded image set, video or recording (see ``media_analyses.analysis_run``)."""
    media_analyses.analysis_run(analysis_id=analysis_id)
