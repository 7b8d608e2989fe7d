"""Drawing found faces on a picture: a box and an ``emotion NN%`` label per face, one colour per emotion."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from inference.labels import EMOTION_COLOURS
from inference.predictor import FaceResult

# Sizes for a 480-pixel-high picture; larger pictures scale them with their shorter side, so a
# label takes the same share of a 4K frame as of a 640x480 one.
REFERENCE_SIDE = 480
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.6
BOX_THICKNESS = 2
# Smaller pictures shrink the text only so far: below this it is no longer legible.
MIN_SCALE = 0.6


def emotion_rgb(emotion: str) -> tuple[int, int, int]:
    """The emotion's palette colour as an (r, g, b) triple of 0-255 values."""
    code = EMOTION_COLOURS[emotion].lstrip("#")
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


def face_label(face: FaceResult) -> str:
    """The text drawn above a face, e.g. ``happy 87%``."""
    return f"{face.emotion} {round(face.confidence * 100)}%"


def draw_faces(rgb: np.ndarray, faces: Sequence[FaceResult]) -> None:
    """Draw each face's box and label, in place, on an HxWx3 uint8 RGB array.

    The label sits on a filled background of the emotion's colour above the box, or below it when
    there is no room above; line widths and text size follow the picture's size.
    """
    for face in faces:
        colour = emotion_rgb(face.emotion)
        _paint(rgb, face, fill=colour, text=_text_colour(colour))


def overlay_mask(shape: tuple[int, int], faces: Sequence[FaceResult]) -> np.ndarray:
    """A boolean HxW mask of the pixels ``draw_faces`` paints for these faces (boxes and labels).

    A video draws the same faces on every frame until the next sample: the painted pixels are
    copied onto each frame through this mask instead of drawing again.
    """
    mask = np.zeros(shape, dtype=np.uint8)
    for face in faces:
        _paint(mask, face, fill=255, text=255)
    return mask.astype(bool)


def _paint(canvas: np.ndarray, face: FaceResult, *, fill: int | tuple[int, ...], text: int | tuple[int, ...]) -> None:
    height, width = canvas.shape[:2]
    scale = max(MIN_SCALE, min(height, width) / REFERENCE_SIDE)
    thickness = max(1, round(BOX_THICKNESS * scale))
    box = face.box
    cv2.rectangle(canvas, (box.x, box.y), (box.x + box.width - 1, box.y + box.height - 1), fill, thickness)

    label = face_label(face)
    font_scale = FONT_SCALE * scale
    text_thickness = max(1, round(scale * 1.5))
    (text_width, text_height), baseline = cv2.getTextSize(label, FONT, font_scale, text_thickness)
    padding = max(2, round(4 * scale))
    label_width, label_height = text_width + 2 * padding, text_height + baseline + 2 * padding
    left = min(max(0, box.x), max(0, width - label_width))
    if box.y - label_height >= 0:
        top = box.y - label_height
    elif box.y + box.height + label_height <= height:
        top = box.y + box.height
    else:
        # A face filling the picture: the label goes inside the box's top edge.
        top = max(0, box.y)
    cv2.rectangle(canvas, (left, top), (left + label_width - 1, top + label_height - 1), fill, cv2.FILLED)
    origin = (left + padding, top + padding + text_height)
    cv2.putText(canvas, label, origin, FONT, font_scale, text, text_thickness, cv2.LINE_AA)


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    # Black on light backgrounds (the orange and grey), white on dark ones, by perceived brightness.
    red, green, blue = background
    return (0, 0, 0) if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else (255, 255, 255)
