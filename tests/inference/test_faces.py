"""Face detection with YuNet (the default) and the Haar cascade, on real faces."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import pytest

from inference import config as config_module
from inference.config import ServingConfig
from inference.faces import AUDIENCE_SETTINGS, Box, FaceMode, configured_detector, detect_face_near, detect_faces
from inference.images import decode_grey
from inference.labels import FACE_SIZE
from inference.predictor import locate_faces
from inference.preprocessing import crop_face
from inference.synthetic_frames import is_the_face, pasted_frames

DETECTORS = ["yunet", "haar"]


@pytest.fixture(scope="module")
def astronaut(astronaut_jpeg) -> np.ndarray:  # type: ignore[no-untyped-def]
    return decode_grey(astronaut_jpeg)


@pytest.mark.parametrize("detector", DETECTORS)
def test_it_finds_the_face_in_a_real_photograph(astronaut, detector):
    faces = detect_faces(astronaut, detector=detector)
    assert len(faces) == 1
    box = faces[0].box
    # The face in the resized astronaut photo lies around x 220-340, y 80-200.
    assert 180 < box.x + box.width / 2 < 380 and 60 < box.y + box.height / 2 < 240


def test_yunet_gives_the_five_landmarks_where_the_eyes_nose_and_mouth_are(astronaut):
    [face] = detect_faces(astronaut, detector="yunet")
    marks = face.landmarks
    assert marks is not None and face.score is not None and face.score > 0.6
    box = face.box
    for x, y in marks.as_array():
        assert box.x <= x <= box.x + box.width and box.y <= y <= box.y + box.height
    # The person's right eye is on the image's left; eyes above the nose, the nose above the mouth.
    assert marks.right_eye[0] < marks.nose[0] < marks.left_eye[0]
    assert max(marks.right_eye[1], marks.left_eye[1]) < marks.nose[1] < min(marks.right_mouth[1], marks.left_mouth[1])


def test_the_haar_cascade_gives_no_landmarks(astronaut):
    [face] = detect_faces(astronaut, detector="haar")
    assert face.landmarks is None and face.score is None


@pytest.mark.parametrize("detector", DETECTORS)
def test_an_empty_frame_has_no_face(detector):
    assert detect_faces(np.full((480, 640), 127, dtype=np.uint8), detector=detector) == []


@pytest.mark.parametrize("detector", DETECTORS)
def test_all_mode_finds_every_pasted_face_and_largest_mode_the_biggest(fer_faces, detector):
    import cv2

    frame = np.full((480, 960), 110, dtype=np.uint8)
    placements = [(40, 60, 200), (380, 100, 150), (700, 80, 180)]
    for (x, y, size), face in zip(placements, fer_faces.images[:40:13], strict=False):
        frame[y : y + size, x : x + size] = cv2.resize(face[:, :, 0], (size, size), interpolation=cv2.INTER_CUBIC)
    everyone = detect_faces(frame, mode=FaceMode.ALL, settings=AUDIENCE_SETTINGS, detector=detector)
    largest = detect_faces(frame, mode=FaceMode.LARGEST, settings=AUDIENCE_SETTINGS, detector=detector)
    assert len(everyone) >= 2
    assert len(largest) == 1 and largest[0] == everyone[0]
    assert all(a.box.area >= b.box.area for a, b in pairwise(everyone))


def test_yunet_finds_every_face_of_a_group_photo_in_all_mode(fer_faces):
    import cv2

    frame = np.full((480, 960), 110, dtype=np.uint8)
    placements = [(40, 60, 200), (380, 100, 150), (700, 80, 180)]
    for (x, y, size), face in zip(placements, fer_faces.images[:40:13], strict=False):
        frame[y : y + size, x : x + size] = cv2.resize(face[:, :, 0], (size, size), interpolation=cv2.INTER_CUBIC)
    everyone = detect_faces(frame, mode=FaceMode.ALL, settings=AUDIENCE_SETTINGS, detector="yunet")
    pasted = [Box(x, y, size, size) for x, y, size in placements]
    assert all(any(is_the_face(face.box, square) for face in everyone) for square in pasted)


@pytest.mark.parametrize(("detector", "least"), [("yunet", 0.85), ("haar", 0.6)])
def test_faces_pasted_into_webcam_frames_are_found(fer_faces, detector, least):
    """40 real faces at 160-260 px on a textured background: YuNet finds 95% of such faces, Haar 80%
    (benchmarks/face_search.py); these bounds leave room for the sample's luck."""
    frames = list(pasted_frames(fer_faces.images[:40], seed=4))
    found = 0
    for frame in frames:
        faces = detect_faces(decode_grey(frame.jpeg()), detector=detector)
        found += bool(faces) and is_the_face(faces[0].box, frame.face)
    assert found / len(frames) >= least


def test_yunet_finds_no_face_in_frames_without_one():
    frames = [frame for frame in pasted_frames(np.zeros((10, 48, 48, 1), np.uint8), seed=2, empty_share=0.6)]
    empty = [frame for frame in frames if frame.face is None]
    assert len(empty) >= 5
    boxes = sum(len(detect_faces(frame.grey, mode=FaceMode.ALL, detector="yunet")) for frame in empty)
    assert boxes <= 1


def test_a_face_crop_is_48_by_48_grey_and_clipped_at_the_edges(astronaut):
    crop = crop_face(astronaut, detect_faces(astronaut, detector="haar")[0].box)
    assert crop.shape == (FACE_SIZE, FACE_SIZE, 1) and crop.dtype == np.uint8
    corner = crop_face(astronaut, Box(0, 0, 30, 30))
    assert corner.shape == (FACE_SIZE, FACE_SIZE, 1)


@pytest.mark.parametrize(("detector", "least"), [("yunet", 55), ("haar", 30)])
def test_a_small_tightly_cropped_face_is_found_and_its_box_stays_inside_the_image(fer_faces, detector, least):
    """FER2013's own 48x48 faces are enlarged for the search: YuNet finds nearly all, the cascade about half."""
    found = [locate_faces(face[:, :, 0], detector=detector) for face in fer_faces.images[:60]]
    assert sum(1 for faces in found if faces) >= least
    for faces in found:
        for located in faces:
            box = located.box
            assert box.x >= 0 and box.y >= 0 and box.x + box.width <= 48 and box.y + box.height <= 48
            assert located.crop.shape == (FACE_SIZE, FACE_SIZE, 1)


@pytest.mark.parametrize("detector", DETECTORS)
def test_the_face_is_found_again_near_where_it_was(astronaut, detector):
    [full] = detect_faces(astronaut, detector=detector)
    moved = Box(full.box.x + 15, full.box.y - 10, full.box.width, full.box.height)
    near = detect_face_near(astronaut, moved, detector=detector)
    assert near is not None
    assert abs(near.box.x - full.box.x) < full.box.width * 0.2
    assert abs(near.box.width - full.box.width) < full.box.width * 0.3
    assert detect_face_near(astronaut, Box(500, 350, 120, 120), detector=detector) is None


def test_yunet_can_search_from_several_threads_at_once(astronaut):
    """cv2.FaceDetectorYN keeps state per call; each thread has its own, so results do not mix."""
    expected = detect_faces(astronaut, detector="yunet")
    small = astronaut[::2, ::2].copy()
    expected_small = detect_faces(small, detector="yunet")
    barrier = threading.Barrier(4)

    def search(index: int):  # type: ignore[no-untyped-def]
        barrier.wait()
        image = astronaut if index % 2 else small
        return [detect_faces(image, detector="yunet") for _ in range(5)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(search, range(4)))
    for index, runs in enumerate(results):
        assert all(run == (expected if index % 2 else expected_small) for run in runs)


def test_the_detector_is_the_configured_one_unless_named(monkeypatch, astronaut):
    monkeypatch.setattr(config_module, "_configured", ServingConfig(face_detector="haar"))
    assert configured_detector() == "haar"
    assert detect_faces(astronaut)[0].landmarks is None
    assert detect_faces(astronaut, detector="yunet")[0].landmarks is not None
    monkeypatch.setattr(config_module, "_configured", ServingConfig())
    assert configured_detector() == "yunet"


def test_an_unknown_detector_is_refused(astronaut):
    with pytest.raises(ValueError, match="must be one of"):
        detect_faces(astronaut, detector="dlib")
