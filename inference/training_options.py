"""What defines a training run: :class:`TrainingConfig` and the command-line options that set it.

``python -m inference.training`` and ``python manage.py train_emotion_model`` share these options.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from typing import Any

from inference.preprocessing import TEST_TIME_VIEW_COUNTS


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


# The training-time augmentations inference.training.augmentation_layers builds.
AUGMENTATIONS = ("reference", "strong")


def build_argument_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line options shared by ``python -m inference.training`` and the manage.py command."""
    parser = parser or argparse.ArgumentParser(description="Train an emotion network on FER2013-layout data.")
    parser.add_argument("--arch", required=True, help="architecture: paper_cnn, vgg_bn, vgg_bn_wide or resnet50")
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
        "--teacher",
        default=None,
        help="distil: learn from this .keras model's probabilities as well as the labels, or from an "
        "ensemble's saved by python -m inference.teacher (.npz)",
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
