"""Organizers' media analyses: uploaded images and videos, and participants' recorded videos.

An upload is stored and queued here (``analysis_create_*``); a background job runs it
(``analysis_run``, through ``screenings.analyses.tasks``) and writes its results into the analysis's
folder only when the whole job succeeded. The pages and the API read the ``MediaAnalysis``
row for status, progress, result and failure reason.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from screenings import services
from screenings.models import MediaAnalysis, Participant, Screening

logger = logging.getLogger(__name__)

Kind, Status = MediaAnalysis.Kind, MediaAnalysis.Status
RESULTS = "results"
# Progress is written to the database at most this often; each write also checks for a cancel.
PROGRESS_WRITE_SECONDS = 0.5
# Storing a recording's samples is the last part of its job.
RECORDING_ANALYSIS_SHARE = 0.95
OUTPUT_LABELS = {
    "timeline": ("Timeline (CSV)", "text/csv"),
    "table": ("Emotion by time table (CSV)", "text/csv"),
    "plot": ("Emotion vs time plot (PNG)", "image/png"),
    "video": ("Annotated video (MP4, H.264)", "video/mp4"),
    "summary": ("Summary (JSON)", "application/json"),
}


class AnalysisCancelled(Exception):
    """The organizer cancelled the analysis while it ran."""


class UploadRefused(ValueError):
    """An upload breaks a limit or a rule; the message says which, for the organizer."""


@dataclass(frozen=True)
class Progress:
    percent: int
    elapsed_seconds: float | None
    remaining_seconds: float | None


# Creating ---------------------------------------------------------------------------------


def _limit_bytes(megabytes: int) -> int:
    return megabytes * 1024 * 1024


def _check_size(upload: UploadedFile, *, megabytes: int) -> None:
    if upload.size is None or upload.size == 0:
        raise UploadRefused(f"{upload.name} is empty.")
    if upload.size > _limit_bytes(megabytes):
        raise UploadRefused(f"{upload.name} is larger than the limit of {megabytes} MB.")


def _safe_name(name: str) -> str:
    base = os.path.basename(name or "upload")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    return cleaned[:100]


def _store_inputs(folder: str, uploads: Sequence[UploadedFile]) -> list[dict[str, str]]:
    stored = []
    for number, upload in enumerate(uploads, start=1):
        name = default_storage.save(f"{folder}/input/{number:03d}-{_safe_name(upload.name or '')}", upload)
        stored.append({"name": upload.name or "", "path": name})
    return stored


def _create(*, owner: AbstractBaseUser, kind: str, uploads: Sequence[UploadedFile], **fields: Any) -> MediaAnalysis:
    folder = f"analyses/{uuid.uuid4().hex}"
    inputs = _store_inputs(folder, uploads)
    try:
        with transaction.atomic():
            analysis = MediaAnalysis.objects.create(
                owner=owner,
                kind=kind,
                folder=folder,
                inputs=inputs,
                title=", ".join(item["name"] for item in inputs)[:200],
                **fields,
            )
            transaction.on_commit(lambda: analysis_enqueue(analysis=analysis))
    except BaseException:
        _remove_folder(folder)
        raise
    return analysis


def analysis_create_images(*, owner: AbstractBaseUser, images: Sequence[UploadedFile]) -> MediaAnalysis:
    """Store uploaded images and queue their analysis: every face found, classified and drawn."""
    if not images:
        raise UploadRefused("Choose at least one image.")
    if len(images) > settings.ANALYSIS_MAX_IMAGES:
        raise UploadRefused(f"At most {settings.ANALYSIS_MAX_IMAGES} images per upload.")
    for image in images:
        _check_size(image, megabytes=settings.ANALYSIS_MAX_IMAGE_MEGABYTES)
    return _create(owner=owner, kind=Kind.IMAGES, uploads=images)


def check_interval(interval: float) -> float:
    """The engine's rule for sampling intervals (at least 0.1 s, finite), refused as an upload error."""
    from inference.video_analysis import sample_times

    try:
        sample_times(0.0, interval)
    except ValueError as error:
        raise UploadRefused(f"{str(error).capitalize()}.") from None
    return float(interval)


def analysis_create_video(
    *,
    owner: AbstractBaseUser,
    video: UploadedFile,
    interval: float,
    faces: str = MediaAnalysis.Faces.ALL,
    annotate_video: bool = True,
) -> MediaAnalysis:
    """Store an uploaded video and queue its analysis: a frame every ``interval`` seconds."""
    interval = check_interval(interval)
    _check_size(video, megabytes=settings.ANALYSIS_MAX_VIDEO_MEGABYTES)
    return _create(
        owner=owner,
        kind=Kind.VIDEO,
        uploads=[video],
        interval=interval,
        faces=faces,
        annotate_video=annotate_video,
    )


def analysis_create_recording(
    *,
    owner: AbstractBaseUser,
    screening: Screening,
    video: UploadedFile,
    offset: float,
    participant: Participant | None = None,
    participant_label: str = "",
    annotate_video: bool = True,
) -> MediaAnalysis:
    """Queue a participant's recorded video (e.g. a lab session filmed beside the screen).

    Frame ``t`` seconds into the video is stimulus time ``offset + t``; the recording is
    sampled at the screening's interval and its samples become the participant's, as live
    capture's do. Without ``participant``, one is created (labelled ``participant_label``)
    when the samples are stored, so a failed job leaves no empty participant behind.
    """
    if participant is not None:
        if participant.screening_id != screening.pk:
            raise UploadRefused("That participant is not in this screening.")
        if participant.erased_at is not None or participant.state in (
            Participant.State.WITHDRAWN,
            Participant.State.DECLINED,
        ):
            raise UploadRefused("That participant withdrew or declined; no samples can be added.")
    if offset != offset or abs(offset) == float("inf"):
        raise UploadRefused("The offset must be a number of seconds.")
    _check_size(video, megabytes=settings.ANALYSIS_MAX_VIDEO_MEGABYTES)
    return _create(
        owner=owner,
        kind=Kind.RECORDING,
        uploads=[video],
        interval=float(screening.sampling_interval),
        faces=MediaAnalysis.Faces.LARGEST,
        annotate_video=annotate_video,
        screening=screening,
        participant=participant,
        participant_label=participant_label[:200],
        offset=float(offset),
    )


def analysis_enqueue(*, analysis: MediaAnalysis) -> None:
    """Hand the analysis to the job queue (the database or RQ, see settings.TASKS)."""
    from screenings.analyses.tasks import run_media_analysis

    result = run_media_analysis.enqueue(analysis.pk)
    MediaAnalysis.objects.filter(pk=analysis.pk).update(task_id=str(result.id))


# Controlling ------------------------------------------------------------------------------


def analysis_cancel(*, analysis: MediaAnalysis) -> MediaAnalysis:
    """Cancel a queued analysis at once, or ask a running one to stop at its next progress report."""
    now = timezone.now()
    if MediaAnalysis.objects.filter(pk=analysis.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, cancel_requested=True, finished_at=now
    ):
        _remove_folder(f"{analysis.folder}/{RESULTS}")
    else:
        MediaAnalysis.objects.filter(pk=analysis.pk, status=Status.RUNNING).update(cancel_requested=True)
    analysis.refresh_from_db()
    return analysis


def analysis_delete(*, analysis: MediaAnalysis) -> None:
    """Delete an analysis and its files; a running one is cancelled first (its worker then finds no row)."""
    folder = analysis.folder
    analysis.delete()
    _remove_folder(folder)


def analyses_recover() -> list[MediaAnalysis]:
    """Queue again what a restart cut off: running analyses that stopped reporting progress,
    and queued ones whose job the queue no longer holds. Called when a worker starts."""
    from screenings.analyses.tasks import run_media_analysis

    stalled_since = timezone.now() - timedelta(seconds=settings.ANALYSIS_STALLED_SECONDS)
    MediaAnalysis.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stalled_since).update(
        status=Status.QUEUED, progress=0, started_at=None, heartbeat_at=None
    )
    recovered = []
    for analysis in MediaAnalysis.objects.filter(status=Status.QUEUED):
        if _job_waiting(run_media_analysis, analysis.task_id):
            continue
        analysis_enqueue(analysis=analysis)
        recovered.append(analysis)
    return recovered


def _job_waiting(task: Any, task_id: str) -> bool:
    from django_tasks.base import TaskResultStatus
    from django_tasks.exceptions import TaskResultDoesNotExist

    if not task_id:
        return False
    try:
        return task.get_result(task_id).status in (TaskResultStatus.READY, TaskResultStatus.RUNNING)
    except TaskResultDoesNotExist:
        return False


# Running ----------------------------------------------------------------------------------


class _ProgressReporter:
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


def analysis_run(*, analysis_id: int) -> None:
    """Run one queued analysis to the end: results stored and ``succeeded``, or ``failed`` with the
    reason, or ``cancelled``. Nothing of a failed or cancelled run is left in its folder."""
    from inference.images import InvalidImage
    from inference.video_analysis import InvalidVideo

    now = timezone.now()
    claimed = MediaAnalysis.objects.filter(pk=analysis_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, progress=0, attempts=F("attempts") + 1, error=""
    )
    if not claimed:
        # Cancelled or deleted while queued, or taken by another worker.
        return
    analysis = MediaAnalysis.objects.get(pk=analysis_id)
    results = Path(default_storage.path(f"{analysis.folder}/{RESULTS}"))
    # A run cut off by a restart may have left a finished results folder behind.
    shutil.rmtree(results, ignore_errors=True)
    runner = {Kind.IMAGES: _run_images, Kind.VIDEO: _run_video, Kind.RECORDING: _run_recording}[analysis.kind]
    try:
        changes = runner(analysis, results)
    except AnalysisCancelled:
        _finish(analysis_id, results, status=Status.CANCELLED)
    except (InvalidImage, InvalidVideo) as error:
        _finish(analysis_id, results, status=Status.FAILED, error=error.reason)
    except UploadRefused as error:
        _finish(analysis_id, results, status=Status.FAILED, error=str(error))
    except FileNotFoundError:
        _finish(analysis_id, results, status=Status.FAILED, error="The uploaded file is no longer there.")
    except Exception:
        logger.exception("media analysis %s failed", analysis_id)
        _finish(analysis_id, results, status=Status.FAILED, error="The analysis stopped on an unexpected error.")
        raise
    else:
        _finish(analysis_id, results, status=Status.SUCCEEDED, **changes)


def _finish(analysis_id: int, results: Path, *, status: str, **changes: Any) -> None:
    if status == Status.SUCCEEDED:
        changes["progress"] = 1.0
    else:
        shutil.rmtree(results, ignore_errors=True)
        changes.setdefault("outputs", [])
    MediaAnalysis.objects.filter(pk=analysis_id).update(status=status, finished_at=timezone.now(), **changes)


def _input_path(item: dict[str, str]) -> Path:
    return Path(default_storage.path(item["path"]))


def _output(results: Path, path: Path, identifier: str, label: str, content_type: str) -> dict[str, str]:
    return {
        "identifier": identifier,
        "name": path.relative_to(results).as_posix(),
        "label": label,
        "content_type": content_type,
    }


def _run_images(analysis: MediaAnalysis, results: Path) -> dict[str, Any]:
    from inference.image_analysis import analyze_image, unique_stems, write_image_outputs
    from inference.images import InvalidImage
    from inference.predictor import get_predictor

    predictor = get_predictor()
    progress = _ProgressReporter(analysis.pk)
    partial = _partial_folder(results)
    images, outputs = [], []
    stems = unique_stems([_safe_name(Path(item["name"]).stem) for item in analysis.inputs])
    try:
        for number, (item, stem) in enumerate(zip(analysis.inputs, stems, strict=True)):
            try:
                image = analyze_image(_input_path(item).read_bytes(), predictor=predictor)
            except InvalidImage as error:
                images.append({"name": item["name"], "error": error.reason})
            else:
                paths = write_image_outputs(image, partial, stem, source_name=item["name"])
                images.append({"name": item["name"], "png": f"{stem}.png", **image.as_dict()})
                for path in paths:
                    kind = "png" if path.suffix == ".png" else "json"
                    label = f"{item['name']}: annotated" if kind == "png" else f"{item['name']}: faces (JSON)"
                    content_type = "image/png" if kind == "png" else "application/json"
                    outputs.append(_output(partial, path, f"{stem}-{kind}", label, content_type))
            progress((number + 1) / len(analysis.inputs))
        if not any("error" not in image for image in images):
            reasons = "; ".join(f"{image['name']}: {image['error']}" for image in images)
            raise InvalidImage(f"No image could be read ({reasons}).")
        os.replace(partial, results)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    faces = sum(len(image.get("faces", [])) for image in images)
    message = "" if faces else "No face was found in any image."
    return {"result": {"images": images}, "outputs": outputs, "message": message}


def _partial_folder(results: Path) -> Path:
    partial = results.with_name(f"{results.name}.partial-{uuid.uuid4().hex[:8]}")
    partial.mkdir(parents=True)
    return partial


def _analyze_video(analysis: MediaAnalysis, results: Path, *, share: float = 1.0) -> Any:
    from inference.faces import FaceMode
    from inference.predictor import get_predictor
    from inference.video_analysis import analyze_video

    return analyze_video(
        _input_path(analysis.inputs[0]),
        results,
        interval=float(analysis.interval or 1),
        predictor=get_predictor(),
        face_mode=FaceMode(analysis.faces),
        annotate=analysis.annotate_video,
        progress=_ProgressReporter(analysis.pk, share=share),
        max_pixels=settings.ANALYSIS_MAX_VIDEO_PIXELS,
    )


def _video_outputs(video: Any, results: Path) -> list[dict[str, str]]:
    return [
        _output(results, path, identifier, *OUTPUT_LABELS[identifier])
        for identifier, path in video.files.items()
        if identifier in OUTPUT_LABELS
    ]


def _summary(video: Any) -> dict[str, Any]:
    info = video.info
    return {
        "duration": info.duration,
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "sampled_times": video.sampled_times,
        "rows": video.rows,
        "times_with_faces": video.times_with_faces,
    }


def _run_video(analysis: MediaAnalysis, results: Path) -> dict[str, Any]:
    video = _analyze_video(analysis, results)
    return {"result": _summary(video), "outputs": _video_outputs(video, results), "message": video.message}


def _run_recording(analysis: MediaAnalysis, results: Path) -> dict[str, Any]:
    from inference.predictor import get_predictor

    video = _analyze_video(analysis, results, share=RECORDING_ANALYSIS_SHARE)
    try:
        stored = _store_recording_samples(analysis, video.files["timeline"], model_version=get_predictor().version)
    except BaseException:
        shutil.rmtree(results, ignore_errors=True)
        raise
    summary = {**_summary(video), **stored}
    message = " ".join(part for part in (video.message, _recording_message(stored)) if part)
    return {
        "result": summary,
        "outputs": _video_outputs(video, results),
        "message": message,
        "participant_id": stored["participant_id"],
    }


def _recording_message(stored: dict[str, Any]) -> str:
    message = f"{stored['samples_stored']} samples added to the participant's timeline."
    if stored["samples_already_recorded"]:
        message += f" {stored['samples_already_recorded']} media times already had a sample and were kept as they were."
    if stored["samples_outside_stimulus"]:
        message += f" {stored['samples_outside_stimulus']} sampled times fell outside the stimulus and were left out."
    return message


def _store_recording_samples(analysis: MediaAnalysis, timeline: Path, *, model_version: str) -> dict[str, Any]:
    """The recording's rows as the participant's samples, all in one transaction: all or none."""
    from inference.video_analysis import read_timeline

    screening = Screening.objects.get(pk=analysis.screening_id)
    duration = screening.stimulus_duration
    offset = float(analysis.offset or 0)
    counts = {"samples_stored": 0, "samples_already_recorded": 0, "samples_outside_stimulus": 0}
    with transaction.atomic():
        participant = _recording_participant(analysis, screening)
        for row in read_timeline(timeline):
            if row.face not in (None, 0):
                continue
            media_time = round(offset + row.time, 3)
            if media_time < 0 or (duration is not None and media_time > duration):
                counts["samples_outside_stimulus"] += 1
                continue
            _, created = services.sample_record(
                participant=participant,
                media_time=media_time,
                probabilities=row.probabilities,
                face_box=row.box.as_tuple() if row.box is not None else None,
                model_version=model_version,
            )
            counts["samples_stored" if created else "samples_already_recorded"] += 1
    return {**counts, "participant_id": participant.pk}


def _recording_participant(analysis: MediaAnalysis, screening: Screening) -> Participant:
    if analysis.participant_id is not None:
        participant = Participant.objects.select_for_update().get(pk=analysis.participant_id)
        if participant.erased_at is not None or participant.state == Participant.State.WITHDRAWN:
            raise UploadRefused("The participant withdrew while the recording was analysed; nothing was stored.")
        return participant
    return services.participant_record(screening=screening, label=analysis.participant_label)


# Reading ----------------------------------------------------------------------------------


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


def analysis_output_path(analysis: MediaAnalysis, name: str) -> Path | None:
    """The file of a finished analysis's result ``name``; None unless it is one of its outputs."""
    if analysis.status != Status.SUCCEEDED or name not in {item["name"] for item in analysis.outputs}:
        return None
    path = Path(default_storage.path(f"{analysis.folder}/{RESULTS}/{name}"))
    return path if path.is_file() else None


def _remove_folder(folder: str) -> None:
    shutil.rmtree(default_storage.path(folder), ignore_errors=True)
