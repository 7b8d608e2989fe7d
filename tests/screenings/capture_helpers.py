"""Frames with and without a face, for the capture tests."""

from __future__ import annotations

import base64
import io
import json
from functools import cache

import numpy as np
from PIL import Image


@cache
def face_jpeg() -> bytes:
    """A 640x480 JPEG of a real face: scikit-image's astronaut photograph."""
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((640, 640)).crop((0, 0, 640, 480))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


@cache
def empty_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((240, 320), 128, dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def frame_message(seq: int, media_time: float, image: bytes | None = None, *, data_url: bool = False) -> dict:
    encoded = base64.b64encode(image if image is not None else face_jpeg()).decode()
    return {
        "type": "frame",
        "seq": seq,
        "media_time": media_time,
        "image": f"data:image/jpeg;base64,{encoded}" if data_url else encoded,
    }


def binary_frame(seq: int, media_time: float, image: bytes | None = None) -> bytes:
    """The binary form of a frame: a JSON header line, a newline, the JPEG's bytes."""
    header = json.dumps({"type": "frame", "seq": seq, "media_time": media_time}).encode()
    return header + b"\n" + (image if image is not None else face_jpeg())
