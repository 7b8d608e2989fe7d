"""What a training run records in its output folder after each epoch, and reads back to resume.

``state.json`` (how far the run got, its best validation accuracy, its training time, its
config), ``history.csv``, ``curves.png`` and, with warm restarts, one ``cycle-N.keras`` snapshot
per cycle.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from inference.training_options import TrainingConfig

HISTORY_CSV = "history.csv"
CURVES_PNG = "curves.png"
STATE_JSON = "state.json"


def state_path(output: Path) -> Path:
    return output / STATE_JSON


def completed_epochs(output: Path) -> int:
    """How many epochs the checkpoint in ``output`` has finished (0 when there is none)."""
    state_file = state_path(output)
    if not state_file.exists():
        return 0
    return int(json.loads(state_file.read_text())["completed_epochs"])


def recorded_best_val_accuracy(output: Path) -> float:
    """The best validation accuracy the run in ``output`` has recorded so far."""
    return json.loads(state_path(output).read_text())["best_val_accuracy"]  # type: ignore[no-any-return]


def carry_training_time_over(output: Path) -> None:
    """Before a resumed run's first epoch: count its training time on from what the state records."""
    state = json.loads(state_path(output).read_text())
    state["training_seconds_before"] = state.get("training_seconds", 0.0)
    state_path(output).write_text(json.dumps(state, indent=2))


def snapshot_name(cycle: int) -> str:
    return f"cycle-{cycle}.keras"


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


def progress_callback(config: TrainingConfig, output: Path, started: float):  # type: ignore[no-untyped-def]
    """A Keras callback that, after each epoch, writes the state and the curves and saves each cycle's end."""
    import keras

    class RecordProgress(keras.callbacks.Callback):
        """After each epoch: remember how far we got and redraw the curves."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            previous = json.loads(state_path(output).read_text()) if state_path(output).exists() else {}
            best = max(float(previous.get("best_val_accuracy", 0.0)), float((logs or {}).get("val_accuracy", 0.0)))
            state = {
                "completed_epochs": epoch + 1,
                "best_val_accuracy": best,
                "training_seconds": float(previous.get("training_seconds_before", 0.0)) + time.monotonic() - started,
                "training_seconds_before": float(previous.get("training_seconds_before", 0.0)),
                "config": asdict(config),
            }
            state_path(output).write_text(json.dumps(state, indent=2))
            plot_history(output / HISTORY_CSV, output / CURVES_PNG)
            if config.restart_epochs is not None and (epoch + 1) % config.restart_epochs == 0:
                self.model.save(output / snapshot_name((epoch + 1) // config.restart_epochs))

    return RecordProgress()
