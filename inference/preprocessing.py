"""Turning a detected face into the network's input; shared by training, evaluation and serving."""

from __future__ import annotations

import cv2
import numpy as np

from inference.faces import Box
from inference.labels import FACE_SIZE

# Haar boxes are tight around eyes and mouth; FER2013 faces show a little forehead and chin.
CROP_MARGIN = 0.1


def crop_face(grey: np.ndarray, box: Box, *, margin: float = CROP_MARGIN) -> np.ndarray:
    """Cut the face out with a margin (clipped at the image edge) and scale it to 48x48 grey, shape (48, 48, 1).

    Values stay 0-255: every model rescales by 1/255 itself.
    """
    height, width = grey.shape[:2]
    pad_x, pad_y = round(box.width * margin), round(box.height * margin)
    left, top = max(0, box.x - pad_x), max(0, box.y - pad_y)
    right, bottom = min(width, box.x + box.width + pad_x), min(height, box.y + box.height + pad_y)
    face = grey[top:bottom, left:right]
    interpolation = cv2.INTER_AREA if face.shape[0] > FACE_SIZE else cv2.INTER_LINEAR
    return cv2.resize(face, (FACE_SIZE, FACE_SIZE), interpolation=interpolation)[:, :, None]


def faces_to_batch(faces: list[np.ndarray]) -> np.ndarray:
    """Stack 48x48x1 crops into a float32 batch for the network."""
    if not faces:
        return np.zeros((0, FACE_SIZE, FACE_SIZE, 1), dtype=np.float32)
    return np.stack(faces).astype(np.float32)
