"""Training an emotion network on labelled faces, with a checkpoint every epoch and resume.

Run from the shell as ``python -m inference.training`` or through the Django
command ``python manage.py train_emotion_model``; both call :func:`train`. The run's
definition and its command-line options are in ``inference.training_options``; what each
epoch records in the output folder (and a resumed run reads back) in ``inference.training_progress``.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np

from inference.cpu import cpu_has_native_bfloat16
from inference.datasets import FaceSet, load_faces
from inference.labels import NUM_CLASSES
from inference.teacher import TEACHER_SUFFIX, load_teacher, teacher_probabilities
from inference.training_options import (
    AUGMENTATIONS,
    TrainingConfig,
    TrainingError,
    build_argument_parser,
    config_from_arguments,
)
from inference.training_progress import (
    HISTORY_CSV,
    carry_training_time_over,
    completed_epochs,
    progress_callback,
    recorded_best_val_accuracy,
)

logger = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.keras"
BEST_MODEL = "best.keras"


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


def distillation_targets(labels: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """Training targets: ``weight`` of the teacher's probabilities, the rest the one-hot label."""
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    return (1.0 - weight) * one_hot + weight * teacher


def _datasets(  # type: ignore[no-untyped-def]
    config: TrainingConfig,
    train: FaceSet,
    validation: FaceSet,
    targets: np.ndarray | None = None,
    *,
    seed: int | None = None,
):
    """Augmented training batches and plain validation batches.

    ``targets`` (n, 7) replaces the training set's one-hot labels (distillation); validation
    always scores against the labels. ``seed`` shuffles the training faces (None: the run's).
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
        .shuffle(len(train), seed=config.seed if seed is None else seed, reshuffle_each_iteration=True)
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


def training_batches(config: TrainingConfig):  # type: ignore[no-untyped-def]
    """The run's augmented training batches (against the labels) and the number of steps in an epoch."""
    train_faces = load_faces(config.data, usage=config.train_usage, limit=config.limit)
    train_data, _ = _datasets(config, train_faces, train_faces)
    return train_data, int(np.ceil(len(train_faces) / config.batch_size))


def build_model(config: TrainingConfig, steps_per_epoch: int):  # type: ignore[no-untyped-def]
    """A new ``config.architecture``, compiled with Adam on the run's learning-rate schedule."""
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


def data_seed(config: TrainingConfig, start_epoch: int) -> int:
    """The seed of a run's shuffling and augmentation when a process starts it at ``start_epoch``.

    A process's first pass over the data is a function of the seed alone: the same faces in the
    same order with the same random transforms. Seeded as the run began, every resumed process
    would show the network again, image for image, the batches of the run's first epoch and of
    every resume before (measured: a network resumed for the fourth time read those batches at
    79% in training mode, freshly drawn ones at 72%, and its validation accuracy fell). So a
    resumed process draws from the seed and the epoch it starts at; a new run uses the seed itself.
    """
    if start_epoch == 0:
        return config.seed
    return int(np.random.SeedSequence([config.seed, start_epoch]).generate_state(1)[0] % 2**31)


def set_seed_and_precision(config: TrainingConfig, *, seed: int | None = None) -> None:
    """Seed every generator with ``seed`` (None: the run's own) and set the run's numerics."""
    import keras

    keras.utils.set_random_seed(config.seed if seed is None else seed)
    # The policy is global to the process: set it either way, so one run cannot leak into the next.
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if config.mixed_precision else "float32")
    if config.mixed_precision and cpu_has_native_bfloat16() is False:
        logger.warning(
            "this CPU has no native bfloat16 (avx512_bf16 or amx_bf16): mixed precision is emulated and "
            "several times slower than float32 here; pass --no-mixed-precision"
        )


def _training_targets(config: TrainingConfig, train_faces: FaceSet) -> np.ndarray | None:
    """The distillation targets when the run has a teacher; None to train on the one-hot labels."""
    if config.teacher is None:
        return None
    if config.teacher.endswith(TEACHER_SUFFIX):
        logger.info("the teacher's reading of the training faces from %s", config.teacher)
        teacher = load_teacher(config.teacher, train_faces)
    else:
        logger.info("reading the training faces with the teacher %s (%d views)", config.teacher, config.teacher_views)
        teacher = teacher_probabilities(config.teacher, train_faces, views=config.teacher_views)
    agreement = float(np.mean(teacher.argmax(axis=1) == train_faces.labels))
    logger.info("the teacher agrees with %.1f%% of the training labels", 100 * agreement)
    return distillation_targets(train_faces.labels, teacher, config.distillation_weight)


def _load_or_build(config: TrainingConfig, output: Path, steps_per_epoch: int, *, resume: bool):  # type: ignore[no-untyped-def]
    """The model to train and the epoch it starts from: the last checkpoint's when resuming, else a new one's 0."""
    import keras

    last_checkpoint = output / LAST_CHECKPOINT
    if resume and last_checkpoint.exists():
        model = keras.models.load_model(last_checkpoint)
        initial_epoch = completed_epochs(output)
        carry_training_time_over(output)
        logger.info("resuming after epoch %d", initial_epoch)
        return model, initial_epoch
    if not resume and last_checkpoint.exists():
        raise TrainingError(f"{output} already holds a run; pass --resume to continue it or choose another output")
    model = build_model(config, steps_per_epoch)
    if config.initial_weights is not None:
        # A new cycle from an earlier run's weights (a warm restart of the learning-rate schedule).
        model.set_weights(keras.models.load_model(config.initial_weights, compile=False).get_weights())
    (output / HISTORY_CSV).unlink(missing_ok=True)
    return model, 0


def _callbacks(config: TrainingConfig, output: Path, *, resumed: bool) -> list:
    """Per epoch: the last checkpoint, the best model so far, the history row, and the run's progress."""
    import keras

    best_model = keras.callbacks.ModelCheckpoint(
        output / BEST_MODEL, monitor="val_accuracy", save_best_only=True, mode="max"
    )
    if resumed:
        # A restarted ModelCheckpoint forgets the best score; start it from the recorded one.
        best_model.best = recorded_best_val_accuracy(output)
    return [
        keras.callbacks.ModelCheckpoint(output / LAST_CHECKPOINT),
        best_model,
        keras.callbacks.CSVLogger(output / HISTORY_CSV, append=True),
        progress_callback(config, output, time.monotonic()),
    ]


def train(config: TrainingConfig, *, resume: bool = False, verbose: int | str = "auto") -> Path:
    """Train ``config.architecture`` and return the path of the best model by validation accuracy.

    Each epoch writes ``last.keras`` (with the optimizer, for resuming), ``best.keras``,
    ``history.csv``, ``curves.png`` and ``state.json`` into ``config.output``.
    """
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    start_epoch = completed_epochs(output) if resume and (output / LAST_CHECKPOINT).exists() else 0
    seed = data_seed(config, start_epoch)
    set_seed_and_precision(config, seed=seed)
    train_faces = load_faces(config.data, usage=config.train_usage, limit=config.limit)
    validation_faces = load_faces(config.data, usage=config.validation_usage, limit=config.limit)
    logger.info("training on %d faces, validating on %d", len(train_faces), len(validation_faces))
    targets = _training_targets(config, train_faces)
    train_data, validation_data = _datasets(config, train_faces, validation_faces, targets, seed=seed)
    steps_per_epoch = int(np.ceil(len(train_faces) / config.batch_size))
    model, initial_epoch = _load_or_build(config, output, steps_per_epoch, resume=resume)
    if initial_epoch >= config.total_epochs:
        logger.info("nothing to do: %d of %d epochs already done", initial_epoch, config.total_epochs)
        return output / BEST_MODEL

    callbacks = _callbacks(config, output, resumed=initial_epoch > 0)
    # shuffle=False: the dataset reshuffles itself every epoch.
    fit = {"validation_data": validation_data, "callbacks": callbacks, "verbose": verbose, "shuffle": False}
    if initial_epoch < config.epochs:
        model.fit(train_data, epochs=config.epochs, initial_epoch=initial_epoch, **fit)
        initial_epoch = config.epochs
    if config.fine_tune_epochs > 0:
        _unfreeze_for_fine_tuning(model, config)
        model.fit(train_data, epochs=config.total_epochs, initial_epoch=initial_epoch, **fit)
    return output / BEST_MODEL


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
