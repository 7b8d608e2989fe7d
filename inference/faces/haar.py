"""Face detection with OpenCV's Haar frontal-face cascade, as in the reference design: boxes, no landmarks."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from inference.faces.boxes import Box, Face
from inference.faces.settings import HaarSettings

# The cascade's window: no face smaller than this is found.
WINDOW = 24
# Images smaller than this (a FER2013 face is 48x48) are padded and enlarged first.
MIN_SIDE = 144
SMALL_IMAGE_PAD = 0.25
# Around the previous face, the search runs on a copy where that face is about this wide, with
# coarser steps between window sizes than the full search: the sizes to try span only 0.6 to 1.6
# times the previous face, and the crop is scaled to 48x48 whatever its exact size.
TRACKING_FACE_WIDTH = 48
TRACKING_SCALE_FACTOR = 1.2

_local = threading.local()


def _cascade() -> cv2.CascadeClassifier:
    # CascadeClassifier is not safe to share between threads: one per thread.
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        # OpenCV's type stubs leave out cv2.data, which the wheel ships with the cascades.
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise RuntimeError(f"could not load the Haar cascade from {path}")
        _local.cascade = cascade
    return cascade


def haar_faces(grey: np.ndarray, *, settings: HaarSettings, min_face_fraction: float) -> list[Face]:
    """Every face the cascade finds in a grey image, in the image's pixels (unsorted)."""
    height, width = grey.shape[:2]
    if min(height, width) < MIN_SIDE:
        return _small_image_faces(grey, settings=settings, min_face_fraction=min_face_fraction)
    scale = 1.0
    search = grey
    if settings.detect_width is not None and width > settings.detect_width:
        scale = settings.detect_width / width
        search = cv2.resize(grey, (settings.detect_width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    min_side = max(WINDOW, int(min(search.shape[:2]) * min_face_fraction))
    found = _cascade().detectMultiScale(
        search, scaleFactor=settings.scale_factor, minNeighbors=settings.min_neighbors, minSize=(min_side, min_side)
    )
    return [
        Face(Box(round(x / scale), round(y / scale), round(w / scale), round(h / scale)))
        for (x, y, w, h) in np.asarray(found)
    ]


def _small_image_faces(grey: np.ndarray, *, settings: HaarSettings, min_face_fraction: float) -> list[Face]:
    # A tightly cropped face (FER2013's 48x48) touches the edges, where the cascade's windows
    # cannot centre on it: pad with the edge pixels, then enlarge past the smallest window.
    height, width = grey.shape[:2]
    pad = max(1, round(min(height, width) * SMALL_IMAGE_PAD))
    padded = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    factor = MIN_SIDE / min(height, width)
    search = cv2.resize(padded, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    faces = haar_faces(search, settings=HaarSettings(settings.scale_factor, settings.min_neighbors, None),
                       min_face_fraction=min_face_fraction)  # fmt: skip
    return [Face(_box_in_original(face.box, factor=factor, pad=pad, shape=(height, width))) for face in faces]


def _box_in_original(box: Box, *, factor: float, pad: int, shape: tuple[int, int]) -> Box:
    height, width = shape
    left, top = round(box.x / factor) - pad, round(box.y / factor) - pad
    right, bottom = round((box.x + box.width) / factor) - pad, round((box.y + box.height) / factor) - pad
    return Box(left, top, right - left, bottom - top).clipped(width, height)


def haar_face_near(grey: np.ndarray, previous: Box) -> Face | None:
    """The cascade's search around the previous face (see ``inference.faces.detect_face_near``)."""
    height, width = grey.shape[:2]
    margin_x, margin_y = previous.width // 2, previous.height // 2
    left, top = max(0, previous.x - margin_x), max(0, previous.y - margin_y)
    right = min(width, previous.x + previous.width + margin_x)
    bottom = min(height, previous.y + previous.height + margin_y)
    region = grey[top:bottom, left:right]
    scale = min(1.0, TRACKING_FACE_WIDTH / max(1, previous.width))
    if scale < 1.0:
        region = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    expected = previous.width * scale
    smallest, largest = max(WINDOW, int(expected * 0.6)), int(expected * 1.6) + 1
    if min(region.shape[:2]) < smallest:
        return None
    found = _cascade().detectMultiScale(
        region,
        scaleFactor=TRACKING_SCALE_FACTOR,
        minNeighbors=5,
        minSize=(smallest, smallest),
        maxSize=(largest, largest),
    )
    if len(found) == 0:
        return None
    x, y, w, h = max(np.asarray(found), key=lambda box: box[2] * box[3])
    return Face(Box(round(x / scale) + left, round(y / scale) + top, round(w / scale), round(h / scale)))
