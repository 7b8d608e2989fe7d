"""Running one media analysis in a worker: uploaded images and videos, participants' recorded videos, and the
served model's evaluation on a zip of labelled faces.

An upload is stored and queued by ``screenings.analyses.jobs``; a background job runs it
(``analysis_run``, through ``screenings.analyses.tasks``) and writes its results into the analysis's
folder only when the whole job succeeded. The pages and the API read the ``MediaAnalysis``
row for status, progress, result and failure reason.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inference import (
    LABELLED_OUTPUT_NAMES,
    AnalyzedImage,
    FaceMode,
    InvalidArchive,
    InvalidImage,
    InvalidVideo,
    LabelledEvaluation,
    analyze_images,
    analyze_video,
    evaluate_labelled_archive,
    get_predictor,
    read_timeline,
    write_labelled_outputs,
)
from screenings import services
from screenings.analyses.progress import AnalysisCancelled, AnalysisLost, ProgressReporter, run_kept_alive, this_run
from screenings.analyses.storage import UploadRefused, labelled_limits, safe_name
from screenings.models import MediaAnalysis, Participant, Screening

logger = logging.getLogger(__name__)

Kind, Status = MediaAnalysis.Kind, MediaAnalysis.Status
# Storing a recording's samples is the last part of its job.
RECORDING_ANALYSIS_SHARE = 0.95
OUTPUT_LABELS = {
    "timeline": ("Timeline (CSV)", "text/csv"),
    "table": ("Emotion by time table (CSV)", "text/csv"),
    "plot": ("Emotion vs time plot (PNG)", "image/png"),
    "video": ("Annotated video (MP4, H.264)", "video/mp4"),
    "summary": ("Summary (JSON)", "application/json"),
}
LABELLED_OUTPUT_LABELS = {
    "evaluation": ("Evaluation (JSON)", "application/json"),
    "classes": ("Precision, recall and F1 per emotion (CSV)", "text/csv"),
    "confusion": ("Confusion matrix (CSV)", "text/csv"),
    "images": ("Each image: its emotion and what the model read (CSV)", "text/csv"),
    "confusion_png": ("Confusion matrix (PNG)", "image/png"),
}


def analysis_run(*, analysis_id: int) -> None:
    """Run one queued analysis to the end: results stored and ``succeeded``, or ``failed`` with the
    reason, or ``cancelled``. Nothing of a failed or cancelled run is left in its folder.

    A run that loses the analysis on the way (deleted, or queued again because its worker was
    given up for dead) stops at its next write and changes nothing more of it.
    """
    analysis = _claim(analysis_id)
    if analysis is None:
        # Cancelled or deleted while queued, or taken by another worker.
        return
    logger.info("media analysis %s: attempt %s started", analysis.pk, analysis.attempts)
    with run_kept_alive(analysis.pk, analysis.attempts):
        _run(analysis)


def _claim(analysis_id: int) -> MediaAnalysis | None:
    now = timezone.now()
    claimed = MediaAnalysis.objects.filter(pk=analysis_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, progress=0, attempts=F("attempts") + 1, error=""
    )
    return MediaAnalysis.objects.get(pk=analysis_id) if claimed else None


def _run(analysis: MediaAnalysis) -> None:
    results = Path(default_storage.path(analysis.results_folder))
    # A run cut off by a restart may have left a finished results folder behind.
    shutil.rmtree(results, ignore_errors=True)
    runner = {
        Kind.IMAGES: _run_images,
        Kind.VIDEO: _run_video,
        Kind.RECORDING: _run_recording,
        Kind.LABELLED: _run_labelled,
    }[analysis.kind]
    try:
        changes = runner(analysis, results)
    except AnalysisLost:
        logger.warning(
            "media analysis %s: attempt %s stopped, the analysis was deleted or given to another run",
            analysis.pk,
            analysis.attempts,
        )
    except AnalysisCancelled:
        _finish(analysis, results, status=Status.CANCELLED)
    except (InvalidImage, InvalidVideo, InvalidArchive) as error:
        _finish(analysis, results, status=Status.FAILED, error=error.reason)
    except UploadRefused as error:
        _finish(analysis, results, status=Status.FAILED, error=str(error))
    except FileNotFoundError:
        _finish(analysis, results, status=Status.FAILED, error="The uploaded file is no longer there.")
    except Exception:
        logger.exception("media analysis %s failed", analysis.pk)
        _finish(analysis, results, status=Status.FAILED, error="The analysis stopped on an unexpected error.")
        raise
    else:
        _finish(analysis, results, status=Status.SUCCEEDED, **changes)


def _finish(analysis: MediaAnalysis, results: Path, *, status: str, **changes: Any) -> None:
    if status == Status.SUCCEEDED:
        changes["progress"] = 1.0
    else:
        changes.setdefault("outputs", [])
    finished = this_run(analysis.pk, analysis.attempts).update(status=status, finished_at=timezone.now(), **changes)
    # A run that lost the analysis leaves its folder alone: it is another run's now, or deleted.
    if finished and status != Status.SUCCEEDED:
        shutil.rmtree(results, ignore_errors=True)


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
    progress = ProgressReporter(analysis.pk, attempt=analysis.attempts)
    partial = _partial_folder(results)
    images, outputs = [], []
    names = [item["name"] for item in analysis.inputs]
    try:
        analysed = analyze_images(
            [_input_path(item) for item in analysis.inputs],
            partial,
            predictor=get_predictor(),
            source_names=names,
            stems=[safe_name(Path(name).stem) for name in names],
        )
        for number, image in enumerate(analysed):
            images.append(_image_result(image))
            outputs += _image_outputs(image, partial)
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


def _image_result(image: AnalyzedImage) -> dict[str, Any]:
    if image.analysis is None:
        return {"name": image.source_name, "error": image.error}
    return {"name": image.source_name, "png": f"{image.stem}.png", **image.analysis.as_dict()}


def _image_outputs(image: AnalyzedImage, partial: Path) -> list[dict[str, str]]:
    outputs = []
    for path in image.files:
        kind = "png" if path.suffix == ".png" else "json"
        label = f"{image.source_name}: annotated" if kind == "png" else f"{image.source_name}: faces (JSON)"
        content_type = "image/png" if kind == "png" else "application/json"
        outputs.append(_output(partial, path, f"{image.stem}-{kind}", label, content_type))
    return outputs


def _run_labelled(analysis: MediaAnalysis, results: Path) -> dict[str, Any]:
    partial = _partial_folder(results)
    try:
        evaluation = evaluate_labelled_archive(
            _input_path(analysis.inputs[0]),
            predictor=get_predictor(),
            detect_faces=analysis.detect_faces,
            limits=labelled_limits(),
            progress=ProgressReporter(analysis.pk, attempt=analysis.attempts),
        )
        files = write_labelled_outputs(evaluation, partial)
        os.replace(partial, results)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    outputs = [
        _output(results, results / LABELLED_OUTPUT_NAMES[identifier], identifier, *LABELLED_OUTPUT_LABELS[identifier])
        for identifier in files
    ]
    return {"result": evaluation.as_dict(), "outputs": outputs, "message": _labelled_message(evaluation)}


def _labelled_message(evaluation: LabelledEvaluation) -> str:
    notes = []
    if evaluation.unreadable:
        notes.append(f"{_counted(len(evaluation.unreadable), 'image')} could not be read (left out of the figures).")
    contents = evaluation.contents
    if contents.skipped_folders:
        folders = ", ".join(
            f"{folder} ({_counted(count, 'file')})" for folder, count in contents.skipped_folders.items()
        )
        notes.append(f"Folders that are none of the seven emotions were skipped: {folders}.")
    others = contents.loose_files + contents.other_files
    if others:
        notes.append(f"Skipped: {_counted(others, 'file')} outside the emotion folders, or not images.")
    return " ".join(notes)


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _partial_folder(results: Path) -> Path:
    partial = results.with_name(f"{results.name}.partial-{uuid.uuid4().hex[:8]}")
    partial.mkdir(parents=True)
    return partial


def _analyze_video(analysis: MediaAnalysis, results: Path, *, share: float = 1.0) -> Any:
    return analyze_video(
        _input_path(analysis.inputs[0]),
        results,
        interval=float(analysis.interval or 1),
        predictor=get_predictor(),
        face_mode=FaceMode(analysis.faces),
        annotate=analysis.annotate_video,
        progress=ProgressReporter(analysis.pk, attempt=analysis.attempts, share=share),
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
    video = _analyze_video(analysis, results, share=RECORDING_ANALYSIS_SHARE)
    try:
        stored = _store_recording_samples(analysis, video.files["timeline"], model_version=get_predictor().version)
    except AnalysisLost:
        # The results folder is another run's now: left as it is.
        raise
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
    screening = Screening.objects.get(pk=analysis.screening_id)
    duration = screening.stimulus_duration
    offset = float(analysis.offset or 0)
    counts = {"samples_stored": 0, "samples_already_recorded": 0, "samples_outside_stimulus": 0}
    with transaction.atomic():
        # First, so that a run that lost the analysis stores nothing, and so that no recovery can
        # queue it again while the samples go in (the update holds the row until the commit).
        if not this_run(analysis.pk, analysis.attempts).update(heartbeat_at=timezone.now()):
            raise AnalysisLost
        participant = _recording_participant(analysis, screening)
        # Kept with the samples: a run after a worker died between this commit and the end of the
        # job adds to the same participant, whose media times keep the samples they have, not to a new one.
        MediaAnalysis.objects.filter(pk=analysis.pk).update(participant=participant)
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
                looking_at_screen=row.looking_at_screen,
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
