"""Media analysis jobs: queued, run by the worker, their progress, results, failures and cancels."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from screenings import selectors
from screenings.analyses import jobs, runner, storage
from screenings.analyses.progress import Progress, ProgressReporter, analysis_progress, run_kept_alive
from screenings.analyses.watchdog import Watchdog
from screenings.models import EmotionSample, MediaAnalysis, Participant
from tests.media_clips import astronaut_rgb, blank_rgb, face_clip, jpeg_bytes, write_clip

pytestmark = pytest.mark.django_db
Status = MediaAnalysis.Status


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def video_upload(path: Path) -> SimpleUploadedFile:
    return upload(path.name, path.read_bytes(), "video/mp4")


def run(analysis: MediaAnalysis) -> MediaAnalysis:
    runner.analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    return analysis


def folder_files(analysis: MediaAnalysis) -> list[str]:
    root = Path(default_storage.path(analysis.folder))
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


@pytest.fixture
def clip(tmp_path) -> Path:  # type: ignore[no-untyped-def]
    return face_clip(tmp_path / "lab session.mp4")


def test_it_analyses_every_image_of_an_upload(organizer):
    analysis = jobs.analysis_create_images(
        owner=organizer,
        images=[upload("astronaut.jpg", jpeg_bytes(astronaut_rgb())), upload("wall.jpg", jpeg_bytes(blank_rgb()))],
    )
    assert analysis.status == Status.QUEUED
    analysis = run(analysis)
    assert analysis.status == Status.SUCCEEDED
    astronaut, wall = analysis.result["images"]
    assert len(astronaut["faces"]) == 1
    assert wall["faces"] == []
    assert {"astronaut.png", "astronaut.json", "wall.png", "wall.json"} <= {item["name"] for item in analysis.outputs}
    assert selectors.analysis_output_path(analysis, "astronaut.png").read_bytes().startswith(b"\x89PNG")
    assert analysis.progress == 1.0


def test_it_reports_an_unreadable_image_and_keeps_the_others(organizer):
    analysis = jobs.analysis_create_images(
        owner=organizer,
        images=[upload("astronaut.jpg", jpeg_bytes(astronaut_rgb())), upload("notes.jpg", b"not an image at all")],
    )
    analysis = run(analysis)
    assert analysis.status == Status.SUCCEEDED
    assert analysis.result["images"][1]["error"] == "the data is not an image in a known format"
    assert not any(item["name"].startswith("notes") for item in analysis.outputs)


def test_it_fails_when_no_image_can_be_read(organizer):
    analysis = run(jobs.analysis_create_images(owner=organizer, images=[upload("a.png", b"\x89PNG broken")]))
    assert analysis.status == Status.FAILED
    assert "No image could be read" in analysis.error
    assert analysis.outputs == []
    assert all(name.startswith("input/") for name in folder_files(analysis))


def test_it_gives_two_images_of_the_same_name_their_own_results(organizer):
    face = jpeg_bytes(astronaut_rgb())
    analysis = jobs.analysis_create_images(owner=organizer, images=[upload("face.jpg", face), upload("face.jpg", face)])
    analysis = run(analysis)
    assert [image["png"] for image in analysis.result["images"]] == ["face.png", "face-2.png"]


def test_it_analyses_a_video_into_its_timeline_and_files(organizer, clip):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=0.5)
    analysis = run(analysis)
    assert analysis.status == Status.SUCCEEDED, analysis.error
    assert analysis.result["sampled_times"] == 6
    assert analysis.result["times_with_faces"] == 4
    assert {item["identifier"] for item in analysis.outputs} == {"timeline", "table", "plot", "video", "summary"}
    timeline = selectors.analysis_output_path(analysis, "timeline.csv").read_text().splitlines()
    assert [float(row.split(",")[0]) for row in timeline[1:]] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_it_can_leave_out_the_annotated_video(organizer, clip):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1, annotate_video=False)
    analysis = run(analysis)
    assert "video" not in {item["identifier"] for item in analysis.outputs}


def test_a_video_without_faces_succeeds_with_a_message(organizer, tmp_path):
    path = write_clip(tmp_path / "wall.mp4", [blank_rgb()] * 20)
    analysis = run(jobs.analysis_create_video(owner=organizer, video=video_upload(path), interval=1))
    assert analysis.status == Status.SUCCEEDED
    assert analysis.message == "No face was found in any sampled frame."
    assert analysis.result["times_with_faces"] == 0


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.mp4", b"these are my notes, not a video" * 10, "not a video"),
        ("photo.mp4", None, "not a video"),
    ],
)
def test_a_file_that_is_not_a_video_fails_with_its_reason_and_leaves_no_results(organizer, name, content, reason):
    content = content if content is not None else jpeg_bytes(astronaut_rgb())
    analysis = run(jobs.analysis_create_video(owner=organizer, video=upload(name, content), interval=1))
    assert analysis.status == Status.FAILED
    assert reason in analysis.error.lower()
    assert analysis.outputs == []
    assert all(name.startswith("input/") for name in folder_files(analysis))


def test_a_truncated_video_fails_and_leaves_no_results(organizer, tmp_path):
    whole = write_clip(tmp_path / "long.mp4", [astronaut_rgb()] * 60).read_bytes()
    analysis = run(
        jobs.analysis_create_video(owner=organizer, video=upload("cut.mp4", whole[: len(whole) // 2]), interval=1)
    )
    assert analysis.status == Status.FAILED
    assert analysis.error
    assert all(name.startswith("input/") for name in folder_files(analysis))


def test_a_video_over_the_resolution_limit_fails(organizer, clip, settings):
    settings.ANALYSIS_MAX_VIDEO_PIXELS = 160 * 120
    analysis = run(jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1))
    assert analysis.status == Status.FAILED
    assert "320x240" in analysis.error


@pytest.mark.parametrize("interval", [0, -1, 0.05, float("nan"), float("inf")])
def test_it_refuses_an_interval_below_a_tenth_of_a_second(organizer, clip, interval):
    with pytest.raises(storage.UploadRefused, match=r"at least 0\.1"):
        jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=interval)
    assert not MediaAnalysis.objects.exists()


def test_it_refuses_uploads_over_the_size_limits_before_storing_them(organizer, settings):
    settings.ANALYSIS_MAX_IMAGE_MEGABYTES = 1
    big = upload("big.jpg", bytes(1024 * 1024 + 1))
    with pytest.raises(storage.UploadRefused, match="larger than the limit of 1 MB"):
        jobs.analysis_create_images(owner=organizer, images=[big])
    settings.ANALYSIS_MAX_IMAGES = 2
    small = jpeg_bytes(astronaut_rgb())
    with pytest.raises(storage.UploadRefused, match="At most 2 images"):
        jobs.analysis_create_images(owner=organizer, images=[upload(f"{n}.jpg", small) for n in range(3)])
    with pytest.raises(storage.UploadRefused, match="is empty"):
        jobs.analysis_create_video(owner=organizer, video=upload("empty.mp4", b""), interval=1)
    assert not MediaAnalysis.objects.exists()
    assert not Path(default_storage.path("analyses")).exists()


def test_cancelling_a_queued_analysis_means_it_never_runs(organizer, clip):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    analysis = jobs.analysis_cancel(analysis=analysis)
    assert analysis.status == Status.CANCELLED
    analysis = run(analysis)
    assert analysis.status == Status.CANCELLED
    assert analysis.started_at is None


def test_cancelling_a_running_analysis_stops_it_at_its_next_progress_report(organizer, clip, monkeypatch):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=0.5)
    reports = []

    def cancel_on_first_report(self, fraction):  # type: ignore[no-untyped-def]
        reports.append(fraction)
        if len(reports) == 1:
            jobs.analysis_cancel(analysis=MediaAnalysis.objects.get(pk=self.analysis_id))
        return original(self, fraction)

    original = ProgressReporter.__call__
    monkeypatch.setattr(ProgressReporter, "__call__", cancel_on_first_report)
    analysis = run(analysis)
    assert analysis.status == Status.CANCELLED
    assert len(reports) == 1
    assert analysis.outputs == []
    assert all(name.startswith("input/") for name in folder_files(analysis))


def test_progress_gives_percent_elapsed_and_remaining_time(organizer, clip):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    assert analysis_progress(analysis) == Progress(0, None, None)
    analysis.status, analysis.progress = Status.RUNNING, 0.25
    analysis.started_at = timezone.now() - timedelta(seconds=30)
    progress = analysis_progress(analysis)
    assert progress.percent == 25
    assert progress.elapsed_seconds == pytest.approx(30, abs=2)
    assert progress.remaining_seconds == pytest.approx(90, abs=6)


def test_a_running_analysis_writes_its_progress_as_it_goes(organizer, clip, monkeypatch):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=0.5)
    seen = []
    original = ProgressReporter.__call__

    def record(self, fraction):  # type: ignore[no-untyped-def]
        self.last_write = 0.0  # write every report, however quick the clip
        original(self, fraction)
        seen.append(MediaAnalysis.objects.values_list("status", "progress").get(pk=self.analysis_id))

    monkeypatch.setattr(ProgressReporter, "__call__", record)
    run(analysis)
    assert all(status == Status.RUNNING for status, _ in seen)
    fractions = [progress for _, progress in seen]
    assert fractions == sorted(fractions)
    assert any(0 < fraction < 1 for fraction in fractions)
    assert fractions[-1] == 1.0


def test_deleting_an_analysis_removes_its_files(organizer, clip):
    analysis = run(jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1))
    folder = Path(default_storage.path(analysis.folder))
    assert folder.exists()
    jobs.analysis_delete(analysis=analysis)
    assert not folder.exists()
    assert not MediaAnalysis.objects.exists()


def test_an_analysis_a_restart_cut_off_is_queued_again_when_a_worker_starts(organizer, clip, settings):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    stale = timezone.now() - timedelta(seconds=settings.ANALYSIS_STALLED_SECONDS + 1)
    MediaAnalysis.objects.filter(pk=analysis.pk).update(status=Status.RUNNING, started_at=stale, heartbeat_at=stale)
    recovered = jobs.analyses_recover()
    assert [item.pk for item in recovered] == [analysis.pk]
    analysis.refresh_from_db()
    assert analysis.status == Status.QUEUED
    assert analysis.task_id


def test_a_running_analysis_that_still_reports_progress_is_left_alone(organizer, clip):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    now = timezone.now()
    MediaAnalysis.objects.filter(pk=analysis.pk).update(status=Status.RUNNING, started_at=now, heartbeat_at=now)
    assert jobs.analyses_recover() == []
    analysis.refresh_from_db()
    assert analysis.status == Status.RUNNING


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_queued_analyses_from_the_job_queue(organizer, clip):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    analysis.refresh_from_db()
    assert analysis.task_id, "the upload was handed to the job queue when it was stored"
    call_command("media_worker", batch=True)
    analysis.refresh_from_db()
    assert analysis.status == Status.SUCCEEDED, analysis.error
    assert analysis.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_an_analysis_whose_worker_died_mid_run_is_finished_by_the_next_worker(organizer, clip, settings):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    # The first worker claimed it, then the machine restarted: no progress since.
    stale = timezone.now() - timedelta(seconds=settings.ANALYSIS_STALLED_SECONDS + 1)
    MediaAnalysis.objects.filter(pk=analysis.pk).update(
        status=Status.RUNNING, started_at=stale, heartbeat_at=stale, progress=0.4, attempts=1
    )
    call_command("media_worker", batch=True)
    analysis.refresh_from_db()
    assert analysis.status == Status.SUCCEEDED, analysis.error
    assert analysis.attempts == 2


def stall(analysis: MediaAnalysis, seconds: float) -> None:
    """As if the analysis's worker had stopped ``seconds`` ago, mid-run."""
    stale = timezone.now() - timedelta(seconds=seconds)
    MediaAnalysis.objects.filter(pk=analysis.pk).update(status=Status.RUNNING, started_at=stale, heartbeat_at=stale)


def test_a_stalled_analysis_is_queued_again_once_however_many_workers_look(organizer, clip, settings):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    stall(analysis, settings.ANALYSIS_STALLED_SECONDS + 1)
    assert [item.pk for item in jobs.analyses_recover()] == [analysis.pk]
    assert jobs.analyses_recover() == []
    analysis.refresh_from_db()
    assert (analysis.status, analysis.progress, analysis.started_at) == (Status.QUEUED, 0, None)


def test_a_queued_analysis_whose_job_the_queue_lost_is_queued_again_once_it_waited_a_while(organizer, clip, settings):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    # Just stored: its job's id is written right after the row, and recovery must not race it.
    assert jobs.analyses_recover() == []
    long_ago = timezone.now() - timedelta(seconds=settings.ANALYSIS_STALLED_SECONDS + 1)
    MediaAnalysis.objects.filter(pk=analysis.pk).update(created_at=long_ago, task_id="no-such-job")
    assert [item.pk for item in jobs.analyses_recover()] == [analysis.pk]
    analysis.refresh_from_db()
    assert analysis.task_id not in ("", "no-such-job")
    assert jobs.analyses_recover() == [], "its new job waits in the queue"


def test_the_watchdog_keeps_its_workers_runs_alive_and_queues_again_the_others(organizer, clip, settings):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=1)
    stall(analysis, settings.ANALYSIS_STALLED_SECONDS + 1)
    MediaAnalysis.objects.filter(pk=analysis.pk).update(attempts=1)
    recovered: list[MediaAnalysis] = []
    watchdog = Watchdog(report=recovered.extend)
    with run_kept_alive(analysis.pk, 1):
        # This worker runs it, however long since its last progress report: the heartbeat is renewed.
        watchdog.check()
    analysis.refresh_from_db()
    assert recovered == []
    assert analysis.status == Status.RUNNING
    assert timezone.now() - analysis.heartbeat_at < timedelta(seconds=5)
    stall(analysis, settings.ANALYSIS_STALLED_SECONDS + 1)
    watchdog.check()
    assert [item.pk for item in recovered] == [analysis.pk]


def test_a_run_given_up_for_dead_stops_at_its_next_report_and_leaves_the_analysis_to_the_next_run(
    organizer, clip, settings, monkeypatch
):
    analysis = jobs.analysis_create_video(owner=organizer, video=video_upload(clip), interval=0.5)
    original = ProgressReporter.__call__
    taken_over = []

    def stall_and_run_again_on_first_report(self, fraction):  # type: ignore[no-untyped-def]
        if not taken_over:
            taken_over.append(self.attempt)
            # The first run's worker froze past the stall limit: a watchdog queued the analysis
            # again and another worker ran it to the end, while the first run still held it.
            stall(MediaAnalysis.objects.get(pk=self.analysis_id), settings.ANALYSIS_STALLED_SECONDS + 1)
            assert len(jobs.analyses_recover()) == 1
            runner.analysis_run(analysis_id=self.analysis_id)
        return original(self, fraction)

    monkeypatch.setattr(ProgressReporter, "__call__", stall_and_run_again_on_first_report)
    analysis = run(analysis)
    assert taken_over == [1]
    assert (analysis.status, analysis.attempts, analysis.error) == (Status.SUCCEEDED, 2, "")
    assert {item["identifier"] for item in analysis.outputs} == {"timeline", "table", "plot", "video", "summary"}
    assert selectors.analysis_output_path(analysis, "timeline.csv").read_text().startswith("time,face,")


class WorkerKilled(BaseException):
    """Stands for the worker's death at one exact point of a run."""


def test_a_recording_run_again_after_its_worker_died_past_storing_adds_no_sample_and_no_participant(
    organizer, screening, clip, settings, monkeypatch
):
    video = video_upload(clip)
    analysis = jobs.analysis_create_recording(
        owner=organizer, screening=screening, video=video, offset=0.0, participant_label="Lab session 1"
    )

    def die(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise WorkerKilled

    # The worker dies after the samples were committed, before the analysis was marked done.
    monkeypatch.setattr(runner, "_finish", die)
    with pytest.raises(WorkerKilled):
        runner.analysis_run(analysis_id=analysis.pk)
    monkeypatch.undo()
    assert EmotionSample.objects.filter(screening=screening).count() == 3
    analysis.refresh_from_db()
    stall(analysis, settings.ANALYSIS_STALLED_SECONDS + 1)
    assert [item.pk for item in jobs.analyses_recover()] == [analysis.pk]
    analysis = run(analysis)
    assert (analysis.status, analysis.attempts) == (Status.SUCCEEDED, 2)
    assert Participant.objects.filter(screening=screening).count() == 1
    assert EmotionSample.objects.filter(screening=screening).count() == 3
    assert analysis.participant.samples.count() == 3
    assert (analysis.result["samples_stored"], analysis.result["samples_already_recorded"]) == (0, 3)
