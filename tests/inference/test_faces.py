from itertools import pairwise

import numpy as np

from inference.faces import AUDIENCE_SETTINGS, FaceMode, detect_faces
from inference.images import decode_grey
from inference.labels import FACE_SIZE
from inference.predictor import locate_faces
from inference.preprocessing import crop_face


def test_it_finds_the_face_in_a_real_photograph(astronaut_jpeg):
    grey = decode_grey(astronaut_jpeg)
    boxes = detect_faces(grey)
    assert len(boxes) == 1
    box = boxes[0]
    # The face in the resized astronaut photo lies around x 220-340, y 80-200.
    assert 180 < box.x + box.width / 2 < 380 and 60 < box.y + box.height / 2 < 240


def test_an_empty_frame_has_no_face():
    assert detect_faces(np.full((480, 640), 127, dtype=np.uint8)) == []


def test_all_mode_finds_every_pasted_face_and_largest_mode_the_biggest(fer_faces):
    import cv2

    frame = np.full((480, 960), 110, dtype=np.uint8)
    placements = [(40, 60, 200), (380, 100, 150), (700, 80, 180)]
    for (x, y, size), face in zip(placements, fer_faces.images[:40:13], strict=False):
        frame[y : y + size, x : x + size] = cv2.resize(face[:, :, 0], (size, size), interpolation=cv2.INTER_CUBIC)
    everyone = detect_faces(frame, mode=FaceMode.ALL, settings=AUDIENCE_SETTINGS)
    largest = detect_faces(frame, mode=FaceMode.LARGEST, settings=AUDIENCE_SETTINGS)
    assert len(everyone) >= 2
    assert len(largest) == 1 and largest[0] == everyone[0]
    assert all(a.area >= b.area for a, b in pairwise(everyone))


def test_a_face_crop_is_48_by_48_grey_and_clipped_at_the_edges(astronaut_jpeg):
    grey = decode_grey(astronaut_jpeg)
    crop = crop_face(grey, detect_faces(grey)[0])
    assert crop.shape == (FACE_SIZE, FACE_SIZE, 1) and crop.dtype == np.uint8
    from inference.faces import Box

    corner = crop_face(grey, Box(0, 0, 30, 30))
    assert corner.shape == (FACE_SIZE, FACE_SIZE, 1)


def test_a_small_tightly_cropped_face_is_found_and_its_box_stays_inside_the_image(fer_faces):
    found = [locate_faces(face[:, :, 0]) for face in fer_faces.images[:60]]
    assert sum(1 for faces in found if faces) >= 30
    for faces in found:
        for box, crop in faces:
            assert box.x >= 0 and box.y >= 0 and box.x + box.width <= 48 and box.y + box.height <= 48
            assert crop.shape == (FACE_SIZE, FACE_SIZE, 1)


def test_the_face_is_found_again_near_where_it_was(astronaut_jpeg):
    from inference.faces import Box, detect_face_near

    grey = decode_grey(astronaut_jpeg)
    [full] = detect_faces(grey)
    moved = Box(full.x + 15, full.y - 10, full.width, full.height)
    near = detect_face_near(grey, moved)
    assert near is not None
    assert abs(near.x - full.x) < full.width * 0.2 and abs(near.width - full.width) < full.width * 0.3
    assert detect_face_near(grey, Box(500, 350, 120, 120)) is None
