"""Zip archives of labelled faces for the labelled-evaluation tests: real FER2013 faces written as PNG or JPEG."""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.datasets import FaceSet
from inference.labels import EMOTIONS

FER_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013" / "fer2013_train_publictest.csv.gz"
# Each emotion's folder named with a synonym the training command accepts, as other data sets name them.
SYNONYM_FOLDERS = {
    "angry": "anger",
    "disgust": "disgusted",
    "fear": "fearful",
    "happy": "happiness",
    "sad": "sadness",
    "surprise": "surprised",
    "neutral": "neutral",
}


@functools.cache
def _public_test_faces(limit: int) -> FaceSet:
    from inference.datasets import load_faces

    return load_faces(FER_CSV, usage="PublicTest", limit=limit)


def fer_faces(limit: int = 200) -> FaceSet:
    """Real FER2013 PublicTest faces with their labels; the test is skipped where the data set is absent."""
    if not FER_CSV.exists():
        pytest.skip(f"FER2013 is not at {FER_CSV}")
    return _public_test_faces(limit)


def encoded(grey: np.ndarray, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(grey.reshape(grey.shape[0], grey.shape[1]))).save(
        buffer, format=image_format, **({"quality": 90} if image_format == "JPEG" else {})
    )
    return buffer.getvalue()


def face_files(
    faces: FaceSet,
    *,
    folders: Mapping[str, str] = SYNONYM_FOLDERS,
    image_format: str = "PNG",
    root: str = "study/",
) -> dict[str, bytes]:
    """Each face as an image file in its emotion's folder: ``study/anger/0003.png``..."""
    suffix = ".jpg" if image_format == "JPEG" else f".{image_format.lower()}"
    return {
        f"{root}{folders[EMOTIONS[int(label)]]}/{number:04d}{suffix}": encoded(image, image_format)
        for number, (image, label) in enumerate(zip(faces.images, faces.labels, strict=True))
    }


def labelled_zip(files: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> bytes:
    """A deflated zip archive of ``files`` (name and content), in the order given."""
    buffer = io.BytesIO()
    items = files.items() if isinstance(files, Mapping) else files
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in items:
            archive.writestr(name, content)
    return buffer.getvalue()


def subset(faces: FaceSet, count: int, *, start: int = 0) -> FaceSet:
    return FaceSet(images=faces.images[start : start + count], labels=faces.labels[start : start + count])
