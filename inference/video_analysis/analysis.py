"""analyze_video: one pass over the video, writing every output into a folder that appears whole."""

from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.faces import DetectionSettings, FaceMode, HaarSettings, YuNetSettings
from inference.predictor import EmotionPredictor, FaceResult
from inference.video_analysis.frames import AnnotatedVideo, FrameReader, Overlay, upright
from inference.video_analysis.probe import (
    DEFAULT_MAX_PIXELS_VIDEO,
    TRUNCATION_TOLERANCE,
    InvalidVideo,
    Scan,
    VideoInfo,
    probe,
    truncated_reason,
)
from inference.video_analysis.timeline import (
    TIME_TOLERANCE,
    TIMELINE_COLUMNS,
    sample_times,
    timeline_rows,
    write_plot,
    write_table,
)

# Recorded videos: the whole-frame search runs on a copy 320 pixels wide, where the cascade's
# smallest window (24 pixels) is a tenth of a 4:3 frame's height (48 pixels at 640x480; 13% of
# a 16:9 frame's); YuNet then looks closer at up to four doubtful faces. That costs a fraction
# of a search at full size with AUDIENCE_SETTINGS, and the search is, with classification, the
# largest cost of a video without an annotated copy (benchmarks/video_analysis_speed.py
# measures each stage).
VIDEO_SETTINGS = DetectionSettings(
    min_face_fraction=0.08, haar=HaarSettings(detect_width=320), yunet=YuNetSettings(detect_width=320, closer_looks=4)
)
NO_FACE_MESSAGE = "No face was found in any sampled frame."
PROGRESS_SECONDS = 0.25
# The share of the progress bar for the pass over the video; the rest is the table and plot.
PASS_SHARE = 0.97
# The timings stage of faces read in the decoder thread, at the same time as the other stages.
BESIDE_DECODING = "detect and classify (decoder thread, overlaps the rest)"


@dataclass(frozen=True)
class VideoAnalysis:
    """The finished analysis: the video's facts, where the files are, and how much was found."""

    info: VideoInfo
    out_dir: Path
    sampled_times: int
    rows: int
    times_with_faces: int
    message: str
    files: dict[str, Path]


def analyze_video(
    path: Path,
    out_dir: Path,
    *,
    interval: float,
    predictor: EmotionPredictor,
    face_mode: FaceMode = FaceMode.ALL,
    annotate: bool = True,
    progress: Callable[[float], None] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS_VIDEO,
    timings: dict[str, float] | None = None,
) -> VideoAnalysis:
    """Sample the video every ``interval`` seconds, classify every face, write the outputs into ``out_dir``.

    Each sampled time uses the first frame at or after it. ``out_dir`` must not exist or be
    empty; the files are written into a temporary sibling folder that becomes ``out_dir`` at
    the end. On any error (also one raised by ``progress``, which is how a caller cancels) the
    temporary folder is removed, ``out_dir`` is left as it was, and the error propagates.
    ``progress`` gets the fraction done (0 to 1) after every sample and about four times a
    second. ``timings``, when given, receives the seconds spent per stage (for the benchmark).

    Raises ``InvalidVideo`` for a file we cannot analyse (see ``probe_video``) or one whose
    frames stop or fail to decode well before its end, ``ValueError`` for a bad interval and
    ``FileExistsError`` when ``out_dir`` holds files.
    """
    path, out_dir = Path(path), Path(out_dir)
    sample_times(0.0, interval)
    check_out_dir(out_dir)
    tolerance = max(2 * interval, TRUNCATION_TOLERANCE)
    info, scan = probe(path, max_pixels=max_pixels, tolerance=tolerance)
    times = sample_times(info.duration, interval)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent))
    # mkdtemp makes the folder private to its owner; the results are as readable as any other folder.
    partial.chmod(0o755)
    try:
        job = _Job(
            path=path,
            partial=partial,
            info=info,
            scan=scan,
            times=times,
            tolerance=tolerance,
            predictor=predictor,
            face_mode=face_mode,
            annotate=annotate,
            progress=progress,
            timings=timings if timings is not None else {},
        )
        job.run()
        _write_summary(job, partial / "summary.json", interval=interval)
        job.report(1.0, force=True)
        if out_dir.exists():
            out_dir.rmdir()
        os.rename(partial, out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    files = {key: out_dir / name for key, name in job.file_names().items()}
    return VideoAnalysis(info, out_dir, job.sampled, job.rows, job.times_with_faces, job.message(), files)


def check_out_dir(out_dir: Path) -> None:
    """Raise ``FileExistsError`` unless ``out_dir`` is absent or an empty folder, as ``analyze_video`` needs."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"{out_dir} already exists and is not an empty folder")


class _Job:
    """One pass over the video: sampling, classification, timeline rows and the annotated copy."""

    def __init__(
        self,
        *,
        path: Path,
        partial: Path,
        info: VideoInfo,
        scan: Scan,
        times: list[float],
        tolerance: float,
        predictor: EmotionPredictor,
        face_mode: FaceMode,
        annotate: bool,
        progress: Callable[[float], None] | None,
        timings: dict[str, float],
    ) -> None:
        self.path, self.partial, self.info, self.scan, self.times = path, partial, info, scan, times
        self.tolerance, self.predictor, self.face_mode, self.annotate = tolerance, predictor, face_mode, annotate
        self.progress, self.timings = progress, timings
        self.sampled = self.rows = self.times_with_faces = 0
        self.source_name = path.name
        self._reported, self._reported_at = 0.0, time.monotonic()
        for stage in ("decode", "detect and classify", "draw", "encode", "table and plot"):
            timings.setdefault(stage, 0.0)

    def file_names(self) -> dict[str, str]:
        names = {"timeline": "timeline.csv", "table": "table.csv", "plot": "timeline.png"}
        if self.annotate:
            names["video"] = "annotated.mp4"
        return {**names, "summary": "summary.json"}

    def message(self) -> str:
        if self.times_with_faces == 0:
            return NO_FACE_MESSAGE
        return f"Faces were found at {self.times_with_faces} of {self.sampled} sampled times."

    def report(self, fraction: float, *, force: bool = False) -> None:
        """Tell the caller how far the job is, after every sample (force) and at least every quarter second."""
        now = time.monotonic()
        if self.progress is None or not (force or now - self._reported_at >= PROGRESS_SECONDS):
            return
        self._reported = max(self._reported, min(1.0, fraction))
        self._reported_at = now
        self.progress(self._reported)

    def run(self) -> None:
        timeline = self.partial / "timeline.csv"
        with timeline.open("w", newline="", encoding="utf-8") as handle:
            rows = csv.writer(handle)
            rows.writerow(TIMELINE_COLUMNS)
            encoder = AnnotatedVideo(self.partial / "annotated.mp4", self.scan) if self.annotate else None
            try:
                self._pass(rows, encoder)
            except BaseException:
                if encoder is not None:
                    encoder.abandon()
                raise
            if encoder is not None:
                started = time.perf_counter()
                encoder.close()
                self.timings["encode"] += time.perf_counter() - started
        started = time.perf_counter()
        write_table(timeline, self.partial / "table.csv")
        self.report(PASS_SHARE + (1 - PASS_SHARE) / 2)
        write_plot(timeline, self.partial / "timeline.png", title_note=self._plot_note())
        self.timings["table and plot"] += time.perf_counter() - started

    def _plot_note(self) -> str:
        return "no face was found in any sampled frame" if self.times_with_faces == 0 else ""

    def _pass(self, rows: Any, encoder: AnnotatedVideo | None) -> None:
        times, next_sample = self.times, 0
        overlay: Overlay | None = None
        last_frame, last_seconds, last_faces = None, None, None
        reader = FrameReader(
            self.path,
            self.scan,
            times=times,
            duration=self.info.duration,
            tolerance=self.tolerance,
            only_sampled=encoder is None,
            # With frames to encode, faces are read in the decoder thread while this one encodes
            # (the two halves of the work in benchmarks/video_analysis_speed.py); without, decoding runs
            # beside the reading here.
            classify=functools.partial(self._classify, stage=BESIDE_DECODING) if encoder is not None else None,
            timings=self.timings,
        )
        with reader:
            for frame, seconds, found in reader:
                if frame is None:
                    self.report(PASS_SHARE * min(1.0, seconds / self.info.duration))
                    continue
                due = []
                while next_sample < len(times) and seconds + TIME_TOLERANCE >= times[next_sample]:
                    due.append(times[next_sample])
                    next_sample += 1
                faces = None
                if due:
                    faces = found if found is not None else self._classify(frame)
                    for moment in due:
                        self._write_rows(rows, moment, faces)
                    if encoder is not None:
                        overlay = self._overlay(faces)
                if encoder is not None:
                    started = time.perf_counter()
                    encoder.write(frame, overlay)
                    self.timings["encode"] += time.perf_counter() - started
                last_frame, last_seconds, last_faces = frame, seconds, faces
                self.report(PASS_SHARE * min(1.0, seconds / self.info.duration), force=bool(due))
        if next_sample < len(times):
            self._finish_tail(rows, times[next_sample:], last_frame, last_seconds, last_faces)

    def _finish_tail(
        self,
        rows: Any,
        remaining: list[float],
        last_frame: Any,
        last_seconds: float | None,
        last_faces: list[FaceResult] | None,
    ) -> None:
        """Sampled times after the last frame's timestamp: that frame is still on screen, or the video is cut short."""
        if last_frame is None or last_seconds is None:
            raise InvalidVideo("no frame of the video could be decoded")
        frames_end = last_seconds + self._frame_step()
        if self.info.duration - frames_end > self.tolerance:
            raise InvalidVideo(truncated_reason(frames_end, self.info.duration))
        faces = last_faces if last_faces is not None else self._classify(last_frame)
        # Times past the last frame's end have no picture; they are left out rather than called empty.
        for moment in remaining:
            if moment < frames_end - TIME_TOLERANCE:
                self._write_rows(rows, moment, faces)

    def _frame_step(self) -> float:
        return float(1 / self.scan.rate) if self.scan.rate else 0.0

    def _classify(self, frame: Any, *, stage: str = "detect and classify") -> list[FaceResult]:
        started = time.perf_counter()
        grey = upright(frame.to_ndarray(format="gray"), self.scan.rotation)
        [faces] = self.predictor.predict([grey], mode=self.face_mode, settings=VIDEO_SETTINGS)
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started
        return faces

    def _overlay(self, faces: list[FaceResult]) -> Overlay | None:
        if not faces:
            return None
        started = time.perf_counter()
        overlay = Overlay.build(faces, self.scan)
        self.timings["draw"] += time.perf_counter() - started
        return overlay

    def _write_rows(self, rows: Any, moment: float, faces: list[FaceResult]) -> None:
        self.sampled += 1
        if faces:
            self.times_with_faces += 1
        for row in timeline_rows(moment, faces):
            rows.writerow(row.as_record())
            self.rows += 1


def _write_summary(job: _Job, path: Path, *, interval: float) -> None:
    info = job.info
    summary = {
        "source": job.source_name,
        "duration": info.duration,
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "codec": info.codec,
        "interval": interval,
        "face_mode": job.face_mode.value,
        "sampled_times": job.sampled,
        "rows": job.rows,
        "times_with_faces": job.times_with_faces,
        "model_version": job.predictor.version,
        "annotated_video": job.annotate,
        "message": job.message(),
    }
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
