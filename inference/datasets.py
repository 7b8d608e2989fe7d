"""Loading labelled faces from the FER2013 CSV layout or from image folders."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.labels import EMOTIONS, FACE_SIZE, NUM_CLASSES, label_for_folder

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class DatasetError(ValueError):
    """A data set path or file that cannot be read as labelled faces."""


@dataclass(frozen=True)
class FaceSet:
    """Grey 48x48 faces (uint8, shape n x 48 x 48 x 1) with integer labels in FER2013 order."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=NUM_CLASSES)
        return {emotion: int(count) for emotion, count in zip(EMOTIONS, counts, strict=True)}


def image_as_face(grey: np.ndarray) -> np.ndarray:
    """An image that is a face already (a data set's crop), as the network reads it: 48x48 grey, shape (48, 48, 1)."""
    import cv2

    if grey.shape[:2] != (FACE_SIZE, FACE_SIZE):
        grey = cv2.resize(grey, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return grey.reshape(FACE_SIZE, FACE_SIZE, 1)


def load_faces(path: str | Path, *, usage: str | None = None, limit: int | None = None) -> FaceSet:
    """Load faces from a FER2013-layout CSV (plain or .gz) or an image-folder data set.

    For the CSV layout, ``usage`` keeps only rows whose Usage column matches
    (``Training``, ``PublicTest``...). For folders, ``usage`` names a sub-folder
    (``train``, ``test``) when one exists. ``limit`` keeps the first N faces,
    which is how tests train on a few hundred.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"data set not found: {path}")
    if path.is_dir():
        return _load_image_folders(path, usage=usage, limit=limit)
    return _load_fer_csv(path, usage=usage, limit=limit)


def _load_fer_csv(path: Path, *, usage: str | None, limit: int | None) -> FaceSet:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype={"emotion": "int64", "pixels": "string", "Usage": "string"})
    except (ValueError, OSError) as error:
        raise DatasetError(f"{path} is not a FER2013-layout CSV: {error}") from error
    missing = {"emotion", "pixels"} - set(frame.columns)
    if missing:
        raise DatasetError(f"{path} lacks the column(s) {sorted(missing)}")
    if usage is not None:
        if "Usage" not in frame.columns:
            raise DatasetError(f"{path} has no Usage column to filter on")
        frame = frame[frame["Usage"] == usage]
        if frame.empty:
            raise DatasetError(f"{path} has no rows with Usage == {usage!r}")
    if limit is not None:
        frame = frame.iloc[:limit]
    pixel_count = FACE_SIZE * FACE_SIZE
    images = np.empty((len(frame), FACE_SIZE, FACE_SIZE, 1), dtype=np.uint8)
    for index, text in enumerate(frame["pixels"]):
        values = np.array(str(text).split(), dtype=np.uint8)
        if values.size != pixel_count:
            raise DatasetError(f"{path}: row {index} has {values.size} pixels, expected {pixel_count}")
        images[index, :, :, 0] = values.reshape(FACE_SIZE, FACE_SIZE)
    labels = frame["emotion"].to_numpy(dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DatasetError(f"{path}: emotion labels must lie in 0..{NUM_CLASSES - 1}")
    return FaceSet(images=images, labels=labels)


def _load_image_folders(root: Path, *, usage: str | None, limit: int | None) -> FaceSet:
    import cv2

    if usage is not None:
        candidates = [child for child in root.iterdir() if child.is_dir() and child.name.lower() == usage.lower()]
        if not candidates:
            raise DatasetError(f"{root} has no sub-folder named {usage!r}")
        root = candidates[0]
    images: list[np.ndarray] = []
    labels: list[int] = []
    for class_folder in sorted(child for child in root.iterdir() if child.is_dir()):
        label = label_for_folder(class_folder.name)
        if label is None:
            logger.warning("skipping folder %s: not one of the seven FER2013 emotions", class_folder.name)
            continue
        for image_path in sorted(class_folder.iterdir()):
            if image_path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            grey = cv2.imread(str(image_path), cv2.IMREAD_GRAYSCALE)
            if grey is None:
                logger.warning("skipping unreadable image %s", image_path)
                continue
            images.append(image_as_face(grey))
            labels.append(EMOTIONS.index(label))
    if not labels:
        raise DatasetError(f"{root} holds no images in folders named after the seven emotions")
    faces = FaceSet(images=np.stack(images), labels=np.array(labels, dtype=np.int64))
    if limit is None or limit >= len(faces):
        return faces
    # Folders are read class by class, so a plain head would hold one class only.
    chosen = np.sort(np.random.default_rng(0).permutation(len(faces))[:limit])
    return FaceSet(images=faces.images[chosen], labels=faces.labels[chosen])
