"""Reading frames (a decoder thread ahead of the analysis) and writing the annotated copy."""

from __future__ import annotations

import bisect
import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from inference.annotation import draw_faces, overlay_mask
from inference.predictor import FaceResult
from inference.video_analysis.probe import InvalidVideo, Scan, truncated_reason
from inference.video_analysis.timeline import TIME_TOLERANCE

# libx264's fastest preset: re-encoding every frame is the largest cost of an annotated video
# (see benchmarks/video_analysis_speed.py); CRF 23 is x264's default quality.
ENCODER_OPTIONS = {"preset": "ultrafast", "crf": "23"}
# Decoded frames waiting for the analysis: up to 64 MB of them (139 frames at 640x480, 5 in
# 4K), so the decoder runs on while a sampled frame is classified, and memory stays flat.
QUEUE_BYTES = 64 * 1024 * 1024
MIN_QUEUE_FRAMES = 4
HEARTBEAT_SECONDS = 0.25
# Without an annotated copy, non-reference frames this long before the next sampled time are not decoded.
NON_REFERENCE_MARGIN = 0.2


def upright(pixels: np.ndarray, rotation: int) -> np.ndarray:
    """A stored picture turned ``rotation`` degrees counter-clockwise, as players show it."""
    if rotation == 0:
        return pixels
    return np.ascontiguousarray(np.rot90(pixels, k=rotation // 90))


_END = object()


class FrameReader:
    """Demuxes and decodes the video stream in a background thread, a bounded queue ahead of the analysis.

    Yields ``(frame, seconds from the first frame, faces)`` for every frame. With
    ``only_sampled`` (no annotated copy to write) it yields only the frames that serve a sampled
    time, and the last frame when sampled times remain after it; the queue then holds sampled
    frames only, so decoding runs on while one is classified. It also stops after the last
    sampled time, does not decode the packets before a keyframe when no sampled time falls
    before that keyframe (decoding restarts there as after a seek), drops non-reference frames
    far from any sampled time, and yields ``(None, seconds, None)`` about four times a second
    while it decodes frames nobody needs, so the caller can report progress (and be cancelled).

    ``faces`` is ``None`` unless ``classify`` is given: then the decoder thread reads the faces
    of each sampled frame, and with an annotated copy to write they are read while the
    caller's thread encodes the frames before it.

    Raises ``InvalidVideo`` when the frame for a sampled time comes more than ``tolerance``
    seconds after it: the frames in between are missing or failed to decode.
    """

    def __init__(
        self,
        path: Path,
        scan: Scan,
        *,
        times: Sequence[float],
        duration: float,
        tolerance: float,
        only_sampled: bool,
        classify: Callable[[Any], list[FaceResult]] | None = None,
        timings: dict[str, float],
    ) -> None:
        self.path, self.scan, self.times, self.duration = path, scan, times, duration
        self.tolerance, self.only_sampled, self.classify, self.timings = tolerance, only_sampled, classify, timings
        frame_bytes = max(1, scan.stored_width * scan.stored_height * 3 // 2)
        self._queue: queue.Queue = queue.Queue(maxsize=max(MIN_QUEUE_FRAMES, QUEUE_BYTES // frame_bytes))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="video-decoder", daemon=True)

    def __enter__(self) -> FrameReader:
        self._thread.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            # Unblock a decoder waiting on a full queue, then wait for it to close the file.
            self._drain()
            self._thread.join(timeout=0.05)
        self._drain()

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    def __iter__(self) -> Iterator[tuple[Any, float, list[FaceResult] | None]]:
        while True:
            started = time.perf_counter()
            item = self._queue.get()
            # Time spent waiting here is time the analysis waited for the decoder.
            self.timings["decode"] += time.perf_counter() - started
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for frame, seconds, sampled in self._frames():
                faces = self.classify(frame) if sampled and self.classify is not None else None
                if not self._put((frame, seconds, faces)):
                    return
            self._put(_END)
        except BaseException as error:
            self._put(error)

    def _frames(self) -> Iterator[tuple[Any, float, bool]]:
        import av

        times = self.times
        with av.open(str(self.path), metadata_errors="replace") as container:
            # The probe found the video stream by index; PyAV types an indexed stream as a plain Stream.
            stream: Any = container.streams[self.scan.stream_index]
            # This thread already decodes beside the analysing one: decoder threads for all but one
            # core (on two cores one thread was a little faster than more: benchmarks/video_analysis_speed.py).
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = max(1, (os.cpu_count() or 2) - 1)
            pending, previous, held = 0, None, None
            yielded_at = time.monotonic()
            for packet in container.demux(stream):
                if self.only_sampled:
                    if pending >= len(times):
                        return
                    if self._before_restart(packet, times[pending]):
                        continue
                    self._skip_non_reference(stream, packet, times[pending])
                try:
                    frames = stream.decode(packet)
                except av.FFmpegError:
                    # A damaged packet: its frames are missing, which shows as a gap at the
                    # next sampled time (or as frames that stop early) and is reported then.
                    continue
                for frame in frames:
                    if (frame.width, frame.height) != (self.scan.stored_width, self.scan.stored_height):
                        # A recording whose picture size changes midway: every frame is read, drawn
                        # and encoded at the size the video starts with.
                        frame = frame.reformat(width=self.scan.stored_width, height=self.scan.stored_height)
                    seconds = self._seconds(frame, previous)
                    served = pending
                    while pending < len(times) and seconds + TIME_TOLERANCE >= times[pending]:
                        pending += 1
                    if pending > served and seconds - times[served] > self.tolerance:
                        raise InvalidVideo(truncated_reason(previous or 0.0, self.duration))
                    previous = seconds
                    if pending > served or not self.only_sampled:
                        held, yielded_at = None, time.monotonic()
                        yield frame, seconds, pending > served
                    else:
                        held = (frame, seconds, False)
                        if time.monotonic() - yielded_at >= HEARTBEAT_SECONDS:
                            # No frame for the caller for a while (sparse samples of a large video):
                            # a frameless item lets it report progress, and so be cancelled.
                            yielded_at = time.monotonic()
                            yield None, seconds, False
            if held is not None and pending < len(times):
                yield held

    def _before_restart(self, packet: Any, pending_time: float) -> bool:
        """Whether the packet comes before the last keyframe at or before the next sampled time."""
        keyframes = self.scan.keyframes
        if not keyframes or packet.pts is None:
            return False
        restart = bisect.bisect_right(keyframes, pending_time + TIME_TOLERANCE) - 1
        if restart < 0:
            return False
        return self._packet_time(packet) < keyframes[restart] - TIME_TOLERANCE

    def _skip_non_reference(self, stream: Any, packet: Any, pending_time: float) -> None:
        # No other frame is decoded from a non-reference frame (most B-frames): one well before
        # the next sampled time cannot be its frame, so the decoder drops it (a third of the
        # decoding work of a typical x264 video). Set per packet: frame threads copy it when the
        # packet is handed to them.
        far = packet.pts is not None and self._packet_time(packet) < pending_time - NON_REFERENCE_MARGIN
        wanted = "NONREF" if far else "DEFAULT"
        if stream.codec_context.skip_frame != wanted:
            stream.codec_context.skip_frame = wanted

    def _packet_time(self, packet: Any) -> float:
        return float(packet.pts * self.scan.time_base) - self.scan.start

    def _seconds(self, frame: Any, previous: float | None) -> float:
        if frame.pts is not None:
            return float(frame.pts * self.scan.time_base) - self.scan.start
        # No timestamp (a raw stream): count frames at the stated rate.
        step = float(1 / self.scan.rate) if self.scan.rate else 0.0
        return 0.0 if previous is None else previous + step


@dataclass(frozen=True)
class Overlay:
    """The pixels a sample's boxes and labels cover, as positions and values in a flat yuv420p frame.

    Built once per sample, then copied onto every frame until the next sample: a frame costs a
    copy of a few thousand bytes, not an RGB round trip and a redraw.
    """

    positions: np.ndarray
    values: np.ndarray

    @classmethod
    def build(cls, faces: list[FaceResult], scan: Scan) -> Overlay:
        width, height = _even(scan.stored_width), _even(scan.stored_height)
        shape = (height, width) if scan.rotation % 180 == 0 else (width, height)
        # Boxes are flat colours and labels sit on their own filled background, so what is drawn
        # does not depend on the picture beneath: it is drawn once, on black, and copied.
        canvas = np.zeros((*shape, 3), dtype=np.uint8)
        draw_faces(canvas, faces)
        mask = overlay_mask(shape, faces)
        # Faces are found and drawn upright, then turned back to the stored orientation: the
        # copy keeps the source's rotation flag and players turn it upright again.
        turn_back = (-scan.rotation // 90) % 4
        rows, columns = np.nonzero(np.rot90(mask, k=turn_back))
        colours = np.rot90(canvas, k=turn_back)[rows, columns].astype(np.float32)
        # A chroma sample covers 2x2 pixels: it takes the mean colour of those of them drawn.
        blocks, block_of_pixel = np.unique((rows // 2) * (width // 2) + columns // 2, return_inverse=True)
        drawn = np.bincount(block_of_pixel, minlength=len(blocks))[:, None]
        block_colours = np.stack(
            [np.bincount(block_of_pixel, weights=colours[:, channel], minlength=len(blocks)) for channel in range(3)],
            axis=1,
        )
        luma_size, chroma_size = width * height, (width // 2) * (height // 2)
        positions = np.concatenate([rows * width + columns, luma_size + blocks, luma_size + chroma_size + blocks])
        values = np.concatenate([_luma(colours), *_chroma((block_colours / drawn).astype(np.float32))])
        return cls(positions, np.clip(np.rint(values), 0, 255).astype(np.uint8))


# BT.601 in limited range, as libswscale converts RGB to yuv420p by default.
def _luma(rgb: np.ndarray) -> np.ndarray:
    return 16 + rgb @ np.array([65.481, 128.553, 24.966], dtype=np.float32) / 255


def _chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    blue = 128 + rgb @ np.array([-37.797, -74.203, 112.0], dtype=np.float32) / 255
    red = 128 + rgb @ np.array([112.0, -93.786, -18.214], dtype=np.float32) / 255
    return blue, red


def _even(size: int) -> int:
    return size - size % 2


class AnnotatedVideo:
    """H.264 (libx264, yuv420p) MP4 with the moov atom first, so browsers start playing before it is all loaded."""

    def __init__(self, path: Path, scan: Scan) -> None:
        import av

        self.scan = scan
        self.width, self.height = _even(scan.stored_width), _even(scan.stored_height)
        self.container = av.open(str(path), mode="w", options={"movflags": "faststart"})
        rate = scan.rate if scan.rate else Fraction(30)
        self.stream = self.container.add_stream("libx264", rate=rate, options=dict(ENCODER_OPTIONS))
        self.stream.width, self.stream.height, self.stream.pix_fmt = self.width, self.height, "yuv420p"
        # The source's own timestamps are kept, so a variable frame rate plays as it was recorded.
        self.stream.codec_context.time_base = scan.time_base
        self.stream.time_base = scan.time_base
        if scan.rotation:
            self.stream.set_display_rotation(scan.rotation)
        self._last_pts: int | None = None
        self._step = max(1, round(1 / (rate * scan.time_base)))

    def write(self, frame: Any, overlay: Overlay | None) -> None:
        import av

        if overlay is None and self._passes_through(frame):
            # Frames without faces go to the encoder as decoded: no conversion at all.
            picture = frame
            picture.pict_type = av.video.frame.PictureType.NONE
        else:
            pixels = self._yuv(frame)
            if overlay is not None:
                pixels.reshape(-1)[overlay.positions] = overlay.values
            picture = av.VideoFrame.from_ndarray(pixels, format="yuv420p")
        picture.pts = self._next_pts(frame.pts)
        picture.time_base = self.scan.time_base
        for packet in self.stream.encode(picture):
            self.container.mux(packet)

    def close(self) -> None:
        """Encode the frames the encoder still holds and write the index (moved to the front)."""
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()

    def abandon(self) -> None:
        """Close the file after an error; it is about to be deleted, so a failure here must not hide that error."""
        import av

        with contextlib.suppress(av.FFmpegError, OSError):
            self.container.close()

    def _passes_through(self, frame: Any) -> bool:
        return frame.format.name == "yuv420p" and (frame.width, frame.height) == (self.width, self.height)

    def _yuv(self, frame: Any) -> np.ndarray:
        import av

        if self._passes_through(frame):
            return frame.to_ndarray()
        # Other pixel formats and odd sizes (cropped by a pixel) go through RGB.
        rgb = np.ascontiguousarray(frame.to_ndarray(format="rgb24")[: self.height, : self.width])
        return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()

    def _next_pts(self, source_pts: int | None) -> int:
        if source_pts is None:
            pts = 0 if self._last_pts is None else self._last_pts + self._step
        else:
            pts = source_pts - round(self.scan.start / self.scan.time_base)
        # The encoder refuses timestamps that do not increase; a damaged source can have some.
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts
