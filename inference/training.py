"""Training an emotion network on labelled faces, with a checkpoint every epoch and resume.

Run from the shell as ``python -m inference.training`` or through the Django
command ``python manage.py train_emotion_model``; both call :func:`train`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from inference.cpu import cpu_has_native_bfloat16
from inference.datasets import FaceSet, load_faces
from inference.labels import NUM_CLASSES
from inference.preprocessing import TEST_TIME_VIEW_COUNTS

logger = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.keras"
BEST_MODEL = "best.keras"
HISTORY_CSV = "history.csv"
CURVES_PNG = "curves.png"
STATE_JSON = "state.json"


class TrainingError(RuntimeError):
    """A training run that cannot start as asked."""


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines a training run; saved beside the checkpoints."""

    architecture: str
    data: str
    output: str
    epochs: int
    batch_size: int = 64
    learning_rate: float = 1e-3
    label_smoothing: float = 0.1
    mixed_precision: bool = True
    train_usage: str = "Training"
    validation_usage: str = "PublicTest"
    limit: int | None = None
    weights_path: str | None = None
    from_scratch: bool = False
    backbone_size: int = 96
    fine_tune_epochs: int = 0
    fine_tune_learning_rate: float = 1e-5
    initial_weights: str | None = None
    teacher: str | None = None
    distillation_weight: float = 0.5
    teacher_views: int = 4
    augmentation: str = "reference"
    restart_epochs: int | None = None
    seed: int = 1234

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.fine_tune_epochs


AUGMENTATIONS = ("reference", "strong")


def augmentation_layers(kind: str = "reference"):  # type: ignore[no-untyped-def]
    """The training-time augmentation.

    ``reference``: 10% width and height shift, 10% zoom, horizontal flip.
    ``strong`` adds what webcam faces do and FER2013's mostly upright, evenly lit faces rarely
    show: a tilt of up to 10 degrees, zoom out as well as in, brightness and contrast changes,
    and a random patch erased (a hand, glasses, a shadow).
    """
    import keras
    from keras import layers

    if kind not in AUGMENTATIONS:
        raise TrainingError(f"unknown augmentation {kind!r}; choose from {', '.join(AUGMENTATIONS)}")
    if kind == "reference":
        steps = [
            layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
            layers.RandomZoom(0.1, fill_mode="nearest"),
            layers.RandomFlip("horizontal"),
        ]
    else:
        steps = [
            layers.RandomRotation(10 / 360, fill_mode="nearest"),
            layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
            layers.RandomZoom((-0.15, 0.15), fill_mode="nearest"),
            layers.RandomFlip("horizontal"),
            layers.RandomBrightness(0.2, value_range=(0, 255)),
            layers.RandomContrast(0.3),
            layers.RandomErasing(factor=0.5, scale=(0.02, 0.15), fill_value=None, value_range=(0, 255)),
        ]
    return keras.Sequential(steps, name="augmentation")


def teacher_probabilities(teacher: str | Path, faces: FaceSet, *, views: int = 4, batch: int = 256) -> np.ndarray:
    """What a trained model (read with ``views`` test-time views) says about each face: shape (n, 7)."""
    from inference.predictor import EmotionPredictor, float_precision

    if not Path(teacher).exists():
        raise TrainingError(f"no teacher model at {teacher}")
    predictor = EmotionPredictor(teacher, views=views, precision=float_precision())
    chunks = [predictor.classify(faces.images[start : start + batch]) for start in range(0, len(faces), batch)]
    return np.concatenate(chunks).astype(np.float32)


def distillation_targets(labels: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """Training targets: ``weight`` of the teacher's probabilities, the rest the one-hot label."""
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    return (1.0 - weight) * one_hot + weight * teacher


def _datasets(config: TrainingConfig, train: FaceSet, validation: FaceSet, targets: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    """Augmented training batches and plain validation batches.

    ``targets`` (n, 7) replaces the training set's one-hot labels (distillation); validation
    always scores against the labels.
    """
    import tensorflow as tf

    augment = augmentation_layers(config.augmentation)

    def one_hot(images, labels):  # type: ignore[no-untyped-def]
        return tf.cast(images, tf.float32), tf.one_hot(labels, NUM_CLASSES)

    def as_float(images, target):  # type: ignore[no-untyped-def]
        return tf.cast(images, tf.float32), target

    if targets is None:
        targets = np.eye(NUM_CLASSES, dtype=np.float32)[train.labels]
    train_data = (
        tf.data.Dataset.from_tensor_slices((train.images, targets))
        .shuffle(len(train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .map(as_float, num_parallel_calls=tf.data.AUTOTUNE)
        .map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    validation_data = (
        tf.data.Dataset.from_tensor_slices((validation.images, validation.labels))
        .batch(256)
        .map(one_hot)
        .prefetch(tf.data.AUTOTUNE)
    )
    return train_data, validation_data


def _build(config: TrainingConfig, steps_per_epoch: int):  # type: ignore[no-untyped-def]
    import keras

    from inference.architectures import ARCHITECTURES

    if config.architecture not in ARCHITECTURES:
        raise TrainingError(f"unknown architecture {config.architecture!r}; choose from {sorted(ARCHITECTURES)}")
    if config.architecture == "resnet50":
        model = _build_resnet50_stage_one(config)
    else:
        model = ARCHITECTURES[config.architecture]()
    _compile(model, keras.optimizers.Adam(learning_rate=learning_rate_schedule(config, steps_per_epoch)), config)
    return model


def learning_rate_schedule(config: TrainingConfig, steps_per_epoch: int):  # type: ignore[no-untyped-def]
    """Cosine decay to 1% of the rate over the run, or over each cycle of ``restart_epochs`` (warm restarts).

    With restarts, every cycle ends on a low learning rate, so each cycle's last epoch is a
    finished model (a snapshot): the run can stop after any whole cycle, and the snapshots
    can be averaged or distilled.
    """
    import keras

    if config.restart_epochs is None:
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=config.learning_rate,
            decay_steps=max(1, config.epochs * steps_per_epoch),
            alpha=0.01,
        )
    return keras.optimizers.schedules.CosineDecayRestarts(
        initial_learning_rate=config.learning_rate,
        first_decay_steps=max(1, config.restart_epochs * steps_per_epoch),
        t_mul=1.0,
        m_mul=1.0,
        alpha=0.01,
    )


def snapshot_name(cycle: int) -> str:
    return f"cycle-{cycle}.keras"


def _compile(model, optimizer, config: TrainingConfig) -> None:  # type: ignore[no-untyped-def]
    import keras

    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )


# Stage one of the ResNet50 transfer (with ImageNet weights): the new top and the backbone's last four layers learn.
RESNET_TRAINABLE_TAIL = 4


def _build_resnet50_stage_one(config: TrainingConfig):  # type: ignore[no-untyped-def]
    from inference.architectures import build_resnet50

    if config.weights_path is None and not config.from_scratch:
        raise TrainingError(
            "resnet50 needs ImageNet weights, and this machine cannot download them: give a local "
            "ResNet50 'notop' weights file with --weights, or pass --from-scratch to train without them."
        )
    if config.weights_path is not None and not Path(config.weights_path).exists():
        raise TrainingError(f"no weights file at {config.weights_path}")
    model = build_resnet50(weights_path=config.weights_path, backbone_size=config.backbone_size)
    if config.weights_path is None:
        # From scratch there are no learned features to keep: every layer learns from the start.
        return model
    backbone = model.get_layer("backbone")
    for layer in backbone.layers[:-RESNET_TRAINABLE_TAIL]:
        layer.trainable = False
    return model


def _unfreeze_for_fine_tuning(model, config: TrainingConfig) -> None:  # type: ignore[no-untyped-def]
    """Stage two: every layer learns, at a learning rate low enough not to wreck the pretrained features."""
    import keras

    for layer in model.layers:
        layer.trainable = True
    backbone = model.get_layer("backbone")
    for layer in backbone.layers:
        layer.trainable = True
    _compile(model, keras.optimizers.Adam(learning_rate=config.fine_tune_learning_rate), config)


def _state_path(output: Path) -> Path:
    return output / STATE_JSON


def completed_epochs(output: Path) -> int:
    """How many epochs the checkpoint in ``output`` has finished (0 when there is none)."""
    state_file = _state_path(output)
    if not state_file.exists():
        return 0
    return int(json.loads(state_file.read_text())["completed_epochs"])


def plot_history(history_csv: Path, png_path: Path) -> None:
    """Draw accuracy and loss per epoch, training and validation, from the history CSV."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    history = pd.read_csv(history_csv)
    epochs = history["epoch"] + 1
    figure, (accuracy_axis, loss_axis) = plt.subplots(1, 2, figsize=(10, 4))
    accuracy_axis.plot(epochs, history["accuracy"], label="training")
    accuracy_axis.plot(epochs, history["val_accuracy"], label="validation")
    accuracy_axis.set(title="Accuracy", xlabel="epoch")
    loss_axis.plot(epochs, history["loss"], label="training")
    loss_axis.plot(epochs, history["val_loss"], label="validation")
    loss_axis.set(title="Loss", xlabel="epoch")
    for axis in (accuracy_axis, loss_axis):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)
    plt.close(figure)


def _epoch_callback(config: TrainingConfig, output: Path, started: float):  # type: ignore[no-untyped-def]
    import keras

    class RecordProgress(keras.callbacks.Callback):
        """After each epoch: remember how far we got and redraw the curves."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            previous = json.loads(_state_path(output).read_text()) if _state_path(output).exists() else {}
            best = max(float(previous.get("best_val_accuracy", 0.0)), float((logs or {}).get("val_accuracy", 0.0)))
            state = {
                "completed_epochs": epoch + 1,
                "best_val_accuracy": best,
                "training_seconds": float(previous.get("training_seconds_before", 0.0)) + time.monotonic() - started,
                "training_seconds_before": float(previous.get("training_seconds_before", 0.0)),
                "config": asdict(config),
            }
            _state_path(output).write_text(json.dumps(state, indent=2))
            plot_history(output / HISTORY_CSV, output / CURVES_PNG)
            if config.restart_epochs is not None and (epoch + 1) % config.restart_epochs == 0:
                self.model.save(output / snapshot_name((epoch + 1) // config.restart_epochs))

    return RecordProgress()


def train(config: TrainingConfig, *, resume: bool = False, verbose: int | str = "auto") -> Path:
    """Train ``config.architecture`` and return the path of the best model by validation accuracy.

    Each epoch writes ``last.keras`` (with the optimizer, for resuming), ``best.keras``,
    ``history.csv``, ``curves.png`` and ``state.json`` into ``config.output``.
    """
    import keras

    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    # The policy is global to the process: set it either way, so one run cannot leak into the next.
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if config.mixed_precision else "float32")
    if config.mixed_precision and cpu_has_native_bfloat16() is False:
        logger.warning(
            "this CPU has no native bfloat16 (avx512_bf16 or amx_bf16): mixed precision is emulated and "
            "several times slower than float32 here; pass --no-mixed-precision"
        )
    train_faces = load_faces(config.data, usage=config.train_usage, limit=config.limit)
    validation_faces = load_faces(config.data, usage=config.validation_usage, limit=config.limit)
    logger.info("training on %d faces, validating on %d", len(train_faces), len(validation_faces))
    targets = None
    if config.teacher is not None:
        logger.info("reading the training faces with the teacher %s (%d views)", config.teacher, config.teacher_views)
        teacher = teacher_probabilities(config.teacher, train_faces, views=config.teacher_views)
        agreement = float(np.mean(teacher.argmax(axis=1) == train_faces.labels))
        logger.info("the teacher agrees with %.1f%% of the training labels", 100 * agreement)
        targets = distillation_targets(train_faces.labels, teacher, config.distillation_weight)
    train_data, validation_data = _datasets(config, train_faces, validation_faces, targets)
    steps_per_epoch = int(np.ceil(len(train_faces) / config.batch_size))

    initial_epoch = 0
    last_checkpoint = output / LAST_CHECKPOINT
    if resume and last_checkpoint.exists():
        model = keras.models.load_model(last_checkpoint)
        initial_epoch = completed_epochs(output)
        state = json.loads(_state_path(output).read_text())
        state["training_seconds_before"] = state.get("training_seconds", 0.0)
        _state_path(output).write_text(json.dumps(state, indent=2))
        logger.info("resuming after epoch %d", initial_epoch)
    else:
        if not resume and last_checkpoint.exists():
            raise TrainingError(f"{output} already holds a run; pass --resume to continue it or choose another output")
        model = _build(config, steps_per_epoch)
        if config.initial_weights is not None:
            # A new cycle from an earlier run's weights (a warm restart of the learning-rate schedule).
            model.set_weights(keras.models.load_model(config.initial_weights, compile=False).get_weights())
        (output / HISTORY_CSV).unlink(missing_ok=True)
    if initial_epoch >= config.total_epochs:
        logger.info("nothing to do: %d of %d epochs already done", initial_epoch, config.total_epochs)
        return output / BEST_MODEL

    callbacks = [
        keras.callbacks.ModelCheckpoint(last_checkpoint),
        keras.callbacks.ModelCheckpoint(output / BEST_MODEL, monitor="val_accuracy", save_best_only=True, mode="max"),
        keras.callbacks.CSVLogger(output / HISTORY_CSV, append=True),
        _epoch_callback(config, output, time.monotonic()),
    ]
    if initial_epoch > 0:
        # A restarted ModelCheckpoint forgets the best score; start it from the recorded one.
        callbacks[1].best = json.loads(_state_path(output).read_text())["best_val_accuracy"]
    fit = {"validation_data": validation_data, "callbacks": callbacks, "verbose": verbose, "shuffle": False}
    # shuffle=False: the dataset reshuffles itself every epoch.
    if initial_epoch < config.epochs:
        model.fit(train_data, epochs=config.epochs, initial_epoch=initial_epoch, **fit)
        initial_epoch = config.epochs
    if config.fine_tune_epochs > 0:
        _unfreeze_for_fine_tuning(model, config)
        model.fit(train_data, epochs=config.total_epochs, initial_epoch=initial_epoch, **fit)
    return output / BEST_MODEL


def build_argument_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line options shared by ``python -m inference.training`` and the manage.py command."""
    parser = parser or argparse.ArgumentParser(description="Train an emotion network on FER2013-layout data.")
    parser.add_argument("--arch", required=True, help="architecture: paper_cnn, vgg_bn or resnet50")
    parser.add_argument("--data", required=True, help="FER2013-layout CSV (.csv or .csv.gz) or image-folder root")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--output", required=True, help="folder for checkpoints, history and curves")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --output")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--no-mixed-precision", action="store_true")
    parser.add_argument("--train-usage", default="Training", help="Usage value (CSV) or sub-folder (folders)")
    parser.add_argument("--validation-usage", default="PublicTest")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N faces of each split")
    parser.add_argument("--weights", default=None, help="local ImageNet 'notop' weights file (resnet50 only)")
    parser.add_argument("--from-scratch", action="store_true", help="resnet50 without ImageNet weights")
    parser.add_argument("--backbone-size", type=int, default=96, help="resnet50 input side (faces are resized to it)")
    parser.add_argument("--fine-tune-epochs", type=int, default=0, help="stage two: epochs with every layer trainable")
    parser.add_argument("--fine-tune-learning-rate", type=float, default=1e-5)
    parser.add_argument("--initial-weights", default=None, help="start from this .keras model's weights")
    parser.add_argument(
        "--teacher", default=None, help="distil: learn from this .keras model's probabilities as well as the labels"
    )
    parser.add_argument(
        "--distillation-weight", type=float, default=0.5, help="share of the teacher in each target (0-1)"
    )
    parser.add_argument("--teacher-views", type=int, default=4, help="test-time views the teacher reads: 1, 2 or 4")
    parser.add_argument(
        "--augmentation", default="reference", choices=AUGMENTATIONS, help="training augmentation (see the model card)"
    )
    parser.add_argument(
        "--restart-epochs",
        type=int,
        default=None,
        help="cosine warm restarts: cycle length in epochs; each cycle's end is saved as cycle-N.keras",
    )
    parser.add_argument("--seed", type=int, default=1234, help="seed for the shuffling, augmentation and first weights")
    return parser


# The options named otherwise than the TrainingConfig field they set. Every other field is set
# by the option of its own name, so a field added without an option fails loudly, not silently.
OPTION_FOR_FIELD = {"architecture": "arch", "weights_path": "weights", "mixed_precision": "no_mixed_precision"}
# Options that say the opposite of their field.
NEGATED_OPTIONS = frozenset({"no_mixed_precision"})


def config_from_arguments(arguments: argparse.Namespace | dict) -> TrainingConfig:
    """The run's ``TrainingConfig`` from the parsed options (argparse's, or a manage.py command's dict).

    Every field is read from its option (``OPTION_FOR_FIELD`` names the few that differ); a bad
    combination raises ``TrainingError`` naming the option.
    """
    values = vars(arguments) if isinstance(arguments, argparse.Namespace) else arguments
    if values["epochs"] < 1:
        raise TrainingError("--epochs must be at least 1")
    if values["fine_tune_epochs"] < 0:
        raise TrainingError("--fine-tune-epochs must not be negative")
    if not 0.0 <= values["distillation_weight"] <= 1.0:
        raise TrainingError("--distillation-weight must be between 0 and 1")
    if values["restart_epochs"] is not None and values["restart_epochs"] < 1:
        raise TrainingError("--restart-epochs must be at least 1")
    if values["teacher_views"] not in TEST_TIME_VIEW_COUNTS:
        raise TrainingError(f"--teacher-views must be one of {', '.join(map(str, TEST_TIME_VIEW_COUNTS))}")
    chosen: dict[str, Any] = {}
    for field in fields(TrainingConfig):
        option = OPTION_FOR_FIELD.get(field.name, field.name)
        chosen[field.name] = not values[option] if option in NEGATED_OPTIONS else values[option]
    # A manage.py caller may pass paths as Path objects; the config (saved as JSON) holds strings.
    chosen["data"], chosen["output"] = str(chosen["data"]), str(chosen["output"])
    return TrainingConfig(**chosen)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    arguments = build_argument_parser().parse_args(argv)
    best = train(
        config_from_arguments(arguments), resume=arguments.resume, verbose="auto" if sys.stdout.isatty() else 2
    )
    print(f"best model: {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
