"""Turning a detected face into the network's input; shared by training, evaluation and serving."""

from __future__ import annotations

import cv2
import numpy as np

from inference.faces import Box
from inference.labels import FACE_SIZE, NUM_CLASSES, TEST_TIME_VIEW_COUNTS

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


# Test-time views: the face, its mirror image, and both again zoomed in by 10% (the range the
# training augmentation zooms). Averaging them is a cheap ensemble; see the model card's figures.
TEST_TIME_ZOOM = 1.1


def face_views(faces, count: int):  # type: ignore[no-untyped-def]
    """TensorFlow ops: ``count`` views of a (n, 48, 48, 1) float batch, stacked as (count * n, 48, 48, 1)."""
    import tensorflow as tf

    if count not in TEST_TIME_VIEW_COUNTS:
        raise ValueError(f"test-time views must be one of {TEST_TIME_VIEW_COUNTS}, got {count!r}")
    views = [faces]
    if count >= 2:
        views.append(tf.reverse(faces, axis=[2]))
    if count == 4:
        side = round(FACE_SIZE * TEST_TIME_ZOOM)
        offset = (side - FACE_SIZE) // 2
        zoomed = tf.image.resize(faces, [side, side])[:, offset : offset + FACE_SIZE, offset : offset + FACE_SIZE, :]
        views += [zoomed, tf.reverse(zoomed, axis=[2])]
    return tf.concat(views, axis=0)


def mean_over_views(model, faces, count: int):  # type: ignore[no-untyped-def]
    """TensorFlow ops: ``model``'s float32 probabilities for each face, averaged over ``count`` views.

    All views of all faces go through the network in one call.
    """
    import tensorflow as tf

    probabilities = tf.cast(model(face_views(faces, count), training=False), tf.float32)
    return tf.reduce_mean(tf.reshape(probabilities, [count, -1, NUM_CLASSES]), axis=0)
