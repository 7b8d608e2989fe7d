"""Whether a face looks at the screen, estimated from its five landmarks: how far the head is turned sideways.

When the head turns by an angle ψ about the vertical axis, the eyes and the mouth corners (all
about as far back) move towards each other by cos ψ, while the nose tip, which stands in front
of them, moves sideways by its depth times sin ψ. Measured along the eye line (so a tilted head
is no different), the nose tip's offset from the eyes' midpoint, in half eye distances, is
``NOSE_DEPTH · tan ψ``; so is its offset from the mouth corners' midpoint. The estimate averages
the two:

    ψ = atan(mean(offset from the eyes, offset from the mouth) / NOSE_DEPTH)

``NOSE_DEPTH`` 0.7 is a generic adult head's (the nose tip about 22 mm in front of the eyes at
an interpupillary distance of 63 mm). Checked on a real photograph, scikit-image's astronaut
(tests/inference/test_attention.py), turned by mapping the face onto a cylinder: YuNet's
landmarks read the photograph itself as turned -7° (she faces a little to one side), turned
by ±20° as -11° and +11°, by ±40° as -34° and +29°, by ±50° as -42° and +35°. No head-pose
data set with measured angles was available to calibrate it further. Nodding (the
head turned up or down) is not estimated.
"""

from __future__ import annotations

import math

import numpy as np

from inference.faces import Landmarks

NOSE_DEPTH = 0.7
# A face turned further sideways than this is taken to look away from the screen.
LOOKING_AWAY_DEGREES = 30.0


def head_turn(landmarks: Landmarks) -> float | None:
    """The head's sideways turn in degrees: 0 facing the camera, positive with the nose towards the image's right.

    None when the landmarks cannot tell (both eyes on one point).
    """
    right_eye, left_eye, nose, right_mouth, left_mouth = landmarks.as_array()
    eye_span = float(np.linalg.norm(left_eye - right_eye))
    if eye_span < 1e-6:
        return None
    across = (left_eye - right_eye) / eye_span
    from_eyes = float((nose - (right_eye + left_eye) / 2) @ across) / (eye_span / 2)
    from_mouth = float((nose - (right_mouth + left_mouth) / 2) @ across) / (eye_span / 2)
    return math.degrees(math.atan((from_eyes + from_mouth) / 2 / NOSE_DEPTH))


def looks_at_screen(landmarks: Landmarks | None) -> bool | None:
    """Whether the head is turned less than ``LOOKING_AWAY_DEGREES`` sideways; None without landmarks (Haar)."""
    if landmarks is None:
        return None
    turn = head_turn(landmarks)
    return None if turn is None else abs(turn) < LOOKING_AWAY_DEGREES
