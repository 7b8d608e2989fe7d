"""The int8 serving network: the Keras model quantised for LiteRT, with its test-time views inside.

``export_int8`` turns the shipped Keras model into one LiteRT flatbuffer (``emotion.tflite``)
with a signature per number of test-time views (``views_1``, ``views_2``, ``views_4``): the
views, the network and the averaging all run inside LiteRT's XNNPACK runtime, with int8
weights and activations calibrated on training faces. ``Int8Network`` serves it. It reads a
face faster than the float Keras network for a fraction of a point of PublicTest accuracy:
``benchmarks/predictor_speed.py`` measures the speed on this machine, the model card has the accuracy.

The file is tied to the Keras weights it was made from: ``<model>.json`` records the SHA-256
of the ``.keras`` file, and the predictor refuses an int8 file made from other weights.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

from inference.labels import FACE_SIZE
from inference.preprocessing import TEST_TIME_VIEW_COUNTS

INPUT_NAME = "faces"
OUTPUT_NAME = "probabilities"
CALIBRATION_BATCH = 16


class Int8ModelError(RuntimeError):
    """No int8 file beside the model, or one made from other weights."""


def signature_name(views: int) -> str:
    return f"views_{views}"


def int8_path_for(model_path: Path) -> Path:
    """Where the int8 file of a Keras model lives: beside it, same name, ``.tflite``."""
    return Path(model_path).with_suffix(".tflite")


def int8_model_for(model_path: Path) -> Path:
    """The int8 file beside a Keras model, checked against the weights it was made from."""
    import json

    model_path = Path(model_path)
    path = int8_path_for(model_path)
    if not path.exists():
        raise Int8ModelError(
            f"no int8 model at {path}: make one with "
            f"`python -m inference.export --int8 {model_path} --calibration-data FER2013.csv.gz`"
        )
    metadata_path = model_path.with_suffix(".json")
    metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
    recorded = (metadata.get("int8") or {}).get("keras_sha256")
    if recorded != file_sha256(model_path):
        raise Int8ModelError(f"{path.name} was not made from these weights of {model_path.name}: export it again")
    return path


def int8_available(model_path: Path) -> bool:
    """Whether the model can be served in int8: LiteRT installed and an up-to-date int8 file beside it."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401

        int8_model_for(model_path)
    except (ImportError, Int8ModelError):
        return False
    return True


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_int8(model_path: Path, output: Path, calibration_faces: np.ndarray) -> Path:
    """Quantise the Keras model at ``model_path`` to int8 with its 1, 2 and 4-view serving functions.

    ``calibration_faces``: (n, 48, 48, 1) faces, values 0-255, that set the int8 ranges of
    every activation (a few hundred to a thousand training faces; never the test faces).
    """
    import keras
    import tensorflow as tf

    from inference.preprocessing import mean_over_views

    if len(calibration_faces) == 0:
        raise ValueError("int8 calibration needs at least one face")
    model = keras.models.load_model(model_path, compile=False)

    def serving(views: int):  # type: ignore[no-untyped-def]
        @tf.function(input_signature=[tf.TensorSpec([None, FACE_SIZE, FACE_SIZE, 1], tf.float32, name=INPUT_NAME)])
        def serve(faces):  # type: ignore[no-untyped-def]
            return {OUTPUT_NAME: mean_over_views(model, faces, views)}

        return serve

    archive = keras.export.ExportArchive()
    archive.track(model)
    for views in TEST_TIME_VIEW_COUNTS:
        archive.add_endpoint(signature_name(views), serving(views))
    faces = np.asarray(calibration_faces, dtype=np.float32)

    def calibration():  # type: ignore[no-untyped-def]
        for start in range(0, len(faces), CALIBRATION_BATCH):
            for views in TEST_TIME_VIEW_COUNTS:
                yield signature_name(views), {INPUT_NAME: faces[start : start + CALIBRATION_BATCH]}

    with tempfile.TemporaryDirectory() as saved_model, warnings.catch_warnings():
        # The converter calibrates through TensorFlow's own (deprecated) interpreter; serving uses LiteRT's.
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        archive.write_out(saved_model, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            saved_model, signature_keys=[signature_name(views) for views in TEST_TIME_VIEW_COUNTS]
        )
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        flatbuffer = converter.convert()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(flatbuffer)
    return output


class Int8Network:
    """Runs the int8 file; safe to call from several threads (each thread gets its own interpreter).

    One interpreter per thread, because a LiteRT interpreter must not run two calls at once;
    each computes on one core (``num_threads=1``), like the rest of serving.
    """

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        self._flatbuffer = self.path.read_bytes()
        self._interpreter_class = Interpreter
        self._local = threading.local()
        self.view_counts = tuple(views for views in TEST_TIME_VIEW_COUNTS if signature_name(views) in self._runners())
        if not self.view_counts:
            raise Int8ModelError(
                f"{self.path} has none of the signatures {list(map(signature_name, TEST_TIME_VIEW_COUNTS))}"
            )

    def _runners(self) -> dict:
        runners = getattr(self._local, "runners", None)
        if runners is None:
            interpreter = self._interpreter_class(model_content=self._flatbuffer, num_threads=1)
            runners = {name: interpreter.get_signature_runner(name) for name in interpreter.get_signature_list()}
            self._local.runners = runners
        return runners

    def __call__(self, faces: np.ndarray, views: int) -> np.ndarray:
        """Probabilities, shape (n, 7), for (n, 48, 48, 1) float32 faces read with ``views`` views."""
        runner = self._runners()[signature_name(views)]
        probabilities = np.array(runner(**{INPUT_NAME: faces})[OUTPUT_NAME], dtype=np.float32)
        # The int8 softmax comes out in steps of 1/256, so rows sum to 1 only within a few steps: rescale.
        return probabilities / np.maximum(probabilities.sum(axis=1, keepdims=True), 1e-6)
