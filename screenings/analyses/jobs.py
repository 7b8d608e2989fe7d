"""Submitting and controlling media analyses: each upload is stored and queued, cancelled, deleted,
and queued again when its worker stopped (``analyses_recover``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist

from screenings.analyses.storage import UploadRefused, check_size, labelled_limits, remove_folder, safe_name
from screenings.analyses.tasks import run_media_analysis
from screenings.models import MediaAnalysis, Participant, Screening

Kind, Status = MediaAnalysis.Kind, MediaAnalysis.Status


def _store_inputs(folder: str, uploads: Sequence[UploadedFile]) -> list[dict[str, str]]:
    stored = []
    for number, upload in enumerate(uploads, start=1):
        name = default_storage.save(f"{folder}/input/{number:03d}-{safe_name(upload.name or '')}", upload)
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
        remove_folder(folder)
        raise
    return analysis


def analysis_create_images(*, owner: AbstractBaseUser, images: Sequence[UploadedFile]) -> MediaAnalysis:
    """Store uploaded images and queue their analysis: every face found, classified and drawn."""
    if not images:
        raise UploadRefused("Choose at least one image.")
    if len(images) > settings.ANALYSIS_MAX_IMAGES:
        raise UploadRefused(f"At most {settings.ANALYSIS_MAX_IMAGES} images per upload.")
    for image in images:
        check_size(image, megabytes=settings.ANALYSIS_MAX_IMAGE_MEGABYTES)
    return _create(owner=owner, kind=Kind.IMAGES, uploads=images)


def analysis_create_labelled(
    *, owner: AbstractBaseUser, archive: UploadedFile, detect_faces: bool = True
) -> MediaAnalysis:
    """Store a zip of labelled faces (a folder per emotion) and queue the served model's evaluation on it.

    The archive's directory is checked first (``inference.inspect_labelled_archive``: a zip, with
    emotion folders holding images, not too many, no zip bomb); a refused one stores nothing.
    """
    from inference import InvalidArchive, inspect_labelled_archive

    check_size(archive, megabytes=settings.ANALYSIS_MAX_LABELLED_MEGABYTES)
    try:
        inspect_labelled_archive(archive, limits=labelled_limits())
    except InvalidArchive as error:
        raise UploadRefused(f"{archive.name}: {error.reason}") from None
    archive.seek(0)
    return _create(owner=owner, kind=Kind.LABELLED, uploads=[archive], detect_faces=detect_faces)


def check_interval(interval: float) -> float:
    """The engine's rule for sampling intervals (at least 0.1 s, finite), refused as an upload error."""
    from inference import sample_times

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
    check_size(video, megabytes=settings.ANALYSIS_MAX_VIDEO_MEGABYTES)
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
    check_size(video, megabytes=settings.ANALYSIS_MAX_VIDEO_MEGABYTES)
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
    result = run_media_analysis.enqueue(analysis.pk)
    MediaAnalysis.objects.filter(pk=analysis.pk).update(task_id=str(result.id))


def analysis_cancel(*, analysis: MediaAnalysis) -> MediaAnalysis:
    """Cancel a queued analysis at once, or ask a running one to stop at its next progress report."""
    now = timezone.now()
    if MediaAnalysis.objects.filter(pk=analysis.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, cancel_requested=True, finished_at=now
    ):
        remove_folder(analysis.results_folder)
    else:
        MediaAnalysis.objects.filter(pk=analysis.pk, status=Status.RUNNING).update(cancel_requested=True)
    analysis.refresh_from_db()
    return analysis


def analysis_delete(*, analysis: MediaAnalysis) -> None:
    """Delete an analysis and its files; a running one is cancelled first (its worker then finds no row)."""
    folder = analysis.folder
    analysis.delete()
    remove_folder(folder)


def analyses_recover() -> list[MediaAnalysis]:
    """Queue again what stopped workers left behind, and return it.

    That is every running analysis whose heartbeat is older than ``ANALYSIS_STALLED_SECONDS``
    (its worker died: a live worker's watchdog keeps the heartbeat fresh), and every queued one
    whose job the queue no longer holds, or holds as started long ago by a worker that died
    before it claimed the analysis. Each worker calls this when it starts and then every few
    seconds (``screenings.analyses.watchdog``). Each analysis is taken by one conditional update
    of the row as it was read, so when several workers look at once exactly one queues it again.
    """
    stalled_since = timezone.now() - timedelta(seconds=settings.ANALYSIS_STALLED_SECONDS)
    recovered = []
    for analysis in _left_behind(stalled_since):
        if _take_for_recovery(analysis):
            analysis_enqueue(analysis=analysis)
            recovered.append(analysis)
    return recovered


def _left_behind(stalled_since: datetime) -> list[MediaAnalysis]:
    running = MediaAnalysis.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stalled_since)
    # A queued analysis is looked at only once it has been queued a while: the upload (and a
    # recovery) writes its job's id just after the row, and must not be raced to it.
    queued = MediaAnalysis.objects.filter(status=Status.QUEUED).filter(
        Q(heartbeat_at__lt=stalled_since) | Q(heartbeat_at__isnull=True, created_at__lt=stalled_since)
    )
    lost = [analysis for analysis in queued if not _job_waiting(analysis.task_id, stalled_since)]
    return [*running, *lost]


def _take_for_recovery(analysis: MediaAnalysis) -> bool:
    # The row exactly as it was read: a heartbeat, a claim or another worker's recovery since
    # then changes one of these, and this update then changes nothing. The heartbeat written
    # here keeps other workers off the queued row until its new job's id is in place.
    return bool(
        MediaAnalysis.objects.filter(
            pk=analysis.pk,
            status=analysis.status,
            attempts=analysis.attempts,
            task_id=analysis.task_id,
            heartbeat_at=analysis.heartbeat_at,
        ).update(status=Status.QUEUED, task_id="", progress=0, started_at=None, heartbeat_at=timezone.now())
    )


def _job_waiting(task_id: str, stalled_since: datetime) -> bool:
    if not task_id:
        return False
    try:
        result = run_media_analysis.get_result(task_id)
    except TaskResultDoesNotExist:
        return False
    if result.status == TaskResultStatus.READY:
        return True
    # A worker claims the analysis the moment it starts the job; a job started long ago whose
    # analysis is still queued belongs to a worker that died in between.
    started_at = result.started_at
    return result.status == TaskResultStatus.RUNNING and started_at is not None and started_at >= stalled_since
