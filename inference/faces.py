"""Face detection with OpenCV's Haar frontal-face cascade, as in the reference design."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np


class FaceMode(Enum):
    LARGEST = "largest"  # a participant at a webcam: one face, the nearest
    ALL = "all"  # an audience or a recorded video: every face


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)


@dataclass(frozen=True)
class DetectionSettings:
    """How the cascade searches.

    - ``scale_factor`` 1.1: each pyramid level is 10% smaller. Coarser steps (1.3) are faster
      but miss faces whose size falls between levels; 1.1 is OpenCV's and the reference's choice.
    - ``min_neighbors`` 5: a face must be found in five overlapping windows. Fewer gives false
      faces in textured backgrounds; more misses faces turned slightly away.
    - ``min_face_fraction`` 0.2: faces narrower than a fifth of the image's shorter side are
      ignored. A participant at a laptop webcam fills a third to a half of the frame's height;
      the smallest windows are most of the cascade's cost (0.1 costs about twice as much;
      benchmarks/face_search.py). Recorded videos and audiences use AUDIENCE_SETTINGS instead.
    - ``detect_width`` 240: the search runs on a copy scaled down to this width (never up);
      boxes are mapped back. A webcam face still spans 36+ pixels there (the cascade's window
      is 24), and the search costs a fraction of one at 640 (benchmarks/face_search.py).
    """

    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face_fraction: float = 0.2
    detect_width: int | None = 240


WEBCAM_SETTINGS = DetectionSettings()
# Recorded videos and audience photos: full resolution and smaller faces.
AUDIENCE_SETTINGS = DetectionSettings(min_face_fraction=0.04, detect_width=None)

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


def detect_faces(
    grey: np.ndarray, *, mode: FaceMode = FaceMode.LARGEST, settings: DetectionSettings = WEBCAM_SETTINGS
) -> list[Box]:
    """Find faces in a grey image; LARGEST returns at most one box, ALL every box, largest first."""
    height, width = grey.shape[:2]
    scale = 1.0
    search = grey
    if settings.detect_width is not None and width > settings.detect_width:
        scale = settings.detect_width / width
        search = cv2.resize(grey, (settings.detect_width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    min_side = max(24, int(min(search.shape[:2]) * settings.min_face_fraction))
    found = _cascade().detectMultiScale(
        search, scaleFactor=settings.scale_factor, minNeighbors=settings.min_neighbors, minSize=(min_side, min_side)
    )
    boxes = [
        Box(round(x / scale), round(y / scale), round(w / scale), round(h / scale))
        for (x, y, w, h) in np.asarray(found)
    ]
    boxes.sort(key=lambda box: box.area, reverse=True)
    return boxes[:1] if mode == FaceMode.LARGEST else boxes


# Around the previous face, the search runs on a copy where that face is about this wide, with
# coarser steps between window sizes than the full search: the sizes to try span only 0.6 to 1.6
# times the previous face, and the crop is scaled to 48x48 whatever its exact size.
TRACKING_FACE_WIDTH = 48
TRACKING_SCALE_FACTOR = 1.2


def detect_face_near(grey: np.ndarray, previous: Box) -> Box | None:
    """Look for the face only around where it was in the participant's previous frame.

    Between two webcam frames a second apart a face moves and changes size little, so the
    search covers the previous box widened by half its size on each side, for faces from
    0.6 to 1.6 times its width, on a copy scaled so the face is about 48 pixels wide: several
    times faster than searching the whole frame (benchmarks/predictor_speed.py). None means
    not found there; the caller then searches the whole frame.
    """
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
    smallest, largest = max(24, int(expected * 0.6)), int(expected * 1.6) + 1
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
    return Box(round(x / scale) + left, round(y / scale) + top, round(w / scale), round(h / scale))
