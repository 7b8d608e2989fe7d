"""End-to-end evaluation: faces pasted into webcam-like frames, through the whole serving pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import call_command

from inference.evaluation import evaluate_frames
from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor
from inference.synthetic_frames import FRAME_HEIGHT, FRAME_WIDTH, pasted_frames


@pytest.fixture(scope="module")
def predictor() -> EmotionPredictor:
    return EmotionPredictor(DEFAULT_MODEL_PATH, views=1, precision="int8", detector="yunet")


def test_the_frames_are_webcam_sized_seeded_and_hold_the_face_inside(fer_faces):
    first = list(pasted_frames(fer_faces.images[:20], seed=5, tilt=15, empty_share=0.3))
    again = list(pasted_frames(fer_faces.images[:20], seed=5, tilt=15, empty_share=0.3))
    other = list(pasted_frames(fer_faces.images[:20], seed=6, tilt=15, empty_share=0.3))
    assert all(np.array_equal(a.grey, b.grey) and a.face == b.face for a, b in zip(first, again, strict=True))
    assert [frame.face for frame in first] != [frame.face for frame in other]
    with_face = [frame for frame in first if frame.face is not None]
    assert len(with_face) == 20 and len(first) > 20, "one frame per face, and some without one"
    for frame in first:
        assert frame.grey.shape == (FRAME_HEIGHT, FRAME_WIDTH) and frame.grey.dtype == np.uint8
    for frame in with_face:
        box = frame.face
        assert 160 <= box.width == box.height <= 260
        assert box.x >= 0 and box.y >= 0 and box.x + box.width <= FRAME_WIDTH and box.y + box.height <= FRAME_HEIGHT
        assert abs(frame.tilt) == 15
    assert {np.sign(frame.tilt) for frame in with_face} == {-1, 1}


def test_the_pasted_faces_are_found_and_read_through_the_whole_pipeline(predictor, fer_faces):
    faces = fer_faces.__class__(fer_faces.images[:24], fer_faces.labels[:24])
    report = evaluate_frames(predictor, faces, seed=1)
    assert report.n == 24 and report.face_found_rate is not None
    assert report.face_found_rate >= 0.8
    assert 0.35 <= report.accuracy <= report.face_found_rate
    assert report.confusion.sum() == round(report.face_found_rate * 24)
    assert report.accuracy_when_found == pytest.approx(report.accuracy / report.face_found_rate)
    assert evaluate_frames(predictor, faces, seed=1).as_dict() == report.as_dict()


def test_the_command_evaluates_tilted_pasted_faces_and_prints_json(fer_csv, tmp_path, capsys):
    png = tmp_path / "confusion.png"
    call_command(
        "evaluate_emotion_model", data=str(fer_csv), usage="PublicTest", limit=12, frames="paste", tilt=15,
        views=1, precision="int8", detector="yunet", json=True, confusion_png=str(png),
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n"] == 12
    assert 0 <= report["accuracy"] <= report["face_found_rate"] <= 1
    assert report["face_found_rate"] >= 0.7
    assert png.read_bytes().startswith(b"\x89PNG")


def test_the_command_can_use_the_haar_cascade_without_turning_faces(fer_csv, tmp_path, capsys):
    call_command(
        "evaluate_emotion_model", data=str(fer_csv), usage="PublicTest", limit=8, frames="paste", views=1,
        precision="int8", detector="haar", upright=False, json=True, confusion_png=str(tmp_path / "c.png"),
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n"] == 8 and 0 <= report["face_found_rate"] <= 1


def test_without_alignment_a_yunet_face_is_cropped_from_its_box_as_a_haar_face_is(astronaut_jpeg):
    from inference.alignment import crop_face, face_crop
    from inference.faces import detect_faces
    from inference.images import decode_grey
    from inference.predictor import locate_faces

    grey = decode_grey(astronaut_jpeg)
    [face] = detect_faces(grey, detector="yunet")
    [aligned] = locate_faces(grey, detector="yunet")
    [boxed] = locate_faces(grey, detector="yunet", align=False)
    assert np.array_equal(aligned.crop, face_crop(grey, face))
    assert np.array_equal(boxed.crop, crop_face(grey, face.box))
    assert not np.array_equal(aligned.crop, boxed.crop)
    assert boxed.landmarks is not None  # still known, for attention


def test_a_viewers_frames_keep_the_seat_and_room_and_change_the_face(fer_faces):
    from inference.synthetic_frames import viewer_frames

    frames = list(viewer_frames(fer_faces.images[:30], seed=4, empty_share=0.2))
    assert len(frames) == 30
    seated = [frame for frame in frames if frame.face is not None]
    empty = [frame for frame in frames if frame.face is None]
    assert empty and len(seated) >= 15
    first = seated[0].face
    for frame in seated:
        box = frame.face
        assert abs(box.width - first.width) <= 0.1 * first.width
        assert abs(box.x - first.x) <= 0.2 * first.width and abs(box.y - first.y) <= 0.2 * first.width
        assert box.x >= 0 and box.y >= 0 and box.x + box.width <= FRAME_WIDTH and box.y + box.height <= FRAME_HEIGHT
    # The same room behind every frame; another face in front each time.
    assert np.array_equal(empty[0].grey, empty[-1].grey)
    assert not np.array_equal(seated[0].grey, seated[1].grey)
    assert [f.face for f in viewer_frames(fer_faces.images[:30], seed=4, empty_share=0.2)] == [f.face for f in frames]
