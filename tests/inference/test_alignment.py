"""Aligned crops: the five landmarks frame each face as FER2013 frames its faces, and turn it upright."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.alignment import face_angle, face_crop, fer_transform, warp_to_crop
from inference.faces import Box, Face, detect_faces
from inference.images import decode_grey
from inference.labels import FACE_SIZE
from inference.preprocessing import crop_face
from inference.synthetic_frames import paste_face, textured_background


def rotated(grey: np.ndarray, centre: tuple[float, float], degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The picture turned counter-clockwise (as seen) by ``degrees`` about ``centre``, and the 2x3 matrix used."""
    import cv2

    matrix = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    turned = cv2.warpAffine(grey, matrix, (grey.shape[1], grey.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    return turned, matrix


def angle_between(right: np.ndarray, left: np.ndarray) -> float:
    return math.degrees(math.atan2(right[1] - left[1], left[0] - right[0]))


@pytest.fixture(scope="module")
def astronaut_face(astronaut_jpeg):  # type: ignore[no-untyped-def]
    grey = decode_grey(astronaut_jpeg)
    [face] = detect_faces(grey, detector="yunet")
    return grey, face


@pytest.mark.parametrize("degrees", [20, -20])
def test_a_real_face_rotated_by_20_degrees_comes_out_with_its_eyes_level(astronaut_face, degrees):
    grey, upright_face = astronaut_face
    centre = (upright_face.box.x + upright_face.box.width / 2, upright_face.box.y + upright_face.box.height / 2)
    turned, matrix = rotated(grey, centre, degrees)
    # Where the eyes really are in the turned picture: the upright face's eyes, turned with it.
    eyes = np.array([upright_face.landmarks.right_eye, upright_face.landmarks.left_eye]) @ matrix[:, :2].T
    eyes += matrix[:, 2]
    level_before = angle_between(*np.array([upright_face.landmarks.right_eye, upright_face.landmarks.left_eye]))
    assert angle_between(*eyes) == pytest.approx(level_before + degrees, abs=0.01)

    [face] = detect_faces(turned, detector="yunet")
    transform = fer_transform(face.landmarks, angle=face_angle(turned, face.landmarks))
    in_crop = eyes @ transform[:, :2].T + transform[:, 2]
    assert abs(angle_between(*in_crop)) < 6, "the eyes are level in the aligned crop"
    # Without turning, the crop keeps the tilt.
    not_turned = fer_transform(face.landmarks, angle=0.0)
    assert abs(angle_between(*(eyes @ not_turned[:, :2].T + not_turned[:, 2]))) > 15
    # face_crop is that transform applied.
    assert np.array_equal(face_crop(turned, face), warp_to_crop(turned, transform))
    # The eyes sit where FER2013's faces have them: about 17 pixels apart, 18 from the top.
    assert 13 < np.linalg.norm(in_crop[1] - in_crop[0]) < 22
    assert 14 < in_crop[:, 1].mean() < 23


def test_a_pasted_fer_face_is_framed_as_fer2013_framed_it(fer_faces):
    """The crop of a FER2013 face pasted into a frame covers about the 48x48 square it was pasted from.

    The crop follows FER2013's average framing (``FER_TEMPLATE``), not each face's own, so the
    pasted square lands in the crop a few pixels off, larger or smaller.
    """
    box = Box(200, 120, 220, 220)
    rng = np.random.default_rng(0)
    offsets, sides = [], []
    for image in fer_faces.images[:30, :, :, 0]:
        frame = paste_face(textured_background(rng), image, box=box)
        faces = detect_faces(frame, detector="yunet")
        if not faces:
            continue
        transform = fer_transform(faces[0].landmarks, angle=face_angle(frame, faces[0].landmarks))
        corners = np.array([[box.x, box.y], [box.x + box.width, box.y + box.height]], dtype=np.float64)
        mapped = corners @ transform[:, :2].T + transform[:, 2]
        offsets.append(np.linalg.norm(mapped.mean(axis=0) - FACE_SIZE / 2))
        sides.append(np.linalg.norm(mapped[1] - mapped[0]) / math.sqrt(2))
    assert len(offsets) >= 25
    # FER2013's crops vary (some show the shoulders, some only eyes to chin): most land close.
    assert np.median(offsets) < 5 and np.percentile(offsets, 75) < 8
    assert 0.85 * FACE_SIZE < np.median(sides) < 1.15 * FACE_SIZE


def test_a_face_without_landmarks_is_cut_from_its_box(astronaut_face):
    grey, face = astronaut_face
    boxed = Face(face.box)
    assert np.array_equal(face_crop(grey, boxed), crop_face(grey, face.box))


def test_a_face_at_the_edge_of_the_picture_is_filled_from_the_edge(astronaut_face):
    grey, face = astronaut_face
    shifted = grey[:, face.box.x + face.box.width // 2 :]
    [half] = detect_faces(np.ascontiguousarray(shifted), detector="yunet") or [None]
    if half is None:
        pytest.skip("the half face is not found")
    crop = face_crop(shifted, half)
    assert crop.shape == (FACE_SIZE, FACE_SIZE, 1) and crop.dtype == np.uint8


def test_a_large_face_is_shrunk_smoothly_not_sampled(astronaut_face):
    """A face much larger than 48 pixels is averaged down (as crop_face does), not aliased."""
    import cv2

    grey, face = astronaut_face
    large = cv2.resize(grey, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    [big] = detect_faces(large, detector="yunet")
    small, large_crop = face_crop(grey, face).astype(float), face_crop(large, big).astype(float)
    assert np.corrcoef(small.ravel(), large_crop.ravel())[0, 1] > 0.9
