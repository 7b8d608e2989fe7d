"""Webcam-like test frames: real faces pasted into 640x480 frames on a textured background, seeded.

FER2013's faces are 48x48 crops; a participant's face in a webcam frame is 160-260 pixels wide
somewhere in a 640x480 picture with a room behind it. The end-to-end evaluation
(``evaluate_emotion_model --frames paste``), the detector benchmark (benchmarks/face_search.py)
and the tests all measure on frames made here, so they measure the same thing.

A frame's face is scaled (and, with ``tilt``, rotated about its centre by ``+tilt`` or
``-tilt`` degrees, at random) straight onto the background in one affine warp, so no empty
corners show around a tilted face. The background is smooth shading plus finer blotches and
a few straight edges, like a wall, furniture and a door frame, so a detector can find false
faces in it as it could in a room.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from inference.faces import Box

FRAME_WIDTH, FRAME_HEIGHT = 640, 480
# A participant at a laptop webcam: the face spans a third to a half of the frame's height.
FACE_SIDES = (160, 260)


@dataclass(frozen=True)
class SyntheticFrame:
    """One frame (grey uint8, 480x640) and where its face was put: the pasted square, or None for no face."""

    grey: np.ndarray
    face: Box | None
    tilt: float = 0.0

    def jpeg(self, quality: int = 85) -> bytes:
        """The frame as a JPEG, as the watch page sends it."""
        ok, encoded = cv2.imencode(".jpg", self.grey, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("could not encode the frame as a JPEG")
        return encoded.tobytes()


def textured_background(
    rng: np.random.Generator, *, width: int = FRAME_WIDTH, height: int = FRAME_HEIGHT
) -> np.ndarray:
    """A grey room-like background: broad shading, finer blotches and a few straight edges."""
    coarse = cv2.resize(rng.uniform(40, 200, (6, 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    fine = cv2.resize(
        rng.uniform(-25, 25, (48, 64)).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
    )
    gradient = np.linspace(-20, 20, width, dtype=np.float32)[None, :]
    background = coarse + fine + gradient
    for _ in range(int(rng.integers(1, 4))):
        # A vertical or horizontal edge (a door frame, a shelf) with a step in brightness.
        shift = float(rng.uniform(-40, 40))
        if rng.random() < 0.5:
            column = int(rng.integers(0, width))
            background[:, column:] += shift
        else:
            row = int(rng.integers(0, height))
            background[row:, :] += shift
    return np.clip(background, 0, 255).astype(np.uint8)


def paste_face(background: np.ndarray, face: np.ndarray, *, box: Box, tilt: float = 0.0) -> np.ndarray:
    """``background`` with ``face`` (grey, any square size) scaled into ``box`` and rotated by ``tilt`` degrees.

    Positive ``tilt`` turns the face counter-clockwise as seen in the picture (OpenCV's sense).
    """
    side = face.shape[0]
    centre = (box.x + box.width / 2, box.y + box.height / 2)
    scale = box.width / side
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), tilt, scale)
    matrix[:, 2] += np.array(centre) - np.array([side / 2, side / 2])
    frame = background.copy()
    cv2.warpAffine(
        np.ascontiguousarray(face.reshape(side, side)),
        matrix,
        (frame.shape[1], frame.shape[0]),
        dst=frame,
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_TRANSPARENT,
    )
    return frame


def pasted_frames(
    faces: np.ndarray,
    *,
    seed: int = 0,
    tilt: float = 0.0,
    empty_share: float = 0.0,
    sides: tuple[int, int] = FACE_SIDES,
    width: int = FRAME_WIDTH,
    height: int = FRAME_HEIGHT,
) -> Iterator[SyntheticFrame]:
    """One frame per face of ``faces`` (n x s x s or n x s x s x 1 grey), in order, each on its own background.

    Each face gets a random side in ``sides`` (inclusive) and a random place wholly inside the
    frame, and is tilted by ``+tilt`` or ``-tilt`` degrees at random. With ``empty_share`` > 0,
    about that share of extra frames without a face are mixed in (``face`` None), to count the
    boxes a detector finds in an empty room. The same seed gives the same frames.
    """
    rng = np.random.default_rng(seed)
    for face in faces:
        while empty_share > 0 and rng.random() < empty_share:
            yield SyntheticFrame(textured_background(rng, width=width, height=height), None)
        side = int(rng.integers(sides[0], sides[1] + 1))
        # Room for the tilted square's corners too, so the whole face stays in the frame.
        reach = side * (abs(np.cos(np.radians(tilt))) + abs(np.sin(np.radians(tilt)))) / 2
        centre_x = float(rng.uniform(reach, width - reach))
        centre_y = float(rng.uniform(reach, height - reach))
        signed_tilt = tilt if rng.random() < 0.5 else -tilt
        box = Box(round(centre_x - side / 2), round(centre_y - side / 2), side, side)
        background = textured_background(rng, width=width, height=height)
        yield SyntheticFrame(paste_face(background, face, box=box, tilt=signed_tilt), box, signed_tilt)


def viewer_frames(
    faces: np.ndarray,
    *,
    seed: int = 0,
    empty_share: float = 0.0,
    jitter: float = 0.04,
    sides: tuple[int, int] = FACE_SIDES,
    width: int = FRAME_WIDTH,
    height: int = FRAME_HEIGHT,
) -> Iterator[SyntheticFrame]:
    """One viewer's webcam over time: one frame per face of ``faces``, each in this viewer's seat.

    A viewer sits in one room at one distance: the background and the face's place and size are
    drawn once (seeded), and from frame to frame the face moves by up to ``jitter`` of its side
    and changes size by as much, as a seated head does. Each frame shows another FER2013 face
    (another expression, and another person: the detector and network get no easier frame
    for having seen the last). With ``empty_share`` > 0, that share of frames shows the room
    alone (the viewer looked away or left).
    """
    rng = np.random.default_rng(seed)
    background = textured_background(rng, width=width, height=height)
    side = int(rng.integers(sides[0], sides[1] + 1))
    reach = side * (1 + jitter) / 2 + side * jitter
    centre = (float(rng.uniform(reach, width - reach)), float(rng.uniform(reach, height - reach)))
    for face in faces:
        if empty_share > 0 and rng.random() < empty_share:
            yield SyntheticFrame(background.copy(), None)
            continue
        moved = round(side * (1 + float(rng.uniform(-jitter, jitter))))
        centre_x = centre[0] + float(rng.uniform(-jitter, jitter)) * side
        centre_y = centre[1] + float(rng.uniform(-jitter, jitter)) * side
        box = Box(round(centre_x - moved / 2), round(centre_y - moved / 2), moved, moved)
        yield SyntheticFrame(paste_face(background, face, box=box), box)


# A box is the pasted face when it overlaps the pasted square by an IoU of 0.3 or more, or lies
# mostly inside it without being a mere part of it (an eye, a mouth). The second rule is for
# FER2013's loosely framed crops (hair, neck and shoulders shown), where a correct box around
# the face itself overlaps the whole square by an IoU of only 0.1. A box in the background is
# neither.
FOUND_OVERLAP = 0.3
INSIDE_SHARE = 0.5
SMALLEST_SHARE_OF_SIDE = 0.2


def is_the_face(found: Box, truth: Box) -> bool:
    """Whether a detected box is the pasted face (see ``FOUND_OVERLAP`` and ``INSIDE_SHARE``)."""
    if found.overlap(truth) >= FOUND_OVERLAP:
        return True
    inside = found.intersection(truth) >= INSIDE_SHARE * found.area
    return inside and found.width >= SMALLEST_SHARE_OF_SIDE * truth.width
