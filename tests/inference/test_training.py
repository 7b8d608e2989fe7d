"""Training on a few hundred faces for an epoch or two: the code path, not the accuracy."""

import dataclasses
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from inference.datasets import DatasetError, load_faces
from inference.teacher import teacher_probabilities
from inference.training import distillation_targets, train
from inference.training_options import (
    OPTION_FOR_FIELD,
    TrainingConfig,
    TrainingError,
    build_argument_parser,
    config_from_arguments,
)
from inference.training_progress import completed_epochs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_csv(fer_csv, tmp_path_factory) -> Path:
    """300 training and 100 PublicTest rows in the FER2013 layout, gzipped like the original."""
    frame = pd.read_csv(fer_csv, nrows=40_000)
    small = pd.concat([frame[frame.Usage == "Training"].head(300), frame[frame.Usage == "PublicTest"].head(100)])
    path = tmp_path_factory.mktemp("fer") / "small.csv.gz"
    small.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def image_folders(small_csv, tmp_path_factory) -> Path:
    """The same faces as one folder per class, with the synonyms other data sets use, and a contempt folder."""
    root = tmp_path_factory.mktemp("folders")
    names = {0: "anger", 1: "disgusted", 2: "fearful", 3: "happiness", 4: "sadness", 5: "surprised", 6: "neutral"}
    for split, usage in (("train", "Training"), ("test", "PublicTest")):
        faces = load_faces(small_csv, usage=usage)
        for index, (face, label) in enumerate(zip(faces.images, faces.labels, strict=True)):
            folder = root / split / names[int(label)]
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{index}.png"), face)
        contempt = root / split / "contempt"
        contempt.mkdir()
        cv2.imwrite(str(contempt / "0.png"), faces.images[0])
    return root


@pytest.fixture
def eager():  # type: ignore[no-untyped-def]
    """Keras steps run eagerly: for three batches, tracing ResNet50's training graph took most of a minute."""
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


def config(data: Path, output: Path, **changes) -> TrainingConfig:
    values = {"architecture": "paper_cnn", "data": str(data), "output": str(output), "epochs": 1, "batch_size": 32}
    return TrainingConfig(**(values | changes))


def test_it_loads_the_csv_layout_filtered_by_usage(small_csv):
    faces = load_faces(small_csv, usage="PublicTest")
    assert len(faces) == 100 and faces.images.shape == (100, 48, 48, 1)


def test_it_loads_image_folders_matching_synonyms_and_skipping_contempt(image_folders, caplog):
    faces = load_faces(image_folders, usage="train")
    assert len(faces) == 300
    assert "contempt" in caplog.text


@pytest.mark.parametrize("bad", ["missing.csv", "not-fer.csv"])
def test_an_unreadable_data_set_raises_a_clear_error(tmp_path, bad):
    (tmp_path / "not-fer.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DatasetError):
        load_faces(tmp_path / bad)


@pytest.mark.parametrize("layout", ["csv", "folders"])
def test_one_epoch_writes_the_model_history_curves_and_checkpoint(small_csv, image_folders, tmp_path, layout):
    if layout == "csv":
        run = config(small_csv, tmp_path)
    else:
        run = config(image_folders, tmp_path, train_usage="train", validation_usage="test")
    best = train(run, verbose=0)
    assert best.exists()
    for name in ("last.keras", "history.csv", "curves.png", "state.json"):
        assert (tmp_path / name).exists(), name
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history.epoch) == [0]
    assert 0 <= history.val_accuracy[0] <= 1


def test_a_killed_run_resumes_from_its_last_checkpoint(small_csv, tmp_path):
    command = [
        sys.executable, "-m", "inference.training", "--arch", "paper_cnn", "--data", str(small_csv),
        "--epochs", "6", "--output", str(tmp_path), "--batch-size", "32", "--no-mixed-precision",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while completed_epochs(tmp_path) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()
    process.wait()
    done_before = completed_epochs(tmp_path)
    assert 1 <= done_before < 6, "the run should have been killed part-way"

    train(config(small_csv, tmp_path, epochs=6, mixed_precision=False), resume=True, verbose=0)
    history = pd.read_csv(tmp_path / "history.csv")
    assert completed_epochs(tmp_path) == 6
    assert list(history.epoch)[-(6 - done_before) :] == list(range(done_before, 6))
    assert json.loads((tmp_path / "state.json").read_text())["best_val_accuracy"] >= history.val_accuracy.max() - 1e-6


def test_a_resumed_run_draws_new_batches_instead_of_showing_its_first_epoch_again(small_csv, tmp_path, monkeypatch):
    import inference.training as training

    first_batches = []
    datasets = training._datasets

    def recording(*args, **options):  # type: ignore[no-untyped-def]
        train_data, validation_data = datasets(*args, **options)
        images, _ = next(iter(train_data))
        first_batches.append(images.numpy())
        return train_data, validation_data

    monkeypatch.setattr(training, "_datasets", recording)
    run = config(small_csv, tmp_path, epochs=3, mixed_precision=False, augmentation="strong")
    train(dataclasses.replace(run, epochs=1), verbose=0)
    train(dataclasses.replace(run, epochs=2), resume=True, verbose=0)
    train(dataclasses.replace(run, epochs=3), resume=True, verbose=0)
    new, resumed_once, resumed_twice = first_batches
    # Seeded as the run began, each resume's first epoch would be the run's first epoch again,
    # face for face and transform for transform.
    assert not np.array_equal(new, resumed_once)
    assert not np.array_equal(resumed_once, resumed_twice)
    assert completed_epochs(tmp_path) == 3
    # A new run still starts from its seed, and a resume from the same epoch draws the same batches.
    assert training.data_seed(run, 0) == run.seed
    assert training.data_seed(run, 1) == training.data_seed(run, 1) != training.data_seed(run, 2)


def test_a_new_cycle_starts_from_an_earlier_models_weights(small_csv, tmp_path):
    import keras

    first = train(config(small_csv, tmp_path / "first"), verbose=0)
    second = config(small_csv, tmp_path / "second", initial_weights=str(first), learning_rate=0.0)
    train(second, verbose=0)
    before = keras.models.load_model(first).get_weights()
    after = keras.models.load_model(tmp_path / "second" / "last.keras").get_weights()
    # With a learning rate of zero the weights stay those it started from (batch statistics aside).
    assert all(abs(a - b).max() < 1e-6 for a, b in zip(before[:2], after[:2], strict=True))


def test_starting_over_an_existing_run_without_resume_is_refused(small_csv, tmp_path):
    train(config(small_csv, tmp_path), verbose=0)
    with pytest.raises(CommandError, match="--resume"):
        call_command("train_emotion_model", arch="paper_cnn", data=str(small_csv), epochs=1, output=str(tmp_path))


REQUIRED_OPTIONS = ["--arch", "vgg_bn", "--data", "faces.csv", "--epochs", "3", "--output", "run"]


def test_every_training_config_field_is_set_by_a_command_line_option():
    options = {action.dest for action in build_argument_parser()._actions} - {"help", "resume"}
    fields = {field.name for field in dataclasses.fields(TrainingConfig)}
    assert {OPTION_FOR_FIELD.get(name, name) for name in fields} == options


def test_the_command_line_defaults_are_the_configs_defaults():
    parsed = config_from_arguments(build_argument_parser().parse_args(REQUIRED_OPTIONS))
    assert parsed == TrainingConfig(architecture="vgg_bn", data="faces.csv", output="run", epochs=3)


def test_the_seed_and_the_renamed_options_reach_the_config():
    arguments = [*REQUIRED_OPTIONS, "--seed", "7", "--no-mixed-precision", "--weights", "notop.h5"]
    parsed = config_from_arguments(build_argument_parser().parse_args(arguments))
    assert (parsed.seed, parsed.mixed_precision, parsed.weights_path) == (7, False, "notop.h5")


def test_an_unknown_architecture_is_refused_by_the_command(small_csv, tmp_path):
    with pytest.raises(CommandError, match="unknown architecture"):
        call_command("train_emotion_model", arch="alexnet", data=str(small_csv), epochs=1, output=str(tmp_path))


def test_the_evaluation_prints_json_with_accuracy_classes_confusion_and_face_rate(small_csv, tmp_path, capsys):
    best = train(config(small_csv, tmp_path / "run"), verbose=0)
    png = tmp_path / "confusion.png"
    call_command(
        "evaluate_emotion_model", data=str(small_csv), model=str(best), usage="PublicTest",
        detect_faces=True, json=True, confusion_png=str(png),
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n"] == 100
    assert 0 <= report["accuracy"] <= report["face_found_rate"] <= 1
    assert set(report["per_class"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    found = round(report["face_found_rate"] * 100)
    assert sum(map(sum, report["confusion"])) == found
    assert png.read_bytes().startswith(b"\x89PNG")


class TestResNet50:
    def test_without_weights_it_says_so_and_does_not_train(self, small_csv, tmp_path):
        with pytest.raises(CommandError, match="cannot download"):
            call_command("train_emotion_model", arch="resnet50", data=str(small_csv), epochs=1, output=str(tmp_path))
        with pytest.raises(CommandError, match="no weights file"):
            call_command(
                "train_emotion_model", arch="resnet50", data=str(small_csv), epochs=1, output=str(tmp_path),
                weights=str(tmp_path / "missing.h5"),
            )  # fmt: skip
        assert not (tmp_path / "last.keras").exists()

    # tf.data's own functions stay traced, as TensorFlow warns when steps run eagerly.
    @pytest.mark.filterwarnings("ignore:Even though the `tf.config.experimental_run_functions_eagerly`")
    def test_two_stages_run_and_leave_every_layer_trainable(self, small_csv, tmp_path, eager):
        import keras

        run = config(
            small_csv, tmp_path, architecture="resnet50", from_scratch=True, backbone_size=32, fine_tune_epochs=1,
            limit=96, batch_size=32,
        )  # fmt: skip
        best = train(run, verbose=0)
        history = pd.read_csv(tmp_path / "history.csv")
        assert list(history.epoch) == [0, 1]
        model = keras.models.load_model(tmp_path / "last.keras")
        assert all(layer.trainable for layer in model.get_layer("backbone").layers)
        assert keras.models.load_model(best).output_shape == (None, 7)


def test_resnet50_stage_one_trains_only_the_top_and_the_last_four_backbone_layers(tmp_path):
    import keras

    from inference.training import RESNET_TRAINABLE_TAIL, _build_resnet50_stage_one

    # A local 'notop' weights file, as --weights takes (random here: ImageNet's cannot be downloaded).
    weights = tmp_path / "resnet50_notop.weights.h5"
    keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg").save_weights(
        weights
    )
    model = _build_resnet50_stage_one(
        TrainingConfig(
            architecture="resnet50",
            data="",
            output=str(tmp_path),
            epochs=1,
            weights_path=str(weights),
            backbone_size=32,
        )
    )
    backbone = model.get_layer("backbone")
    trainable = [layer.name for layer in backbone.layers if layer.trainable]
    assert trainable == [layer.name for layer in backbone.layers[-RESNET_TRAINABLE_TAIL:]]
    assert model.get_layer("top_dense").trainable


def test_resnet50_from_scratch_trains_every_layer_from_the_start(tmp_path):
    from inference.training import _build_resnet50_stage_one

    model = _build_resnet50_stage_one(
        TrainingConfig(
            architecture="resnet50", data="", output=str(tmp_path), epochs=1, from_scratch=True, backbone_size=32
        )
    )
    assert all(layer.trainable for layer in model.get_layer("backbone").layers)


class TestDistillation:
    def test_targets_mix_the_teachers_probabilities_with_the_labels(self):
        labels = np.array([0, 3, 6])
        teacher = np.full((3, 7), 1 / 7, dtype=np.float32)
        mixed = distillation_targets(labels, teacher, 0.25)
        assert np.allclose(mixed.sum(axis=1), 1)
        assert mixed[1, 3] == pytest.approx(0.75 + 0.25 / 7) and mixed[1, 0] == pytest.approx(0.25 / 7)
        assert np.array_equal(distillation_targets(labels, teacher, 0.0).argmax(axis=1), labels)
        assert np.allclose(distillation_targets(labels, teacher, 1.0), teacher)

    def test_a_distilled_run_learns_from_the_teachers_reading_of_each_training_face(
        self, small_csv, tmp_path, monkeypatch, caplog
    ):
        from inference import training
        from inference.predictor import DEFAULT_MODEL_PATH

        seen = {}
        original = training._datasets

        def record(config, train_faces, validation, targets=None, **options):  # type: ignore[no-untyped-def]
            seen.update(faces=train_faces, targets=targets)
            return original(config, train_faces, validation, targets, **options)

        monkeypatch.setattr(training, "_datasets", record)
        run = config(small_csv, tmp_path, teacher=str(DEFAULT_MODEL_PATH), distillation_weight=0.5, teacher_views=2)
        with caplog.at_level("INFO", logger="inference.training"):
            assert train(run, verbose=0).exists()
        teacher = teacher_probabilities(DEFAULT_MODEL_PATH, seen["faces"], views=2)
        assert seen["targets"].shape == (300, 7)
        assert np.allclose(seen["targets"], distillation_targets(seen["faces"].labels, teacher, 0.5), atol=0.02)
        # The shipped model was trained on these faces: it agrees with most of their labels.
        assert float(re.search(r"teacher agrees with ([\d.]+)%", caplog.text).group(1)) > 60

    def test_an_ensembles_saved_reading_is_the_average_of_its_models_and_trains_the_same(
        self, small_csv, tmp_path, monkeypatch
    ):
        from inference import training
        from inference.predictor import DEFAULT_MODEL_PATH
        from inference.teacher import load_teacher
        from inference.teacher import main as save_teacher_main

        faces = load_faces(small_csv, usage="Training")
        saved = tmp_path / "teacher.npz"
        # The same model twice: the ensemble's average is that model's reading (to float16's rounding).
        assert save_teacher_main([str(DEFAULT_MODEL_PATH), str(DEFAULT_MODEL_PATH), "--data", str(small_csv),
                                  "--views", "2", "--output", str(saved)]) == 0  # fmt: skip
        alone = teacher_probabilities(DEFAULT_MODEL_PATH, faces, views=2)
        assert np.allclose(load_teacher(saved, faces), alone, atol=2e-3)
        seen = {}
        original = training._datasets

        def record(config, train_faces, validation, targets=None, **options):  # type: ignore[no-untyped-def]
            seen.update(targets=targets)
            return original(config, train_faces, validation, targets, **options)

        monkeypatch.setattr(training, "_datasets", record)
        assert train(config(small_csv, tmp_path / "run", teacher=str(saved), distillation_weight=0.5), verbose=0)
        assert np.allclose(seen["targets"], distillation_targets(faces.labels, alone, 0.5), atol=2e-3)

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ("fewer", "holds the teacher's reading of 299 faces; this run trains on 300"),
            ("reordered", "made for other faces, or the same in another order"),
            ("not probabilities", "holds rows that are not probabilities"),
            ("not a file", "is not a teacher file"),
        ],
    )
    def test_a_teacher_file_for_other_faces_or_not_probabilities_is_refused_before_training(
        self, small_csv, tmp_path, change, message
    ):
        from inference.teacher import save_teacher

        faces = load_faces(small_csv, usage="Training")
        probabilities = np.full((len(faces), 7), 1 / 7)
        saved = tmp_path / "teacher.npz"
        if change == "fewer":
            faces_saved = type(faces)(faces.images[1:], faces.labels[1:])
            save_teacher(saved, probabilities[1:], faces_saved, models=["a.keras"])
        elif change == "reordered":
            order = np.argsort(faces.labels, kind="stable")
            save_teacher(saved, probabilities, type(faces)(faces.images[order], faces.labels[order]), models=["a"])
        elif change == "not probabilities":
            save_teacher(saved, probabilities * 2, faces, models=["a.keras"])
        else:
            saved.write_bytes(b"not a numpy file")
        with pytest.raises(CommandError, match=message):
            call_command("train_emotion_model", arch="vgg_bn", data=str(small_csv), epochs=1,
                         output=str(tmp_path / "run"), teacher=str(saved))  # fmt: skip
        assert not (tmp_path / "run" / "last.keras").exists()

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"teacher": "absent.keras"}, "no teacher model at absent.keras"),
            ({"teacher": "absent.keras", "distillation_weight": 1.5}, "--distillation-weight must be between 0 and 1"),
            ({"teacher": "absent.keras", "teacher_views": 3}, "--teacher-views must be one of 1, 2, 4"),
        ],
    )
    def test_bad_distillation_options_are_refused_by_the_command(self, small_csv, tmp_path, options, message):
        with pytest.raises(CommandError, match=message):
            call_command(
                "train_emotion_model", arch="vgg_bn", data=str(small_csv), epochs=1, output=str(tmp_path), **options
            )
        assert not (tmp_path / "last.keras").exists()


def test_the_wide_vgg_is_vgg_bn_half_as_wide_again_and_exports_under_its_own_name(tmp_path):
    import keras

    from inference.architectures import build_vgg_bn, build_vgg_bn_wide
    from inference.export import export_serving_model

    wide, narrow = build_vgg_bn_wide(), build_vgg_bn()
    filters = [layer.filters for layer in wide.layers if isinstance(layer, keras.layers.Conv2D)]
    assert filters == [48, 48, 96, 96, 192, 192, 384, 384]
    assert wide.count_params() > 2 * narrow.count_params()
    checkpoint = tmp_path / "best.keras"
    wide.save(checkpoint)
    served = keras.models.load_model(export_serving_model(checkpoint, tmp_path / "emotion.keras", version="wide-test"))
    assert served.name == "vgg_bn_wide"
    assert served.count_params() == wide.count_params()


def test_a_run_kept_as_a_small_snapshot_is_restored_and_resumed_where_it_stopped(small_csv, tmp_path):
    import keras

    from inference.training_snapshot import WEIGHTS_FILE, main, restore_snapshot, save_snapshot

    first = config(small_csv, tmp_path / "run", epochs=3, mixed_precision=False)
    train(dataclasses.replace(first, epochs=2), verbose=0)
    checkpoint = keras.models.load_model(tmp_path / "run" / "last.keras")
    snapshot = save_snapshot(tmp_path / "run", tmp_path / "kept")
    assert (snapshot / WEIGHTS_FILE).stat().st_size < (tmp_path / "run" / "last.keras").stat().st_size / 2
    with pytest.raises(TrainingError, match="already holds a run"):
        restore_snapshot(snapshot, tmp_path / "run")

    restored_run = restore_snapshot(snapshot, tmp_path / "again", data=str(small_csv))
    restored = keras.models.load_model(restored_run / "last.keras")
    for kept, back in zip(checkpoint.get_weights(), restored.get_weights(), strict=True):
        assert np.allclose(kept, back, rtol=1e-3, atol=1e-4)
    steps = int(restored.optimizer.iterations.numpy())
    assert steps == int(checkpoint.optimizer.iterations.numpy()) > 0  # the schedule goes on where it was
    assert all(float(np.abs(velocity.numpy()).sum()) > 0 for velocity in restored.optimizer._velocities)
    assert completed_epochs(restored_run) == 2

    train(dataclasses.replace(first, output=str(restored_run)), resume=True, verbose=0)
    history = pd.read_csv(restored_run / "history.csv")
    assert list(history.epoch) == [0, 1, 2] and completed_epochs(restored_run) == 3
    # A folder without a run is refused with a message, not a traceback.
    assert main(["save", str(tmp_path / "nothing"), str(tmp_path / "kept-nothing")]) == 2
