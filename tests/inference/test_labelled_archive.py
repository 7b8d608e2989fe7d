"""The model's accuracy on a zip of labelled faces: folders are emotions, the detector on or off, bad zips refused."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.evaluation import evaluate
from inference.labelled_archive import (
    MAX_COMPRESSION_RATIO,
    ArchiveLimits,
    InvalidArchive,
    evaluate_labelled_archive,
    inspect_labelled_archive,
    write_labelled_outputs,
)
from inference.labels import EMOTIONS
from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor
from inference.synthetic_frames import pasted_frames
from tests.labelled_zips import SYNONYM_FOLDERS, encoded, face_files, fer_faces, labelled_zip, subset


@pytest.fixture(scope="module")
def predictor() -> EmotionPredictor:
    return EmotionPredictor(DEFAULT_MODEL_PATH, views=1, precision="int8", detector="yunet")


@pytest.fixture(scope="module")
def faces():  # type: ignore[no-untyped-def]
    return subset(fer_faces(), 60)


def archive(files) -> io.BytesIO:  # type: ignore[no-untyped-def]
    return io.BytesIO(labelled_zip(files))


def test_each_folder_is_its_emotion_and_the_figures_are_the_evaluation_commands(predictor, faces):
    evaluation = evaluate_labelled_archive(archive(face_files(faces)), predictor=predictor, detect_faces=False)
    assert evaluation.contents.class_counts() == faces.class_counts()
    # PNG is lossless: the archive's faces are FER2013's own pixels, read as the evaluation command reads them.
    assert evaluation.report.as_dict() == evaluate(predictor, faces).as_dict()
    summary = evaluation.as_dict()
    assert summary["n"] == 60 and summary["detect_faces"] is False and summary["faces_found"] is None
    assert "face_found_rate" not in summary
    for index, emotion in enumerate(EMOTIONS):
        figures = summary["per_class"][emotion]
        assert figures["images"] == figures["support"] == faces.class_counts()[emotion]
        assert figures["correct"] == summary["confusion"][index][index]
    assert sum(figures["predicted"] for figures in summary["per_class"].values()) == 60


def test_every_synonym_the_training_command_accepts_names_its_emotion_in_any_case(faces):
    folders = {"angry": "Angry", "disgust": "DISGUST", "fear": "scared", "happy": "joy", "sad": "sad",
               "surprise": "surprise", "neutral": "calm"}  # fmt: skip
    plain = inspect_labelled_archive(archive(face_files(faces)))
    renamed = inspect_labelled_archive(archive(face_files(faces, folders=folders, root="")))
    assert renamed.class_counts() == plain.class_counts() == faces.class_counts()
    assert renamed.skipped_folders == {}


def test_contempt_and_unknown_folders_are_skipped_and_reported_with_their_files(predictor, faces):
    files = face_files(subset(faces, 10))
    contempt = encoded(faces.images[20])
    files.update({
        "study/contempt/1.png": contempt, "study/contempt/2.png": contempt, "study/contempt/3.png": contempt,
        "study/pets/cat.png": contempt, "study/pets/dog.png": contempt,
        "loose.png": contempt, "study/anger/notes.txt": b"taken in the lab",
        "__MACOSX/study/anger/._0001.png": b"resource fork", "study/anger/.DS_Store": b"finder",
    })  # fmt: skip
    evaluation = evaluate_labelled_archive(archive(files), predictor=predictor, detect_faces=False)
    summary = evaluation.as_dict()
    assert summary["skipped_folders"] == {"contempt": 3, "pets": 2}
    assert (summary["loose_files"], summary["other_files"]) == (1, 1)
    assert summary["n"] == 10, "only the images in emotion folders are read"
    assert summary["unreadable"] == 0


def test_unreadable_images_are_skipped_and_counted_and_the_rest_evaluated(predictor, faces):
    noise = np.random.default_rng(0).integers(0, 256, (300, 300), dtype=np.uint8)
    files = face_files(subset(faces, 12))
    files.update({
        "study/anger/text.png": b"this is not an image",
        "study/sadness/cut.png": encoded(faces.images[30])[:60],
        "study/happiness/huge.png": encoded(noise),
    })  # fmt: skip
    limits = ArchiveLimits(max_image_bytes=50_000)
    evaluation = evaluate_labelled_archive(archive(files), predictor=predictor, detect_faces=False, limits=limits)
    reasons = {outcome.name: outcome.error for outcome in evaluation.unreadable}
    assert set(reasons) == {"study/anger/text.png", "study/sadness/cut.png", "study/happiness/huge.png"}
    assert reasons["study/anger/text.png"] == "the data is not an image in a known format"
    assert "damaged or truncated" in reasons["study/sadness/cut.png"]
    assert "larger than the limit" in reasons["study/happiness/huge.png"]
    assert evaluation.report.n == 12
    assert evaluation.as_dict()["unreadable"] == 3


def test_an_archive_of_only_unreadable_images_is_refused_with_their_reasons(predictor):
    files = {"anger/a.png": b"nothing", "happy/b.jpg": b"\xff\xd8 broken"}
    with pytest.raises(InvalidArchive, match=r"No image in the archive could be read \(anger/a.png: the data"):
        evaluate_labelled_archive(archive(files), predictor=predictor, detect_faces=False)


def test_with_the_detector_the_face_is_found_in_each_frame_and_an_empty_frame_counts_as_wrong(predictor, faces):
    frames = list(pasted_frames(faces.images[:30], seed=3))
    files = {
        f"lab/{SYNONYM_FOLDERS[EMOTIONS[int(label)]]}/{number:02d}.jpg": frame.jpeg()
        for number, (frame, label) in enumerate(zip(frames, faces.labels[:30], strict=True))
    }
    # Rooms without anyone: smooth shading, as a wall behind an empty chair (textured backgrounds
    # may hold a false face, which is the detector's business and not this test's).
    for number in range(6):
        wall = np.linspace(60 + 20 * number, 200, 640, dtype=np.float32)[None, :].repeat(480, axis=0)
        files[f"lab/neutral/empty-{number}.jpg"] = encoded(wall.astype(np.uint8), "JPEG")
    evaluation = evaluate_labelled_archive(archive(files), predictor=predictor, detect_faces=True)
    report, outcomes = evaluation.report, evaluation.outcomes
    assert report.n == 36
    empty = [outcome for outcome in outcomes if "empty" in outcome.name]
    assert all(outcome.found is False and outcome.correct is False for outcome in empty)
    found = [outcome for outcome in outcomes if outcome.found]
    assert len(found) >= 24, "most pasted faces are found"
    assert report.face_found_rate == pytest.approx(len(found) / 36)
    assert report.confusion.sum() == len(found)
    correct = sum(bool(outcome.correct) for outcome in outcomes)
    assert report.accuracy == pytest.approx(correct / 36)
    assert report.accuracy < report.accuracy_when_found
    assert correct >= 0.4 * len(found), "the faces found are read about as well as FER2013's crops"
    summary = evaluation.as_dict()
    assert summary["faces_found"] == len(found)
    assert summary["per_class"]["neutral"]["images"] >= summary["per_class"]["neutral"]["support"] + 6


def test_with_the_detector_off_a_larger_image_is_the_face_made_48_pixels(predictor, faces):
    larger = {
        name.replace(".png", ".jpg"): encoded(cv2.resize(image, (144, 144), interpolation=cv2.INTER_CUBIC), "JPEG")
        for name, image in zip(face_files(faces), faces.images, strict=True)
    }
    as_is = evaluate_labelled_archive(archive(face_files(faces)), predictor=predictor, detect_faces=False)
    scaled = evaluate_labelled_archive(archive(larger), predictor=predictor, detect_faces=False)
    agree = sum(a.predicted == b.predicted for a, b in zip(as_is.outcomes, scaled.outcomes, strict=True))
    assert agree >= 0.85 * len(faces)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (None, "not a zip archive"),
        ({}, "The archive is empty"),
        ({"one.png": b"x", "two.png": b"x"}, "The archive has no folders"),
        ({"contempt/1.png": b"x", "pets/2.png": b"x"}, r"None of the archive's folders .* \(it has contempt, pets\)"),
        ({"angry/readme.txt": b"x"}, "The emotion folders hold no images"),
    ],
)
def test_an_archive_without_labelled_images_is_refused_saying_why(files, message):
    source = io.BytesIO(encoded(np.zeros((48, 48), np.uint8))) if files is None else archive(files)
    with pytest.raises(InvalidArchive, match=message):
        inspect_labelled_archive(source)


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_unpacked(monkeypatch):
    bomb = archive({"angry/face.bmp": bytes(50 * 1024 * 1024), "happy/1.png": b"x"})
    info = zipfile.ZipFile(bomb).getinfo("angry/face.bmp")
    assert info.file_size > MAX_COMPRESSION_RATIO * info.compress_size

    def never(*arguments, **options):  # type: ignore[no-untyped-def]
        raise AssertionError("an entry was unpacked")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    with pytest.raises(InvalidArchive, match=r"would unpack to 50 MB from \d+ KB: the archive looks like a zip bomb"):
        inspect_labelled_archive(bomb)


def test_an_archive_over_the_unpacked_limit_or_with_too_many_images_is_refused(faces):
    files = face_files(subset(faces, 6))
    unpacked = sum(len(content) for content in files.values())
    with pytest.raises(InvalidArchive, match=r"The images would unpack to \d+ MB, over the limit of"):
        inspect_labelled_archive(archive(files), limits=ArchiveLimits(max_unpacked_bytes=unpacked - 1))
    with pytest.raises(InvalidArchive, match="The archive holds 6 images; at most 5 are evaluated"):
        inspect_labelled_archive(archive(files), limits=ArchiveLimits(max_images=5))
    assert len(inspect_labelled_archive(archive(files), limits=ArchiveLimits(max_images=6)).entries) == 6


def test_names_that_climb_out_or_are_absolute_are_only_labels_and_nothing_is_written(
    predictor, faces, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inside").mkdir()
    monkeypatch.chdir(tmp_path / "inside")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as writer:
        for name, image in [("../../angry/up.png", 0), ("/tmp/happy/absolute.png", 1), ("a\\..\\..\\sad\\w.png", 2)]:
            writer.writestr(zipfile.ZipInfo(name), encoded(faces.images[image]))
    evaluation = evaluate_labelled_archive(buffer, predictor=predictor, detect_faces=False)
    assert [(outcome.name, outcome.emotion) for outcome in evaluation.outcomes] == [
        ("angry/up.png", "angry"),
        ("tmp/happy/absolute.png", "happy"),
        ("a/sad/w.png", "sad"),
    ]
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["inside"]
    assert not Path("/tmp/happy/absolute.png").exists()


def test_progress_is_reported_per_image_and_a_raised_stop_ends_the_evaluation(predictor, faces):
    fractions: list[float] = []
    evaluate_labelled_archive(
        archive(face_files(subset(faces, 8))), predictor=predictor, detect_faces=False, progress=fractions.append
    )
    assert len(fractions) == 9 and fractions == sorted(fractions) and fractions[-1] == 1.0

    class Stop(Exception):
        pass

    def stop(fraction: float) -> None:
        raise Stop

    with pytest.raises(Stop):
        evaluate_labelled_archive(archive(face_files(subset(faces, 8))), predictor=predictor, progress=stop)


def test_the_outputs_hold_the_figures_the_matrix_and_every_image(predictor, faces, tmp_path):
    files = face_files(subset(faces, 20))
    files["study/anger/broken.png"] = b"broken"
    evaluation = evaluate_labelled_archive(archive(files), predictor=predictor, detect_faces=False)
    paths = write_labelled_outputs(evaluation, tmp_path / "out")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == sorted(path.name for path in paths.values())
    assert json.loads(paths["evaluation"].read_text()) == json.loads(json.dumps(evaluation.as_dict()))
    classes = list(csv.DictReader(paths["classes"].open()))
    assert [row["emotion"] for row in classes] == list(EMOTIONS)
    assert sum(int(row["images"]) for row in classes) == 20
    confusion = list(csv.reader(paths["confusion"].open()))
    assert confusion[0] == ["true \\ predicted", *EMOTIONS]
    assert [[int(cell) for cell in row[1:]] for row in confusion[1:]] == evaluation.report.confusion.tolist()
    images = list(csv.DictReader(paths["images"].open()))
    assert len(images) == 21
    broken = next(row for row in images if row["name"] == "study/anger/broken.png")
    assert broken["error"] and broken["correct"] == "" and broken["predicted"] == ""
    read = [row for row in images if not row["error"]]
    assert sum(int(row["correct"]) for row in read) == int(np.trace(evaluation.report.confusion))
    assert paths["confusion_png"].read_bytes().startswith(b"\x89PNG")
