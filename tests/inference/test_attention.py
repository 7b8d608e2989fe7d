"""Attention from landmarks: whether a face looks at the screen (head turned less than about 30°)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.attention import LOOKING_AWAY_DEGREES, NOSE_DEPTH, head_turn, looks_at_screen
from inference.faces import Landmarks, detect_faces
from inference.images import decode_grey


def turned_head(grey: np.ndarray, landmarks: Landmarks, degrees: float) -> np.ndarray:
    """The photograph with the head turned sideways by ``degrees``, drawn as if the face were a cylinder.

    The cylinder stands on the eyes' midpoint with a radius of 2.2 half eye distances (a head's
    front); each column of it is moved to where it would be seen after the turn.
    """
    import cv2

    centre = (landmarks.right_eye[0] + landmarks.left_eye[0]) / 2
    radius = 2.2 * (landmarks.left_eye[0] - landmarks.right_eye[0]) / 2
    columns = np.arange(grey.shape[1], dtype=np.float64)
    offset = np.clip((columns - centre) / radius, -1, 1)
    source = centre + radius * np.sin(np.arcsin(offset) - math.radians(degrees))
    source = np.where(np.abs(columns - centre) < radius, source, columns)
    map_x = np.tile(source.astype(np.float32), (grey.shape[0], 1))
    map_y = np.tile(np.arange(grey.shape[0], dtype=np.float32)[:, None], (1, grey.shape[1]))
    return cv2.remap(grey, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def model_landmarks(turn: float, *, roll: float = 0.0) -> Landmarks:
    """Landmarks of the estimate's own head model, turned by ``turn`` and tilted by ``roll`` degrees, in pixels."""
    half_eye = 30.0
    points = np.array(
        [
            [-1.0, 0.0, 0.0],  # right eye, in half eye distances: x across, y down, z towards the camera
            [1.0, 0.0, 0.0],
            [0.0, 0.9, NOSE_DEPTH],
            [-0.8, 1.7, 0.0],
            [0.8, 1.7, 0.0],
        ]
    )
    angle = math.radians(turn)
    x = points[:, 0] * math.cos(angle) + points[:, 2] * math.sin(angle)
    flat = np.stack([x, points[:, 1]], axis=1)
    tilt = math.radians(roll)
    rotation = np.array([[math.cos(tilt), math.sin(tilt)], [-math.sin(tilt), math.cos(tilt)]])
    return Landmarks.from_array(flat @ rotation.T * half_eye + [320, 240])


@pytest.fixture(scope="module")
def astronaut_face(astronaut_jpeg):  # type: ignore[no-untyped-def]
    grey = decode_grey(astronaut_jpeg)
    [face] = detect_faces(grey, detector="yunet")
    return grey, face


@pytest.mark.parametrize("turn", [0, 15, 25, 40, 60])
def test_the_estimate_recovers_the_turn_of_its_head_model_whatever_the_tilt(turn):
    for roll in (0, 20, -25):
        for sign in (1, -1):
            estimate = head_turn(model_landmarks(sign * turn, roll=roll))
            assert estimate == pytest.approx(sign * turn, abs=0.5)


def test_a_face_turned_past_the_limit_is_not_looking_and_one_within_it_is():
    assert looks_at_screen(model_landmarks(LOOKING_AWAY_DEGREES - 5)) is True
    assert looks_at_screen(model_landmarks(-(LOOKING_AWAY_DEGREES - 5), roll=15)) is True
    assert looks_at_screen(model_landmarks(LOOKING_AWAY_DEGREES + 5)) is False
    assert looks_at_screen(model_landmarks(-(LOOKING_AWAY_DEGREES + 5), roll=-15)) is False


def test_without_landmarks_attention_is_unknown():
    assert looks_at_screen(None) is None
    point = (100.0, 100.0)
    assert head_turn(Landmarks(point, point, point, point, point)) is None


def test_a_real_face_looking_at_the_camera_looks_at_the_screen(astronaut_face):
    _, face = astronaut_face
    assert abs(head_turn(face.landmarks)) < 15
    assert looks_at_screen(face.landmarks) is True


@pytest.mark.parametrize("degrees", [-20, -10, 10, 20])
def test_a_real_face_turned_a_little_still_looks_at_the_screen(astronaut_face, degrees):
    grey, face = astronaut_face
    [turned] = detect_faces(turned_head(grey, face.landmarks, degrees), detector="yunet")
    assert looks_at_screen(turned.landmarks) is True


@pytest.mark.parametrize("degrees", [-50, 50])
def test_a_real_face_turned_well_away_does_not_look_at_the_screen(astronaut_face, degrees):
    grey, face = astronaut_face
    [turned] = detect_faces(turned_head(grey, face.landmarks, degrees), detector="yunet")
    assert looks_at_screen(turned.landmarks) is False
    assert math.copysign(1, head_turn(turned.landmarks)) == math.copysign(1, degrees)


def test_the_reading_and_the_face_result_carry_the_attention(astronaut_jpeg):
    from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor
    from inference.serving import Reading

    yunet = EmotionPredictor(DEFAULT_MODEL_PATH, views=1, precision="int8", detector="yunet")
    [[face]] = yunet.predict([astronaut_jpeg])
    assert face.looking_at_screen is True and face.landmarks is not None
    assert face.as_dict()["looking_at_screen"] is True and len(face.as_dict()["landmarks"]) == 5
    assert Reading(face, yunet.version).looking_at_screen is True
    assert Reading(None, yunet.version).looking_at_screen is None
    haar = EmotionPredictor(DEFAULT_MODEL_PATH, views=1, precision="int8", detector="haar")
    [[boxed]] = haar.predict([astronaut_jpeg])
    assert boxed.looking_at_screen is None and boxed.as_dict()["landmarks"] is None
