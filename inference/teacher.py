"""An ensemble's reading of the training faces, kept in a small file for distillation.

``python -m inference.teacher --data DATA --output teacher.npz MODEL.keras [MODEL.keras ...]``
reads every training face with each model (``--views`` test-time views) and saves the averaged
probabilities with the faces' labels. ``--teacher teacher.npz`` then trains against them: a run
resumed in a later session needs this file (0.4 MB for FER2013's training faces), not the teacher models,
and an ensemble needs no combined model file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from inference.datasets import FaceSet, load_faces
from inference.labels import NUM_CLASSES
from inference.training_options import TrainingError

TEACHER_SUFFIX = ".npz"
# How far a row of saved probabilities may be from summing to one (float16 storage rounds).
SUM_TOLERANCE = 0.01


def teacher_probabilities(teacher: str | Path, faces: FaceSet, *, views: int = 4, batch: int = 256) -> np.ndarray:
    """What a trained model (read with ``views`` test-time views) says about each face: shape (n, 7)."""
    from inference.predictor import EmotionPredictor, float_precision

    if not Path(teacher).exists():
        raise TrainingError(f"no teacher model at {teacher}")
    predictor = EmotionPredictor(teacher, views=views, precision=float_precision())
    chunks = [predictor.classify(faces.images[start : start + batch]) for start in range(0, len(faces), batch)]
    return np.concatenate(chunks).astype(np.float32)


def ensemble_probabilities(models: list[str | Path], faces: FaceSet, *, views: int = 4) -> np.ndarray:
    """The models' probabilities for each face, averaged: shape (n, 7)."""
    if not models:
        raise TrainingError("name at least one teacher model")
    return np.mean([teacher_probabilities(model, faces, views=views) for model in models], axis=0)


def save_teacher(path: str | Path, probabilities: np.ndarray, faces: FaceSet, *, models: list[str | Path]) -> None:
    np.savez_compressed(
        path,
        probabilities=probabilities.astype(np.float16),
        labels=faces.labels.astype(np.int8),
        models=np.array([Path(model).name for model in models]),
    )


def load_teacher(path: str | Path, faces: FaceSet) -> np.ndarray:
    """The saved probabilities, checked to belong to ``faces`` (the same number, in the same order by label)."""
    path = Path(path)
    if not path.exists():
        raise TrainingError(f"no teacher file at {path}")
    try:
        with np.load(path, allow_pickle=False) as saved:
            probabilities = saved["probabilities"].astype(np.float32)
            labels = saved["labels"]
    except (OSError, ValueError, KeyError) as error:
        raise TrainingError(f"{path} is not a teacher file made by python -m inference.teacher ({error})") from error
    if probabilities.shape != (len(faces), NUM_CLASSES) or labels.shape != (len(faces),):
        raise TrainingError(
            f"{path} holds the teacher's reading of {len(labels)} faces; this run trains on {len(faces)}"
        )
    if not np.array_equal(labels, faces.labels):
        raise TrainingError(f"{path} was made for other faces, or the same in another order: its labels differ")
    sums = probabilities.sum(axis=1)
    if not np.all(np.isfinite(probabilities)) or probabilities.min() < 0 or np.abs(sums - 1).max() > SUM_TOLERANCE:
        raise TrainingError(f"{path} holds rows that are not probabilities")
    return probabilities / sums[:, None]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description="Save an ensemble's reading of the training faces for --teacher.")
    parser.add_argument("models", nargs="+", help="the teacher .keras models (their probabilities are averaged)")
    parser.add_argument("--data", required=True, help="the training run's --data")
    parser.add_argument("--usage", default="Training", help="the training run's --train-usage")
    parser.add_argument("--views", type=int, default=4, help="test-time views each model reads: 1, 2 or 4")
    parser.add_argument("--output", required=True, help=f"the file to write ({TEACHER_SUFFIX})")
    arguments = parser.parse_args(argv)
    if not arguments.output.endswith(TEACHER_SUFFIX):
        parser.error(f"--output must end in {TEACHER_SUFFIX}")
    faces = load_faces(arguments.data, usage=arguments.usage)
    probabilities = ensemble_probabilities(arguments.models, faces, views=arguments.views)
    agreement = float(np.mean(probabilities.argmax(axis=1) == faces.labels))
    save_teacher(arguments.output, probabilities, faces, models=arguments.models)
    print(f"{arguments.output}: {len(faces)} faces, the ensemble agrees with {100 * agreement:.1f}% of their labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
