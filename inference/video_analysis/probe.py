"""Probing a video file: is it a video we can analyse, and what does it hold."""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

# 3840x2160 (4K UHD): every phone and camera recording passes, an 8K one does not.
DEFAULT_MAX_PIXELS_VIDEO = 3840 * 2160
# Frames may stop this much before the stated duration (containers round, audio may run
# longer) before the video counts as truncated; analyze_video allows two intervals when longer.
TRUNCATION_TOLERANCE = 1.0
# Demuxers that open a single picture as a one-frame "video".
STILL_IMAGE_FORMATS = frozenset({"image2", "tty", "webp_pipe"})


class InvalidVideo(ValueError):
    """The file is not a video we can analyse; ``reason`` says why in words for the organizer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    """What the container says of its video: seconds, upright picture size, frames a second, codec name."""

    duration: float
    width: int
    height: int
    fps: float
    codec: str


@dataclass(frozen=True)
class Scan:
    """What one demux pass over the video stream found, beyond what the header says."""

    stream_index: int
    start: float  # the first frame's presentation time, in the stream's own seconds
    frames_end: float  # where the last frame ends, in seconds from the first frame
    keyframes: array  # keyframe times from the first frame, in order; empty when not all are known
    rotation: int  # degrees counter-clockwise that turn a stored frame upright
    stored_width: int
    stored_height: int
    time_base: Fraction
    rate: Fraction


def probe_video(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS_VIDEO) -> VideoInfo:
    """Check that the file is a video we can analyse and return its facts.

    Reads every packet of the video stream (not decoding them: a second or two for a large
    file) and decodes the first frame. Raises ``InvalidVideo`` for an empty file, a file that
    is not a video (text, a still picture, audio alone), a corrupt container, a video without
    duration or decodable frame, one over ``max_pixels``, or one whose frames stop well before
    its stated duration (truncated).
    """
    return probe(Path(path), max_pixels=max_pixels, tolerance=TRUNCATION_TOLERANCE)[0]


def probe(path: Path, *, max_pixels: int, tolerance: float) -> tuple[VideoInfo, Scan]:
    """``probe_video`` with the truncation allowance given, and the scan the analysis needs as well."""
    import av

    if path.stat().st_size == 0:
        raise InvalidVideo("the file is empty")
    try:
        container = av.open(str(path), metadata_errors="replace")
    except av.FFmpegError:
        raise InvalidVideo("the file is not a video in a format we can read, or it is damaged") from None
    with container:
        if container.format.name in STILL_IMAGE_FORMATS or container.format.name.endswith("_pipe"):
            raise InvalidVideo("the file is a still picture, not a video")
        stream = _video_stream(container)
        if stream is None:
            raise InvalidVideo("the file has no video track")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width < 1 or height < 1:
            raise InvalidVideo("the video has no picture size")
        if width * height > max_pixels:
            raise InvalidVideo(f"the video is {width}x{height}; the limit is {_pixels_in_words(max_pixels)}")
        scan = _scan(container, stream)
        stated = _stated_duration(container, stream)
        duration = stated if stated is not None else scan.frames_end
        if not duration > 0:
            raise InvalidVideo("the video has no duration (a single picture?)")
        if duration - scan.frames_end > tolerance:
            raise InvalidVideo(truncated_reason(scan.frames_end, duration))
        upright = (height, width) if scan.rotation % 180 else (width, height)
        fps = float(scan.rate) if scan.rate else 0.0
        info = VideoInfo(duration, upright[0], upright[1], fps, stream.codec_context.name)
        return info, scan


def video_duration(path: Path) -> float | None:
    """The video's stated length in seconds, as ``probe_video`` reads it; None when the file states none.

    The one rule for a video's duration: the video stream's own length, else the container's,
    which includes audio that may run past the last frame. It reads only the header, so it is
    quick enough for an upload; ``probe_video`` also scans the frames (and falls back to where
    they end). Raises ``InvalidVideo`` when the file cannot be opened as a video.
    """
    import av

    try:
        container = av.open(str(path), metadata_errors="replace")
    except (av.FFmpegError, OSError):
        raise InvalidVideo("the file is not a video in a format we can read, or it is damaged") from None
    with container:
        stream = _video_stream(container)
        if stream is None:
            raise InvalidVideo("the file has no video track")
        return _stated_duration(container, stream)


def _video_stream(container: Any) -> Any:
    import av

    for stream in container.streams.video:
        # An audio file's cover art shows up as a one-picture video stream.
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _pixels_in_words(max_pixels: int) -> str:
    if max_pixels == DEFAULT_MAX_PIXELS_VIDEO:
        return "3840x2160 (4K)"
    return f"{max_pixels:,} pixels"


def truncated_reason(frames_end: float, duration: float) -> str:
    return f"the video is damaged or truncated: frames stop at {frames_end:.1f} s of {duration:.1f} s"


def _stated_duration(container: Any, stream: Any) -> float | None:
    # The video stream's own length first: the container's includes audio that may run longer.
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _scan(container: Any, stream: Any) -> Scan:
    import av

    time_base = stream.time_base or Fraction(1, 1_000_000)
    rate = stream.average_rate or stream.guessed_rate or Fraction(0)
    step = 1 / rate if rate else Fraction(0)
    first_pts: int | None = None
    end_pts: int | None = None
    keyframes, keyframes_known = array("d"), True
    first_frame = None
    try:
        for packet in container.demux(stream):
            if first_frame is None:
                first_frame = _first_frame(stream, packet)
            if packet.pts is None:
                # A flush packet at the end, or a container without presentation times.
                keyframes_known = keyframes_known and packet.size == 0
                continue
            first_pts = packet.pts if first_pts is None else min(first_pts, packet.pts)
            packet_end = packet.pts + (packet.duration or round(step / time_base))
            end_pts = packet_end if end_pts is None else max(end_pts, packet_end)
            if packet.is_keyframe:
                keyframes.append(float(packet.pts * time_base))
    except av.FFmpegError:
        # The demuxer cannot read past this point: the frames end here, which the caller checks.
        pass
    if first_frame is None or first_pts is None or end_pts is None:
        raise InvalidVideo("no frame of the video could be decoded")
    start = float(first_pts * time_base)
    # Skipping to a keyframe looks keyframes up by time: only when their times only ever increase.
    keyframes_known = keyframes_known and all(a < b for a, b in pairwise(keyframes))
    shifted = array("d", (moment - start for moment in keyframes)) if keyframes_known else array("d")
    width, height = stream.codec_context.width, stream.codec_context.height
    return Scan(
        stream_index=stream.index,
        start=start,
        frames_end=float(end_pts * time_base) - start,
        keyframes=shifted,
        rotation=round(first_frame.rotation / 90) * 90 % 360,
        stored_width=width,
        stored_height=height,
        time_base=time_base,
        rate=rate,
    )


def _first_frame(stream: Any, packet: Any) -> Any:
    import av

    try:
        frames = stream.decode(packet)
    except av.FFmpegError:
        return None
    return frames[0] if frames else None
