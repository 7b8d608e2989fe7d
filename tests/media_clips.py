"""Short H.264 clips and photos with real faces, written with PyAV, for the media analysis tests."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image


def astronaut_rgb(width: int = 320, height: int = 240) -> np.ndarray:
    """scikit-image's photograph of Eileen Collins (a real, frontal face) as an RGB frame."""
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((width, width)).crop((0, 0, width, height))
    return np.asarray(photo)


def blank_rgb(width: int = 320, height: int = 240) -> np.ndarray:
    return np.full((height, width, 3), 90, dtype=np.uint8)


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    fps: int = 10,
    faststart: bool = True,
    gop: int = 5,
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
) -> Path:
    """Encode RGB frames as an H.264 MP4 at ``fps`` frames a second, a keyframe every ``gop`` frames."""
    import av

    frames = list(frames)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "veryfast"})
        stream.codec_context.gop_size = gop
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        if rotation:
            stream.set_display_rotation(rotation)
        for picture in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def face_clip(path: Path, *, face_seconds: float = 2, blank_seconds: float = 1, fps: int = 10) -> Path:
    """A face for ``face_seconds``, then an empty background for ``blank_seconds``."""
    face, blank = astronaut_rgb(), blank_rgb()
    frames = [face] * round(face_seconds * fps) + [blank] * round(blank_seconds * fps)
    return write_clip(path, frames, fps=fps)
