"""analyze_image and write_image_outputs on real photographs and real FER2013 faces."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from inference.annotation import draw_faces, emotion_rgb, overlay_mask
from inference.faces import Box, FaceMode
from inference.image_analysis import IMAGE_SETTINGS, analyze_image, analyze_images, write_image_outputs
from inference.images import InvalidImage, decode_colour, decode_grey
from inference.labels import EMOTIONS
from inference.predictor import FaceResult
from tests.inference.conftest import encode

SIDE = 180


@pytest.fixture(scope="module")
def predictor():  # type: ignore[no-untyped-def]
    from inference.predictor import get_predictor

    return get_predictor()


@pytest.fixture(scope="module")
def two_faces_png(fer_faces, predictor) -> bytes:  # type: ignore[no-untyped-def]
    """Two FER2013 faces side by side on a grey 640x320 picture, each one the detector finds on its own."""
    import cv2

    def placed(faces: list[np.ndarray]) -> np.ndarray:
        picture = np.full((320, 640), 110, dtype=np.uint8)
        for left, face in zip((60, 400), faces, strict=False):
            picture[70 : 70 + SIDE, left : left + SIDE] = cv2.resize(face, (SIDE, SIDE), interpolation=cv2.INTER_CUBIC)
        return picture

    found: list[np.ndarray] = []
    for image in fer_faces.images[:120]:
        [results] = predictor.predict([placed([image[:, :, 0]])], mode=FaceMode.ALL, settings=IMAGE_SETTINGS)
        if len(results) == 1:
            found.append(image[:, :, 0])
        if len(found) == 2:
            break
    picture = placed(found)
    return encode(np.repeat(picture[:, :, None], 3, axis=2), "PNG")


def test_it_finds_and_classifies_every_face_in_one_picture(two_faces_png, predictor):
    analysis = analyze_image(two_faces_png, predictor=predictor)
    assert (analysis.width, analysis.height) == (640, 320)
    assert len(analysis.faces) == 2
    centres = sorted(face.box.x + face.box.width / 2 for face in analysis.faces)
    assert centres[0] < 320 < centres[1]
    for face in analysis.faces:
        assert set(face.probabilities) == set(EMOTIONS)
        assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-3)


def test_the_annotated_png_is_the_same_size_with_the_boxes_drawn_in_colour(two_faces_png, predictor):
    analysis = analyze_image(two_faces_png, predictor=predictor)
    with Image.open(io.BytesIO(analysis.annotated_png)) as image:
        assert image.format == "PNG" and image.size == (640, 320) and image.mode == "RGB"
        drawn = np.asarray(image)
    original = np.asarray(Image.open(io.BytesIO(two_faces_png)).convert("RGB"))
    box = analysis.faces[0].box
    assert tuple(drawn[box.y + box.height // 2, box.x]) == emotion_rgb(analysis.faces[0].emotion)
    # Inside the box the picture is untouched.
    inner = np.s_[box.y + 10 : box.y + box.height - 10, box.x + 10 : box.x + box.width - 10]
    assert np.array_equal(drawn[inner], original[inner])


def test_a_colour_photo_keeps_its_colours_and_finds_the_face(astronaut_jpeg, predictor):
    analysis = analyze_image(astronaut_jpeg, predictor=predictor)
    assert len(analysis.faces) == 1 and analysis.faces[0].emotion == "happy"
    drawn = np.asarray(Image.open(io.BytesIO(analysis.annotated_png)))
    assert drawn.shape == (480, 640, 3) and np.abs(drawn[:, :, 0].astype(int) - drawn[:, :, 2]).max() > 50


def test_the_json_lists_the_faces_and_the_source_name(two_faces_png, predictor, tmp_path):
    analysis = analyze_image(two_faces_png, predictor=predictor)
    paths = write_image_outputs(analysis, tmp_path / "out", "group", source_name="group photo.png")
    assert [path.name for path in paths] == ["group.png", "group.json"]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["group.json", "group.png"]
    document = json.loads(paths[1].read_text())
    assert document["source"] == "group photo.png"
    assert (document["width"], document["height"]) == (640, 320)
    assert [face["box"] for face in document["faces"]] == [list(face.box.as_tuple()) for face in analysis.faces]
    assert document["faces"][0]["emotion"] in EMOTIONS
    assert paths[0].read_bytes() == analysis.annotated_png


def test_the_json_is_analysis_as_dict_without_a_source_name(two_faces_png, predictor, tmp_path):
    analysis = analyze_image(two_faces_png, predictor=predictor)
    _, document = write_image_outputs(analysis, tmp_path, "group")
    assert json.loads(document.read_text()) == json.loads(json.dumps(analysis.as_dict()))
    assert "annotated_png" not in analysis.as_dict()


def test_a_picture_without_faces_gives_an_empty_list(predictor):
    analysis = analyze_image(encode(np.full((120, 160, 3), 90, dtype=np.uint8)), predictor=predictor)
    assert analysis.faces == [] and analysis.as_dict()["faces"] == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"hello, this is not an image", "not an image"),
        (encode(np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1)))[:200], "damaged or truncated"),
    ],
)
def test_bytes_that_are_not_an_image_raise_invalid_image_with_its_reason(predictor, data, reason):
    with pytest.raises(InvalidImage, match=reason):
        analyze_image(data, predictor=predictor)


def test_an_image_over_the_pixel_limit_is_refused(predictor):
    with pytest.raises(InvalidImage, match="too large"):
        analyze_image(encode(np.zeros((300, 400, 3), dtype=np.uint8), "PNG"), predictor=predictor, max_pixels=100_000)


def test_a_portrait_phone_photo_is_turned_upright_in_colour_and_grey():
    image = Image.fromarray(np.zeros((20, 60, 3), dtype=np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    rgb, grey = decode_colour(buffer.getvalue())
    assert rgb.shape == (60, 20, 3) and grey.shape == (60, 20) == decode_grey(buffer.getvalue()).shape


# Drawing ---------------------------------------------------------------------------------


def face(box: Box, emotion: str = "happy") -> FaceResult:
    return FaceResult(box, {name: (0.9 if name == emotion else 0.1 / 6) for name in EMOTIONS})


def label_height(rgb: np.ndarray, box: Box) -> int:
    """Rows above the box painted in the label colour, in the box's first column."""
    colour = np.array(emotion_rgb("happy"))
    column = rgb[: box.y, box.x + 1]
    return int(np.all(column == colour, axis=1).sum())


def test_labels_grow_with_the_picture_so_they_stay_readable_in_4k():
    small = np.zeros((480, 640, 3), dtype=np.uint8)
    large = np.zeros((2160, 3840, 3), dtype=np.uint8)
    draw_faces(small, [face(Box(200, 150, 150, 150))])
    draw_faces(large, [face(Box(1200, 700, 700, 700))])
    assert 14 <= label_height(small, Box(200, 150, 150, 150)) <= 40
    assert label_height(large, Box(1200, 700, 700, 700)) >= 4 * label_height(small, Box(200, 150, 150, 150))


def test_a_face_at_the_top_edge_gets_its_label_below_the_box():
    rgb = np.zeros((480, 640, 3), dtype=np.uint8)
    box = Box(200, 0, 150, 150)
    draw_faces(rgb, [face(box, "sad")])
    assert np.all(rgb[box.y + box.height + 5, box.x + 2] == emotion_rgb("sad"))


def test_each_emotion_has_its_own_colour_and_the_mask_covers_what_is_drawn():
    assert len({emotion_rgb(emotion) for emotion in EMOTIONS}) == len(EMOTIONS)
    rgb = np.zeros((240, 320, 3), dtype=np.uint8)
    faces = [face(Box(40, 60, 80, 80), "angry"), face(Box(180, 60, 80, 80), "surprise")]
    draw_faces(rgb, faces)
    mask = overlay_mask((240, 320), faces)
    assert np.array_equal(rgb.any(axis=2), mask & rgb.any(axis=2)) and rgb.any(axis=2).sum() > 0.8 * mask.sum()


def test_many_images_are_analysed_in_order_and_one_that_cannot_be_read_does_not_stop_the_others(
    tmp_path, astronaut_jpeg, predictor
):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "001-photo.jpg").write_bytes(astronaut_jpeg)
    (inputs / "002-notes.jpg").write_text("not an image")
    (inputs / "003-photo.jpg").write_bytes(astronaut_jpeg)
    paths = [inputs / "001-photo.jpg", inputs / "002-notes.jpg", inputs / "003-photo.jpg", inputs / "absent.png"]
    names = ["Photo.jpg", "notes.jpg", "photo.jpg", "absent.png"]
    results = list(analyze_images(paths, tmp_path / "out", predictor=predictor, source_names=names))
    assert [result.stem for result in results] == ["Photo", "notes", "photo-2", "absent"]
    assert [result.error for result in results] == [
        None,
        "the data is not an image in a known format",
        None,
        "no such file",
    ]
    first, _, third, _ = results
    assert first.analysis is not None and [face.emotion for face in first.analysis.faces] == ["happy"]
    assert first.files == (tmp_path / "out" / "Photo.png", tmp_path / "out" / "Photo.json")
    assert json.loads(third.files[1].read_text())["source"] == "photo.jpg"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "Photo.json",
        "Photo.png",
        "photo-2.json",
        "photo-2.png",
    ]


def test_the_output_names_can_be_chosen_and_are_made_unique(tmp_path, astronaut_jpeg, predictor):
    photo = tmp_path / "upload.jpg"
    photo.write_bytes(astronaut_jpeg)
    results = analyze_images([photo, photo], tmp_path / "out", predictor=predictor, stems=["face", "face"])
    assert [(result.source_name, result.stem) for result in results] == [
        ("upload.jpg", "face"),
        ("upload.jpg", "face-2"),
    ]
