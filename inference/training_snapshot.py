"""A training run small enough to commit, so a long run can go on in the next session.

A run's ``last.keras`` holds the weights and Adam's two moments in float32: 53 MB for
``vgg_bn_wide``, too much to commit every session, and the run folder (``training-runs/``) does
not outlive the session's machine. ``save`` keeps what resuming needs in a folder of the
repository: the weights in float16 (a quarter of the checkpoint; rounding a weight to float16
changes it by less than one part in a thousand, far less than one training step does),
``state.json``, ``history.csv`` and the curves. ``restore`` rebuilds a run folder from it that
``python -m inference.training … --resume`` continues at the next epoch, with the learning-rate
schedule where it was (the optimizer's step count is set to the epochs done).

Adam's moments are not kept. Restored at zero, the second moment would make the first steps
several times too large, so it is estimated again from the squared gradients of
``MOMENT_BATCHES`` training batches before the run goes on; the first moment starts at zero,
which only makes the first few steps smaller.

    python -m inference.training_snapshot save training-runs/RUN inference/models/training/resume/RUN
    python -m inference.training_snapshot restore inference/models/training/resume/RUN training-runs/RUN
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from inference.training_options import TrainingConfig, TrainingError
from inference.training_progress import CURVES_PNG, HISTORY_CSV, STATE_JSON

WEIGHTS_FILE = "weights.npz"
MOMENT_BATCHES = 20


def save_snapshot(run: Path, snapshot: Path) -> Path:
    """Keep ``run``'s last checkpoint in ``snapshot``: float16 weights, state, history and curves."""
    import keras

    from inference.training import LAST_CHECKPOINT

    checkpoint = run / LAST_CHECKPOINT
    if not checkpoint.is_file() or not (run / STATE_JSON).is_file():
        raise TrainingError(f"{run} holds no run to keep: {LAST_CHECKPOINT} or {STATE_JSON} is missing")
    model = keras.models.load_model(checkpoint, compile=False)
    snapshot.mkdir(parents=True, exist_ok=True)
    weights = {f"w{index:03d}": value.astype(np.float16) for index, value in enumerate(model.get_weights())}
    np.savez_compressed(snapshot / WEIGHTS_FILE, **weights)  # type: ignore[arg-type]
    for name in (STATE_JSON, HISTORY_CSV, CURVES_PNG):
        if (run / name).is_file():
            shutil.copyfile(run / name, snapshot / name)
    return snapshot


def restore_snapshot(snapshot: Path, run: Path, *, data: str | None = None) -> Path:
    """Rebuild ``run`` (``last.keras``, ``best.keras``, state and history) from a kept snapshot.

    ``data``: the training data's path, when it is not where the snapshot's config says.
    ``best.keras`` is the restored last epoch, and the state's best accuracy is that epoch's,
    so the resumed run's best model is always one it can show.
    """
    from inference.training import BEST_MODEL, LAST_CHECKPOINT, build_model, set_seed_and_precision, training_batches

    if (run / LAST_CHECKPOINT).exists():
        raise TrainingError(f"{run} already holds a run; restore into an empty folder")
    state = json.loads((snapshot / STATE_JSON).read_text())
    config = TrainingConfig(**(state["config"] | ({"data": data} if data else {}) | {"output": str(run)}))
    history = (snapshot / HISTORY_CSV).read_text().splitlines()
    if len(history) - 1 != state["completed_epochs"]:
        epochs = state["completed_epochs"]
        raise TrainingError(f"{snapshot}: the history has {len(history) - 1} epochs, the state {epochs}")
    set_seed_and_precision(config)
    batches, steps_per_epoch = training_batches(config)
    model = build_model(config, steps_per_epoch)
    with np.load(snapshot / WEIGHTS_FILE) as stored:
        weights = [stored[name] for name in sorted(stored.files)]
    model.set_weights([value.astype(np.float32) for value in weights])
    _restore_optimizer(model, batches, epochs_done=state["completed_epochs"], steps_per_epoch=steps_per_epoch)
    run.mkdir(parents=True, exist_ok=True)
    model.save(run / LAST_CHECKPOINT)
    model.save(run / BEST_MODEL)
    last_val_accuracy = float(history[-1].split(",")[history[0].split(",").index("val_accuracy")])
    state |= {"best_val_accuracy": last_val_accuracy, "config": state["config"] | {"output": str(run)}}
    (run / STATE_JSON).write_text(json.dumps(state, indent=2))
    for name in (HISTORY_CSV, CURVES_PNG):
        if (snapshot / name).is_file():
            shutil.copyfile(snapshot / name, run / name)
    return run


def _restore_optimizer(model, batches, *, epochs_done: int, steps_per_epoch: int) -> None:  # type: ignore[no-untyped-def]
    """Set Adam's step count to the epochs done and its second moment to the mean squared gradient."""
    import tensorflow as tf

    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    squares = [tf.zeros_like(variable, dtype=tf.float32) for variable in model.trainable_variables]
    count = 0
    for images, targets in batches.take(MOMENT_BATCHES):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=images, y=targets, y_pred=model(images, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        squares = [
            total + tf.square(tf.cast(gradient, tf.float32)) for total, gradient in zip(squares, gradients, strict=True)
        ]
        count += 1
    if count == 0:
        raise TrainingError("no training batches to estimate the optimizer's state from")
    # Keras's Adam keeps one velocity per trainable variable, in the variables' order.
    for square, velocity in zip(squares, optimizer._velocities, strict=True):
        velocity.assign(square / count)
    optimizer.iterations.assign(epochs_done * steps_per_epoch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    save = commands.add_parser("save", help="keep a run's last checkpoint in a folder of the repository")
    save.add_argument("run", type=Path)
    save.add_argument("snapshot", type=Path)
    restore = commands.add_parser("restore", help="rebuild a run folder from a kept snapshot, ready for --resume")
    restore.add_argument("snapshot", type=Path)
    restore.add_argument("run", type=Path)
    restore.add_argument("--data", default=None, help="the training data, when not where the snapshot's config says")
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "save":
            print(f"kept in {save_snapshot(arguments.run, arguments.snapshot)}")
        else:
            print(f"restored into {restore_snapshot(arguments.snapshot, arguments.run, data=arguments.data)}")
    except TrainingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
