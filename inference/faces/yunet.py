"""Face detection with YuNet, OpenCV Zoo's small CNN face detector (``cv2.FaceDetectorYN``): boxes, landmarks, score.

The model file (``inference/models/face_detection_yunet_2026may.onnx``, 230 KB, MIT; see the
model card) runs on the OpenCV the project already uses. How the search works and why is in
``YuNetSettings``; the figures behind it come from benchmarks/face_search.py.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import cv2
import numpy as np

from inference.config import MODELS_DIR
from inference.faces.boxes import Box, Face, Landmarks
from inference.faces.settings import YuNetSettings

YUNET_PATH = MODELS_DIR / "face_detection_yunet_2026may.onnx"
# The most faces one call returns (YuNet's own top-k after merging boxes).
TOP_K = 50
# Images smaller than this (a FER2013 face is 48x48) are enlarged so their shorter side is
# SMALL_IMAGE_SIDE, without padding: YuNet is surest of a face that fills its input (97.9% of
# FER2013 PublicTest's 48x48 faces score 0.3 or more at 224 pixels, 94.8% at 96; padded by a
# quarter, 93%).
MIN_SIDE = 144
SMALL_IMAGE_SIDE = 224
# Around the previous face (live capture), a crop this many times its box's longer side,
# scaled to NEAR_SIZE pixels: room for a second's movement, and the face still fills the crop.
NEAR_CONTEXT = 1.5
NEAR_SIZE = 160
# A face found near the previous one is that face when its size is within these factors of it.
NEAR_SIZE_RANGE = (0.6, 1.6)
# Two faces overlapping more than this (intersection over union) after closer looks are one,
# and so is a face lying this much (of its own area) inside a larger one: YuNet sometimes takes
# part of a face (an eye and a cheek) for a small face.
DUPLICATE_OVERLAP = 0.5
INSIDE_SHARE = 0.6

# Detectors kept per thread, one per input size: OpenCV sets a network up again whenever its
# input size changes, which costs more than a small search, so the whole-frame search, the
# closer looks and the search near the previous face each keep their own.
DETECTORS_PER_THREAD = 6

_local = threading.local()


def _detector(size: tuple[int, int]) -> cv2.FaceDetectorYN:
    # FaceDetectorYN keeps its input size and buffers in the object, so it is not safe to share
    # between threads: one per thread (and per input size).
    detectors: OrderedDict[tuple[int, int], cv2.FaceDetectorYN] | None = getattr(_local, "detectors", None)
    if detectors is None:
        detectors = _local.detectors = OrderedDict()
    detector = detectors.get(size)
    if detector is not None:
        detectors.move_to_end(size)
        return detector
    if not YUNET_PATH.is_file():
        raise RuntimeError(f"the YuNet face detector is missing: no file at {YUNET_PATH}")
    detector = cv2.FaceDetectorYN.create(str(YUNET_PATH), "", size, 0.5, 0.3, TOP_K)
    detectors[size] = detector
    if len(detectors) > DETECTORS_PER_THREAD:
        detectors.popitem(last=False)
    return detector


def _run(image: np.ndarray, *, score: float, nms: float = 0.3) -> np.ndarray:
    """YuNet's rows for a grey image: N x 15 (box, five landmarks, score), in the image's pixels."""
    detector = _detector((image.shape[1], image.shape[0]))
    detector.setScoreThreshold(score)
    detector.setNMSThreshold(nms)
    _, rows = detector.detect(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    return np.zeros((0, 15), dtype=np.float32) if rows is None else rows


def _face(row: np.ndarray, *, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)) -> Face:
    """A YuNet row, found in an image scaled by ``scale`` and shifted by ``offset``, in the original's pixels."""
    dx, dy = offset
    x, y, w, h = (float(value) for value in row[:4])
    box = Box(round((x - dx) / scale), round((y - dy) / scale), round(w / scale), round(h / scale))
    points = (row[4:14].reshape(5, 2).astype(np.float64) - (dx, dy)) / scale
    return Face(box, Landmarks.from_array(points), float(row[14]))


def yunet_faces(
    grey: np.ndarray, *, settings: YuNetSettings, min_face_fraction: float, largest_only: bool = False
) -> list[Face]:
    """Every face YuNet finds in a grey image, in the image's pixels, largest first.

    ``largest_only``: the caller wants the largest face alone (live capture), so doubtful faces
    no larger than a face already found get no closer look.
    """
    height, width = grey.shape[:2]
    smallest = min_face_fraction * min(height, width)
    if min(height, width) < MIN_SIDE:
        factor = SMALL_IMAGE_SIDE / min(height, width)
        enlarged = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        rows = _run(enlarged, score=settings.confirm_score, nms=settings.nms_threshold)
        faces = [_face(row, scale=factor) for row in rows]
        return _distinct([_clipped(face, width, height) for face in faces if _longer_side(face) >= smallest])
    scale = 1.0
    search = grey
    if settings.detect_width is not None and width > settings.detect_width:
        scale = settings.detect_width / width
        search = cv2.resize(grey, (settings.detect_width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    rows = _run(search, score=min(settings.candidate_score, settings.accept_score), nms=settings.nms_threshold)
    candidates = [_face(row, scale=scale) for row in sorted(rows, key=lambda row: -float(row[14]))]
    candidates = [face for face in candidates if _longer_side(face) >= smallest]
    found = [face for face in candidates if (face.score or 0.0) >= settings.accept_score]
    doubtful = [face for face in candidates if (face.score or 0.0) < settings.accept_score]
    for candidate in doubtful[: settings.closer_looks]:
        if largest_only and found and candidate.box.area <= max(face.box.area for face in found):
            continue
        closer = _closer_look(grey, candidate.box, settings=settings)
        if closer is not None and _longer_side(closer) >= smallest:
            found.append(closer)
    return _distinct([_clipped(face, width, height) for face in found])


def _distinct(faces: list[Face]) -> list[Face]:
    """``faces`` without those that repeat or lie inside a larger one, largest first."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda face: face.box.area, reverse=True):
        box = face.box
        repeats = any(
            box.overlap(other.box) > DUPLICATE_OVERLAP or box.intersection(other.box) >= INSIDE_SHARE * box.area
            for other in kept
        )
        if not repeats:
            kept.append(face)
    return kept


def _closer_look(
    grey: np.ndarray, box: Box, *, settings: YuNetSettings, context: float | None = None, size: int | None = None
) -> Face | None:
    """YuNet again on a square crop of the full image around ``box``: the surest face there, or None."""
    context = settings.closer_context if context is None else context
    size = settings.closer_size if size is None else size
    side = max(box.width, box.height) * context
    scale = size / side
    centre_x, centre_y = box.x + box.width / 2, box.y + box.height / 2
    offset = (size / 2 - centre_x * scale, size / 2 - centre_y * scale)
    matrix = np.array([[scale, 0, offset[0]], [0, scale, offset[1]]], dtype=np.float64)
    crop = cv2.warpAffine(grey, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rows = _run(crop, score=settings.confirm_score, nms=settings.nms_threshold)
    if len(rows) == 0:
        return None
    best = max(rows, key=lambda row: float(row[14]))
    return _face(best, scale=scale, offset=offset)


def yunet_face_near(grey: np.ndarray, previous: Box, *, settings: YuNetSettings) -> Face | None:
    """YuNet's look around the previous face (see ``inference.faces.detect_face_near``)."""
    face = _closer_look(grey, previous, settings=settings, context=NEAR_CONTEXT, size=NEAR_SIZE)
    if face is None:
        return None
    ratio = _longer_side(face) / max(1, max(previous.width, previous.height))
    if not NEAR_SIZE_RANGE[0] <= ratio <= NEAR_SIZE_RANGE[1]:
        return None
    height, width = grey.shape[:2]
    return _clipped(face, width, height)


def _longer_side(face: Face) -> int:
    return max(face.box.width, face.box.height)


def _clipped(face: Face, width: int, height: int) -> Face:
    # Landmarks stay where YuNet put them, even outside the image: the alignment needs them so.
    return Face(face.box.clipped(width, height), face.landmarks, face.score)
