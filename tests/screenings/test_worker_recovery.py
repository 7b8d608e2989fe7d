"""A media worker killed with SIGKILL mid-job: the workers still running run the job again, exactly once.

Real processes on the project's own stack: ``manage.py media_worker`` on SQLite and the database
queue by default, on PostgreSQL and RQ when the test run has ``DATABASE_URL`` and ``REDIS_URL``.
The workers get a database of their own (a SQLite file, or a fresh PostgreSQL database) and, on
RQ, a Redis database of their own, so no other test's worker takes their jobs. The test talks to
that database through this module's ``site_*`` functions, run in ``manage.py shell``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.media_clips import face_clip

ROOT = Path(__file__).resolve().parents[2]
# Small, so that the test takes seconds (the watchdog then checks every 2 s), yet long enough that a
# live worker's heartbeat, waiting on SQLite's write lock on a loaded machine, is never taken for
# a dead one's (at 3 s a second attempt once began before the first worker was killed).
STALLED_SECONDS = 8
# The Redis database the workers' RQ queue lives in; emptied before and after the test.
RECOVERY_REDIS_DB = 15
# A 10 s recording sampled every 0.2 s: 50 sampled times, a few seconds of work for a worker.
CLIP_SECONDS, SAMPLING_INTERVAL = 10, "0.2"
FINISHED = ("succeeded", "failed", "cancelled")
RECOVERED = re.compile(r"Queued again what a stopped worker had left: analys[ie]s ([\d, ]+)\.")


class Worker:
    """One ``manage.py media_worker`` process; what it prints goes to its log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "media_worker"], cwd=ROOT, env=env, stdout=output, stderr=output
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Site:
    """The project's database, media folder and job queue as its worker processes see them."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.workers: list[Worker] = []

    def manage(self, *arguments: str) -> str:
        command = [sys.executable, "manage.py", *arguments]
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def call(self, function: str, **arguments: Any) -> Any:
        """One of this module's ``site_*`` functions, run in the site's database; what it returned."""
        code = (
            f"import json; from tests.screenings.test_worker_recovery import {function}; "
            f"print(json.dumps({function}(**{arguments!r})))"
        )
        return json.loads(self.manage("shell", "--verbosity", "0", "-c", code).strip().splitlines()[-1])

    def start_worker(self) -> Worker:
        worker = Worker(self.env, self.folder / f"worker-{len(self.workers) + 1}.log")
        self.workers.append(worker)
        return worker


def site_recording_cut_off(clip: str, workers: dict[str, int], timeout: float) -> dict[str, Any]:
    """An organizer's lab recording, uploaded and handed to the queue; the worker that runs it
    (``workers``: log file to process id) killed with SIGKILL as soon as it has analysed part of it.

    Watched and killed from the one process, so that the job has no time to finish in between.
    """
    from django.core.files.uploadedfile import SimpleUploadedFile

    from screenings.analyses import jobs
    from tests.factories import OrganizerFactory, ScreeningFactory

    organizer = OrganizerFactory(username="olga")
    screening = ScreeningFactory(owner=organizer, sampling_interval=Decimal(SAMPLING_INTERVAL))
    video = SimpleUploadedFile("lab session.mp4", Path(clip).read_bytes(), content_type="video/mp4")
    analysis = jobs.analysis_create_recording(
        owner=organizer,
        screening=screening,
        video=video,
        offset=0.0,
        participant_label="Lab session 1",
        annotate_video=False,
    )
    row = site_analysis_when(analysis.pk, lambda row: row["status"] == "running" and row["progress"] > 0, timeout)
    started = f"media analysis {analysis.pk}: attempt 1 started"
    runners = [pid for log, pid in workers.items() if started in Path(log).read_text(errors="replace")]
    if row["status"] != "running" or len(runners) != 1:
        return {**row, "killed": []}
    os.kill(runners[0], signal.SIGKILL)
    return {**site_recording_samples(analysis.pk), "id": analysis.pk, "killed": runners}


def site_recording_finished(analysis_id: int, timeout: float) -> dict[str, Any]:
    """The recording's outcome once it succeeded, failed or was cancelled (or after ``timeout`` seconds)."""
    site_analysis_when(analysis_id, lambda row: False, timeout)
    return site_recording_samples(analysis_id)


def site_analysis_when(analysis_id: int, condition: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
    from screenings.models import MediaAnalysis

    deadline = time.monotonic() + timeout
    while True:
        row = MediaAnalysis.objects.values("id", "status", "progress", "attempts", "error").get(pk=analysis_id)
        if condition(row) or row["status"] in FINISHED or time.monotonic() > deadline:
            return row
        time.sleep(0.02)


def site_recording_samples(analysis_id: int) -> dict[str, Any]:
    """The recording's outcome: the analysis, and the participants and samples of its screening."""
    from screenings.models import EmotionSample, MediaAnalysis, Participant

    analysis = MediaAnalysis.objects.get(pk=analysis_id)
    samples = EmotionSample.objects.filter(screening_id=analysis.screening_id)
    return {
        "status": analysis.status,
        "progress": analysis.progress,
        "attempts": analysis.attempts,
        "error": analysis.error,
        "result": analysis.result,
        "participants": Participant.objects.filter(screening_id=analysis.screening_id).count(),
        "samples": samples.count(),
        "media_times": samples.values("participant_id", "media_time").distinct().count(),
    }


@contextmanager
def own_postgres_database(url: str) -> Iterator[str]:
    """A fresh, empty database beside the test run's, dropped afterwards; its URL."""
    import psycopg
    from psycopg import sql

    name = f"reactionsite_recovery_{uuid.uuid4().hex[:10]}"
    server = urlsplit(url)
    with psycopg.connect(server._replace(path="/postgres").geturl(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server._replace(path="/postgres").geturl(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def own_redis_database(url: str) -> Iterator[str]:
    import redis

    own = urlsplit(url)._replace(path=f"/{RECOVERY_REDIS_DB}").geturl()
    client = redis.Redis.from_url(own)
    client.flushdb()
    try:
        yield own
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def site(tmp_path) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    inherited = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "MEDIA_ROOT")}
    env = {
        **inherited,
        "SECRET_KEY": "worker-recovery-secret",
        "DEBUG": "0",
        "DATA_DIR": str(tmp_path / "data"),
        "DB_CONN_MAX_AGE": "0",
        "ANALYSIS_STALLED_SECONDS": str(STALLED_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    with ExitStack() as stack:
        database_url = env.pop("DATABASE_URL", "")
        if database_url.startswith(("postgres://", "postgresql://")):
            env["DATABASE_URL"] = stack.enter_context(own_postgres_database(database_url))
        if env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(own_redis_database(env["REDIS_URL"]))
        running = Site(env, tmp_path)
        running.manage("migrate", "--noinput")
        try:
            yield running
        finally:
            for worker in running.workers:
                worker.stop()


def test_a_job_whose_worker_was_killed_is_run_again_by_exactly_one_running_worker(site, tmp_path):
    clip = face_clip(tmp_path / "lab session.mp4", face_seconds=CLIP_SECONDS, blank_seconds=0)
    workers = [site.start_worker() for _ in range(3)]
    logs = {str(worker.log): worker.process.pid for worker in workers}
    running = site.call("site_recording_cut_off", clip=str(clip), workers=logs, timeout=120)
    assert (running["status"], running["attempts"], running["samples"]) == ("running", 1, 0), running
    analysis_id = running["id"]
    (first,) = [worker for worker in workers if [worker.process.pid] == running["killed"]]
    assert first.process.wait(timeout=10) == -signal.SIGKILL

    # The two others started before the job existed and found nothing stalled then: from here on
    # only their watchdogs can see that its heartbeat stopped.
    outcome = site.call("site_recording_finished", analysis_id=analysis_id, timeout=120)
    assert (outcome["status"], outcome["error"]) == ("succeeded", ""), outcome
    assert outcome["attempts"] == 2
    assert outcome["participants"] == 1
    sampled = outcome["result"]["sampled_times"]
    assert sampled == CLIP_SECONDS / float(SAMPLING_INTERVAL)
    assert outcome["samples"] == outcome["media_times"] == outcome["result"]["samples_stored"] == sampled

    survivors = [worker for worker in workers if worker is not first]
    for worker in survivors:
        worker.stop()
    recovered = [
        int(number)
        for worker in survivors
        for match in RECOVERED.finditer(worker.output())
        for number in match.group(1).split(", ")
    ]
    assert recovered == [analysis_id], [worker.output() for worker in survivors]
    second_runs = [
        worker for worker in survivors if f"media analysis {analysis_id}: attempt 2 started" in worker.output()
    ]
    assert len(second_runs) == 1
