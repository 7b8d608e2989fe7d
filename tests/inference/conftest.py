from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FER_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "fer2013" / "fer2013_train_publictest.csv.gz"


@pytest.fixture(scope="session")
def fer_csv() -> Path:
    if not FER_CSV.exists():
        pytest.skip(f"FER2013 is not at {FER_CSV}")
    return FER_CSV


@pytest.fixture(scope="session")
def fer_faces(fer_csv):  # type: ignore[no-untyped-def]
    """A few hundred real FER2013 faces (PublicTest), labels included."""
    from inference.datasets import load_faces

    return load_faces(fer_csv, usage="PublicTest", limit=400)


def encode(array: np.ndarray, image_format: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def astronaut_jpeg() -> bytes:
    """scikit-image's photograph of Eileen Collins, a real face, as a 640x480 JPEG."""
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((640, 640)).crop((0, 0, 640, 480))
    return encode(np.asarray(photo))
