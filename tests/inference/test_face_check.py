"""How visible a face is in a camera picture: found, too far, lit; without loading the emotion network."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference import FaceVisibility, InvalidImage, face_visibility

ROOT = Path(__file__).resolve().parents[2]


def astronaut_grey(width: int = 640, height: int = 480) -> np.ndarray:
    from skimage import data

    photo = Image.fromarray(data.astronaut()).convert("L").resize((width, width)).crop((0, 0, width, height))
    return np.asarray(photo)


def jpeg(grey: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(grey.astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_a_face_at_a_webcam_is_found_with_its_brightness():
    visibility = face_visibility(jpeg(astronaut_grey()), max_side=4096)
    assert isinstance(visibility, FaceVisibility)
    assert visibility.face is not None and visibility.distant_face is None
    assert visibility.face_share > 0.25
    assert 100 < visibility.face_brightness < 200
    assert (visibility.frame_width, visibility.frame_height) == (640, 480)


def test_a_face_too_small_for_live_capture_is_found_by_the_wider_search():
    frame = np.full((480, 640), 128, dtype=np.uint8)
    frame[180:300, 240:400] = np.asarray(Image.fromarray(astronaut_grey()).resize((160, 120)))
    visibility = face_visibility(jpeg(frame), max_side=4096)
    assert visibility.face is None and visibility.distant_face is not None
    assert visibility.face_share < 0.2


def test_a_picture_without_a_face_has_only_its_brightness():
    visibility = face_visibility(jpeg(np.full((240, 320), 30, dtype=np.uint8)), max_side=4096)
    assert visibility.face is None and visibility.distant_face is None and visibility.face_share is None
    assert visibility.face_brightness is None and visibility.frame_brightness == pytest.approx(30, abs=2)


def test_a_picture_that_is_no_image_is_refused():
    with pytest.raises(InvalidImage):
        face_visibility(b"not a picture", max_side=4096)


def test_it_loads_no_network():
    code = (
        "import sys, io; from PIL import Image; from inference import face_visibility; buffer = io.BytesIO(); "
        "Image.new('L', (320, 240), 120).save(buffer, format='JPEG'); "
        "face_visibility(buffer.getvalue(), max_side=640); "
        "print(sorted({'tensorflow', 'keras', 'ai_edge_litert', 'tflite_runtime'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
