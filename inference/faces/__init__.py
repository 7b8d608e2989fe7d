"""Face detection: YuNet (a small CNN with five landmarks per face, the default) or the Haar cascade.

``FACE_DETECTOR`` (``ServingConfig.face_detector``) picks the detector for live capture, image
and video analysis and evaluation; every function here also takes ``detector=`` to choose one
explicitly (the benchmark and the tests compare both).

- ``boxes``     what is found: ``Box``, ``Landmarks``, ``Face``, and ``FaceMode``
- ``settings``  how hard each detector looks, per purpose (``WEBCAM_SETTINGS``, ``AUDIENCE_SETTINGS``)
- ``yunet``, ``haar``  the two detectors
"""

from __future__ import annotations

import numpy as np

from inference.config import FACE_DETECTORS, serving_config
from inference.faces.boxes import Box, Face, FaceMode, Landmarks
from inference.faces.haar import haar_face_near, haar_faces
from inference.faces.settings import (
    AUDIENCE_SETTINGS,
    WEBCAM_SETTINGS,
    DetectionSettings,
    HaarSettings,
    YuNetSettings,
    with_search_width,
)
from inference.faces.yunet import yunet_face_near, yunet_faces

__all__ = [
    "AUDIENCE_SETTINGS",
    "FACE_DETECTORS",
    "WEBCAM_SETTINGS",
    "Box",
    "DetectionSettings",
    "Face",
    "FaceMode",
    "HaarSettings",
    "Landmarks",
    "YuNetSettings",
    "configured_detector",
    "detect_face_near",
    "detect_faces",
    "with_search_width",
]


def configured_detector(detector: str | None = None) -> str:
    """``detector``, or the process's ``FACE_DETECTOR`` when None; an unknown name raises ``ValueError``."""
    name = serving_config().face_detector if detector is None else detector
    if name not in FACE_DETECTORS:
        raise ValueError(f"the face detector must be one of {FACE_DETECTORS}, got {name!r}")
    return name


def detect_faces(
    grey: np.ndarray,
    *,
    mode: FaceMode = FaceMode.LARGEST,
    settings: DetectionSettings = WEBCAM_SETTINGS,
    detector: str | None = None,
) -> list[Face]:
    """Find faces in a grey image; LARGEST returns at most one face, ALL every face, largest first.

    Boxes (and landmarks) are in the image's pixels; a box is clipped to the image. Images
    smaller than a webcam frame's face (FER2013's 48x48) are enlarged for the search.
    """
    if configured_detector(detector) == "yunet":
        faces = yunet_faces(
            grey,
            settings=settings.yunet,
            min_face_fraction=settings.min_face_fraction,
            largest_only=mode == FaceMode.LARGEST,
        )
    else:
        faces = haar_faces(grey, settings=settings.haar, min_face_fraction=settings.min_face_fraction)
    faces.sort(key=lambda face: face.box.area, reverse=True)
    return faces[:1] if mode == FaceMode.LARGEST else faces


def detect_face_near(
    grey: np.ndarray, previous: Box, *, settings: DetectionSettings = WEBCAM_SETTINGS, detector: str | None = None
) -> Face | None:
    """Look for the face only around where it was in the participant's previous frame.

    Between two webcam frames a second apart a face moves and changes size little, so the
    search covers a crop around the previous box, for faces from 0.6 to 1.6 times its size:
    several times faster than searching the whole frame (benchmarks/predictor_speed.py). None
    means not found there; the caller then searches the whole frame.
    """
    if configured_detector(detector) == "yunet":
        return yunet_face_near(grey, previous, settings=settings.yunet)
    return haar_face_near(grey, previous)
