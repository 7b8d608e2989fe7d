"""The network's input from a detected face: one 48x48 crop, framed as FER2013 frames its faces.

``face_crop`` is the one function serving, image and video analysis and evaluation use. With
landmarks (YuNet) it maps the five points onto where they sit in an average FER2013 face
(``FER_TEMPLATE``) by a similarity transform: the same framing, scale and position as the faces
the model was trained on; with ``upright`` it also rotates the face so the eyes are level.
Without landmarks (the Haar cascade) it cuts the box out with a margin
(``inference.preprocessing.crop_face``).

How far to rotate comes from the eyes, but not from YuNet's eye landmarks alone: they are
pulled towards an upright face, the more so the smaller the face is in YuNet's input (a face
pasted 15° tilted at 160-260 pixels reads 2° in the whole-frame search copy and 7° in a closer
look; scikit-image's astronaut turned by 20° reads 2°). The irises are not: each eye is taken
at the darkest point (after a blur) within ``IRIS_SEARCH`` eye distances of its landmark, which
reads the same faces' 15° as 15° (median error 4°) and the astronaut's 20° as 22°.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from inference.faces import Face, Landmarks
from inference.labels import FACE_SIZE
from inference.preprocessing import crop_face

# Where YuNet puts the five landmarks in FER2013's own faces when it finds them as serving
# does: the median over 2,870 Training faces, each pasted into a 640x480 frame at 160-260 pixels
# (inference.synthetic_frames) and found with live capture's whole-frame search, in the
# pasted face's 48x48 coordinates, made left-right symmetric. (YuNet reads landmarks a little
# differently at each scale: on the same faces enlarged to fill 224 pixels it puts the eyes
# 0.8 pixels lower and the mouth corners 1.6 pixels closer together.)
FER_TEMPLATE = np.array(
    [
        [15.2, 18.2],  # right eye (the image's left)
        [32.8, 18.2],  # left eye
        [24.0, 28.2],  # nose tip
        [16.6, 36.2],  # right mouth corner
        [31.4, 36.2],  # left mouth corner
    ]
)
# Each eye's iris is looked for within this many eye distances of its landmark, in the
# picture blurred by IRIS_BLUR eye distances (so a dark eyelash or a pixel of noise is not it).
# The eyebrows lie about 0.3 eye distances above the eyes.
IRIS_SEARCH = 0.22
IRIS_BLUR = 0.07
# Whether serving rotates faces upright: decided by end-to-end measurement
# (``evaluate_emotion_model --frames paste``, with and without ``--tilt 15``; the model card).
UPRIGHT = True


def eye_angle(landmarks: Landmarks) -> float:
    """The angle of the line between the eye landmarks in degrees, counter-clockwise as seen (0: level)."""
    return _line_angle(landmarks.right_eye, landmarks.left_eye)


def _line_angle(right: tuple[float, float], left: tuple[float, float]) -> float:
    # Counter-clockwise as seen (y grows downwards), OpenCV's sense of rotation.
    return math.degrees(math.atan2(right[1] - left[1], left[0] - right[0]))


def face_angle(grey: np.ndarray, landmarks: Landmarks) -> float:
    """How far the face is tilted, in degrees counter-clockwise as seen: the angle of the line between its irises."""
    span = math.dist(landmarks.right_eye, landmarks.left_eye)
    if span < 4:
        return eye_angle(landmarks)
    right, left = (_iris(grey, eye, span) for eye in (landmarks.right_eye, landmarks.left_eye))
    return _line_angle(right, left)


def _iris(grey: np.ndarray, eye: tuple[float, float], span: float) -> tuple[float, float]:
    """The darkest point of the blurred picture within ``IRIS_SEARCH`` eye distances of ``eye``."""
    radius = max(2, round(span * IRIS_SEARCH))
    left, top = round(eye[0]) - radius, round(eye[1]) - radius
    region = _region(grey, left, top, left + 2 * radius + 1, top + 2 * radius + 1).astype(np.float32)
    patch = np.asarray(cv2.GaussianBlur(region, (0, 0), max(0.8, span * IRIS_BLUR)), dtype=np.float32)
    rows, columns = np.ogrid[: patch.shape[0], : patch.shape[1]]
    outside = (columns - (eye[0] - left)) ** 2 + (rows - (eye[1] - top)) ** 2 > radius**2
    patch[outside] = np.inf
    row, column = np.unravel_index(int(np.argmin(patch)), patch.shape)
    return (float(column + left), float(row + top))


def fer_transform(landmarks: Landmarks, *, angle: float = 0.0) -> np.ndarray:
    """The 2x3 similarity transform from image pixels to the 48x48 crop.

    It turns the picture clockwise by ``angle`` degrees (``face_angle``: the face comes out
    upright; 0: not turned); scale and shift are the least-squares fit of all five landmarks
    onto ``FER_TEMPLATE`` under that rotation.
    """
    points = landmarks.as_array()
    angle = math.radians(angle)
    # Turning the picture clockwise (as seen) by the eye line's angle brings the eyes level.
    cosine, sine = math.cos(angle), math.sin(angle)
    rotation = np.array([[cosine, -sine], [sine, cosine]])
    rotated = points @ rotation.T
    rotated_centre, template_centre = rotated.mean(axis=0), FER_TEMPLATE.mean(axis=0)
    spread = float(((rotated - rotated_centre) ** 2).sum())
    scale = float(((rotated - rotated_centre) * (FER_TEMPLATE - template_centre)).sum()) / max(spread, 1e-9)
    linear = scale * rotation
    shift = template_centre - scale * rotated_centre
    return np.hstack([linear, shift[:, None]])


def face_crop(grey: np.ndarray, face: Face, *, upright: bool = UPRIGHT) -> np.ndarray:
    """The network's 48x48x1 grey crop of ``face`` (values 0-255), parts outside the image filled from its edge."""
    if face.landmarks is None:
        return crop_face(grey, face.box)
    angle = face_angle(grey, face.landmarks) if upright else 0.0
    return warp_to_crop(grey, fer_transform(face.landmarks, angle=angle))


def warp_to_crop(grey: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """``grey`` under ``transform`` (image pixels to crop pixels), as a 48x48x1 crop.

    A face larger than the crop is first shrunk with area averaging, as ``crop_face`` does,
    so the crop is not aliased; only the region that lands in the crop is touched.
    """
    scale = math.sqrt(abs(float(np.linalg.det(transform[:, :2]))))
    inverse = cv2.invertAffineTransform(transform)
    corners = np.array([[0, 0, 1], [FACE_SIZE, 0, 1], [0, FACE_SIZE, 1], [FACE_SIZE, FACE_SIZE, 1]], dtype=np.float64)
    reach = corners @ inverse.T
    left, top = np.floor(reach.min(axis=0)).astype(int) - 2
    right, bottom = np.ceil(reach.max(axis=0)).astype(int) + 2
    region = _region(grey, left, top, right, bottom)
    linear, shift = transform[:, :2], transform[:, 2] + transform[:, :2] @ np.array([left, top], dtype=np.float64)
    if scale < 1.0:
        width = max(1, round(region.shape[1] * scale))
        height = max(1, round(region.shape[0] * scale))
        ratio_x, ratio_y = width / region.shape[1], height / region.shape[0]
        region = cv2.resize(region, (width, height), interpolation=cv2.INTER_AREA)
        linear = linear @ np.diag([1 / ratio_x, 1 / ratio_y])
    matrix = np.hstack([linear, shift[:, None]])
    crop = cv2.warpAffine(
        region, matrix, (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return crop[:, :, None]


def _region(grey: np.ndarray, left: int, top: int, right: int, bottom: int) -> np.ndarray:
    """``grey[top:bottom, left:right]``, padded with its edge pixels where that lies outside the image."""
    height, width = grey.shape[:2]
    inside = grey[max(0, top) : max(0, min(height, bottom)), max(0, left) : max(0, min(width, right))]
    if inside.size == 0:
        return np.full((max(1, bottom - top), max(1, right - left)), int(grey.mean()), dtype=grey.dtype)
    pads = (max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width))
    if any(pads):
        inside = cv2.copyMakeBorder(inside, *pads, cv2.BORDER_REPLICATE)
    return inside
