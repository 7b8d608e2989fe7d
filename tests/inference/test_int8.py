"""The int8 LiteRT serving network: made from the Keras weights, tied to them, read like them."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest

from inference import export
from inference.litert import Int8ModelError, file_sha256, int8_available, int8_model_for, int8_path_for
from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor, serving_precision


@pytest.fixture(scope="module")
def int8() -> EmotionPredictor:
    return EmotionPredictor(DEFAULT_MODEL_PATH, views=4, precision="int8")


@pytest.fixture(scope="module")
def float32() -> EmotionPredictor:
    return EmotionPredictor(DEFAULT_MODEL_PATH, views=4)


def copy_model(tmp_path, *, with_int8: bool = True):
    for suffix in (".keras", ".json") + ((".tflite",) if with_int8 else ()):
        shutil.copy(DEFAULT_MODEL_PATH.with_suffix(suffix), tmp_path / f"emotion{suffix}")
    return tmp_path / "emotion.keras"


def test_the_shipped_int8_file_was_made_from_the_shipped_weights():
    assert int8_model_for(DEFAULT_MODEL_PATH) == int8_path_for(DEFAULT_MODEL_PATH)
    metadata = json.loads(DEFAULT_MODEL_PATH.with_suffix(".json").read_text())
    assert metadata["int8"]["keras_sha256"] == file_sha256(DEFAULT_MODEL_PATH)
    assert "Training" in metadata["int8"]["calibration"]


@pytest.mark.parametrize("views", [1, 2, 4])
def test_int8_reads_faces_as_float32_does(int8, float32, fer_faces, views):
    faces = fer_faces.images[:300].astype(np.float32)
    expected, got = float32.classify(faces, views=views), int8.classify(faces, views=views)
    assert got.shape == (300, 7) and got.dtype == np.float32
    assert np.allclose(got.sum(axis=1), 1, atol=1e-5)
    assert np.mean(got.argmax(axis=1) == expected.argmax(axis=1)) >= 0.95
    # Reading int8 is not simply reading float32: the views still matter, as in float32.
    assert views == 1 or not np.allclose(got, int8.classify(faces, views=1), atol=1e-3)


def test_int8_names_its_numerics_in_the_version(int8, float32):
    assert int8.model is None, "int8 serving does not load the Keras network"
    assert int8.version == f"{float32.base_version}-int8/4v" and int8.version_for(1).endswith("-int8/1v")
    assert float32.version == f"{float32.base_version}/4v"


def test_an_empty_batch_and_single_faces_work(int8, fer_faces):
    assert int8.classify(np.zeros((0, 48, 48, 1), np.float32)).shape == (0, 7)
    one = int8.classify(fer_faces.images[:1].astype(np.float32))
    many = int8.classify(fer_faces.images[:50].astype(np.float32))
    assert np.allclose(one[0], many[0], atol=0.02)


def test_int8_is_safe_from_several_threads(int8, fer_faces):
    batches = [fer_faces.images[start : start + 40 + start % 7].astype(np.float32) for start in range(0, 320, 40)]
    expected = [int8.classify(batch) for batch in batches]
    got: dict[int, np.ndarray] = {}

    def read(index: int) -> None:
        for _ in range(5):
            got[index] = int8.classify(batches[index])

    threads = [threading.Thread(target=read, args=(index,)) for index in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, batch_expected in enumerate(expected):
        assert np.allclose(got[index], batch_expected, atol=1e-5)


def test_a_model_without_an_int8_file_is_refused_in_int8_and_auto_falls_back(tmp_path):
    model = copy_model(tmp_path, with_int8=False)
    with pytest.raises(Int8ModelError, match=r"no int8 model at .*emotion\.tflite.*--int8"):
        EmotionPredictor(model, precision="int8")
    assert not int8_available(model)
    assert serving_precision("auto", model) in {"bfloat16", "float32"}


def test_an_int8_file_made_from_other_weights_is_refused(tmp_path):
    model = copy_model(tmp_path)
    metadata = json.loads(model.with_suffix(".json").read_text())
    metadata["int8"]["keras_sha256"] = "0" * 64
    model.with_suffix(".json").write_text(json.dumps(metadata))
    with pytest.raises(Int8ModelError, match=r"not made from these weights.*export it again"):
        EmotionPredictor(model, precision="int8")
    assert not int8_available(model)
    model.with_suffix(".json").unlink()
    assert not int8_available(model), "no record of the weights: not trusted either"


def test_exporting_makes_an_int8_file_the_predictor_serves(tmp_path, fer_csv, fer_faces, float32):
    model = copy_model(tmp_path, with_int8=False)
    export.export_int8_beside(model, fer_csv, faces=64)
    metadata = json.loads(model.with_suffix(".json").read_text())
    assert metadata["version"] == float32.base_version, "the rest of the metadata is kept"
    assert metadata["int8"]["calibration"].startswith("64 faces drawn from the Training split")
    served = EmotionPredictor(model, views=2, precision="int8")
    faces = fer_faces.images[:200].astype(np.float32)
    agreement = served.classify(faces).argmax(axis=1) == float32.classify(faces, views=2).argmax(axis=1)
    assert np.mean(agreement) >= 0.9
    # New weights make the file stale.
    model.write_bytes(model.read_bytes() + b"\0")
    assert not int8_available(model)


def test_the_export_command_needs_calibration_data_for_int8(capsys):
    with pytest.raises(SystemExit) as stopped:
        export.main(["--int8", str(DEFAULT_MODEL_PATH)])
    assert stopped.value.code == 2
    assert "--int8 needs --calibration-data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export.main(["only-a-checkpoint.keras"])


def test_calibration_data_without_the_training_split_is_refused_and_nothing_is_written(tmp_path, fer_faces):
    import cv2

    from inference.datasets import DatasetError

    (tmp_path / "model").mkdir()
    model = copy_model(tmp_path / "model", with_int8=False)
    metadata_before = model.with_suffix(".json").read_text()
    happy = tmp_path / "folders" / "train" / "happy"
    happy.mkdir(parents=True)
    cv2.imwrite(str(happy / "0.png"), fer_faces.images[0])
    with pytest.raises(DatasetError, match="no sub-folder named 'Training'"):
        export.export_int8_beside(model, tmp_path / "folders")
    assert not int8_path_for(model).exists()
    assert model.with_suffix(".json").read_text() == metadata_before


def test_evaluating_in_int8_a_model_without_its_int8_file_is_a_clear_command_error(tmp_path, fer_csv):
    from django.core.management import CommandError, call_command

    model = copy_model(tmp_path, with_int8=False)
    with pytest.raises(CommandError, match="no int8 model at"):
        call_command(
            "evaluate_emotion_model", data=str(fer_csv), usage="PublicTest", limit=10, model=str(model),
            precision="int8", confusion_png=str(tmp_path / "confusion.png"),
        )  # fmt: skip
    assert not (tmp_path / "confusion.png").exists()
