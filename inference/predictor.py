"""The serving predictor: images in, faces with emotion probabilities out, batched and thread-safe.

One model is loaded per process (``get_predictor``). Classification runs in int8 through
LiteRT where the model has an up-to-date int8 file (``inference.litert``; TensorFlow is then
not loaded at all), else through a ``tf.function`` with a fixed input signature. Either way a
call costs the network's arithmetic and not ``Model.predict()``'s set-up (benchmarks/predictor_speed.py).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from inference.alignment import UPRIGHT, face_crop
from inference.attention import looks_at_screen
from inference.config import (
    AUTO_PRECISION,
    DEFAULT_MODEL_PATH,
    DEFAULT_VIEWS,
    PRECISIONS,
    ServingConfig,
    serving_config,
)
from inference.cpu import cpu_has_native_bfloat16
from inference.faces import WEBCAM_SETTINGS, Box, DetectionSettings, FaceMode, Landmarks, detect_faces
from inference.images import DEFAULT_MAX_PIXELS, decode_grey
from inference.labels import EMOTIONS, FACE_SIZE
from inference.litert import Int8ModelError, Int8Network, int8_available, int8_model_for
from inference.preprocessing import TEST_TIME_VIEW_COUNTS, faces_to_batch, mean_over_views


@dataclass(frozen=True)
class FaceResult:
    """One face: where it is, the seven probabilities (FER2013 order) and the dominant emotion.

    ``landmarks``: the five points YuNet found (None from the Haar cascade).
    ``looking_at_screen``: whether the head is turned less than about 30° sideways
    (``inference.attention``), estimated from the landmarks; None without them.
    """

    box: Box
    probabilities: dict[str, float] = field(repr=False)
    landmarks: Landmarks | None = field(default=None, repr=False)
    looking_at_screen: bool | None = None

    @classmethod
    def from_row(cls, box: Box, row: np.ndarray, *, landmarks: Landmarks | None = None) -> FaceResult:
        """Build a result from one row of the network's output (and the face's landmarks, when known)."""
        probabilities = {emotion: float(value) for emotion, value in zip(EMOTIONS, row, strict=True)}
        return cls(box, probabilities, landmarks, looks_at_screen(landmarks))

    @property
    def emotion(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.emotion]

    def as_dict(self) -> dict:
        return {
            "box": list(self.box.as_tuple()),
            "emotion": self.emotion,
            "probabilities": self.probabilities,
            "landmarks": self.landmarks.as_lists() if self.landmarks is not None else None,
            "looking_at_screen": self.looking_at_screen,
        }


def model_version(model_path: Path) -> str:
    """The version recorded beside the model (``<name>.json``), else the file name."""
    metadata = model_path.with_suffix(".json")
    if metadata.exists():
        return str(json.loads(metadata.read_text()).get("version", model_path.stem))
    return model_path.stem


class EmotionPredictor:
    """Classifies faces; safe to call from several threads at once.

    ``views``: how many test-time views of each face the network reads and averages: 1 (the
    face), 2 (and its mirror image) or 4 (both again zoomed in by 10%). More views read
    expressions more accurately and cost proportionally more; the model card has the figures.

    ``detector``: the face detector ``predict`` uses, ``yunet`` or ``haar`` (None: the process's
    ``FACE_DETECTOR``). ``upright``: whether crops are rotated so the eyes are level
    (``inference.alignment``). ``align`` False crops the detector's box as the Haar cascade's
    faces are cropped, landmarks or not (only to measure what alignment is worth).
    """

    def __init__(
        self,
        model_path: str | Path = DEFAULT_MODEL_PATH,
        *,
        views: int = DEFAULT_VIEWS,
        precision: str = "float32",
        detector: str | None = None,
        upright: bool = UPRIGHT,
        align: bool = True,
    ) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.exists():
            raise FileNotFoundError(f"no emotion model at {self.model_path}")
        if views not in TEST_TIME_VIEW_COUNTS:
            raise ValueError(f"views must be one of {TEST_TIME_VIEW_COUNTS}, got {views!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.views = views
        self.precision = precision
        self.detector = detector
        self.upright = upright
        self.align = align
        self.base_version = model_version(self.model_path)
        # Stored with every sample: the same weights read with other views are another instrument.
        self.version = self.version_for(views)
        # One serving function per number of views up to ``views``: live capture reads fewer views
        # when faces queue up (inference.serving). Each is traced or allocated here, not under load.
        self.model = None
        if precision == "int8":
            network = Int8Network(int8_model_for(self.model_path))
            if not set(self.view_counts) <= set(network.view_counts):
                raise Int8ModelError(f"{network.path.name} reads {network.view_counts} views, not {self.view_counts}")
            self._serve = {count: functools.partial(network, views=count) for count in self.view_counts}
        else:
            import keras
            import tensorflow as tf

            self.model = keras.models.load_model(self.model_path, compile=False)
            if precision == "bfloat16":
                self.model = _in_mixed_bfloat16(self.model)
            self._serve = {count: _serving_function(tf, self.model, count) for count in self.view_counts}
        for count in self.view_counts:
            self.classify(np.zeros((1, FACE_SIZE, FACE_SIZE, 1), dtype=np.float32), views=count)

    @classmethod
    def from_config(cls, config: ServingConfig) -> EmotionPredictor:
        """A predictor for ``config``'s model, views and precision (``auto`` resolved for this model and CPU)."""
        precision = serving_precision(config.precision, config.model_path)
        return cls(config.model_path, views=config.views, precision=precision, detector=config.face_detector)

    @property
    def view_counts(self) -> tuple[int, ...]:
        """The numbers of views this predictor can read, fewest first: up to ``views``."""
        return tuple(count for count in TEST_TIME_VIEW_COUNTS if count <= self.views)

    def version_for(self, views: int) -> str:
        # int8 reads differ from float by more than rounding: name them. bfloat16 agrees with float32.
        numerics = "-int8" if self.precision == "int8" else ""
        return f"{self.base_version}{numerics}/{views}v"

    def classify(self, faces: np.ndarray, *, views: int | None = None) -> np.ndarray:
        """Probabilities, shape (n, 7), for a batch of 48x48x1 crops with values 0-255.

        ``views``: read each face with this many views (one of ``view_counts``) instead of ``self.views``.
        """
        views = self.views if views is None else views
        serve = self._serve.get(views)
        if serve is None:
            raise ValueError(f"this predictor reads {self.view_counts} views, not {views!r}")
        if len(faces) == 0:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        return serve(np.asarray(faces, dtype=np.float32))

    def predict(
        self,
        images: Sequence[bytes | np.ndarray],
        *,
        mode: FaceMode = FaceMode.LARGEST,
        settings: DetectionSettings = WEBCAM_SETTINGS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> list[list[FaceResult]]:
        """Detect and classify the faces of each image; all faces of all images go through the network at once.

        An image is encoded bytes (raises ``InvalidImage`` when unreadable) or a grey uint8 array.
        """
        greys = [decode_grey(image, max_pixels=max_pixels) if isinstance(image, bytes) else image for image in images]
        located = [
            locate_faces(
                grey, mode=mode, settings=settings, detector=self.detector, upright=self.upright, align=self.align
            )
            for grey in greys
        ]
        crops = [face.crop for faces in located for face in faces]
        probabilities = self.classify(faces_to_batch(crops))
        results: list[list[FaceResult]] = []
        row = 0
        for faces in located:
            image_results = []
            for face in faces:
                image_results.append(FaceResult.from_row(face.box, probabilities[row], landmarks=face.landmarks))
                row += 1
            results.append(image_results)
        return results


def _in_mixed_bfloat16(model):  # type: ignore[no-untyped-def]
    """The same network computing in bfloat16 (weights kept as they are), its softmax still float32.

    On CPUs with native bfloat16 (AVX-512 BF16, AMX) this reads a face faster than float32
    (benchmarks/predictor_speed.py); the probabilities differ by about 0.01 (the model card has the accuracy).
    """
    import keras

    def mark(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            config = node.get("config")
            is_layer = "class_name" in node and isinstance(config, dict) and {"dtype", "name"} <= config.keys()
            if is_layer and config["name"] != "probabilities" and node["class_name"] != "InputLayer":
                config["dtype"] = "mixed_bfloat16"
            for value in node.values():
                mark(value)
        elif isinstance(node, list):
            for value in node:
                mark(value)

    config = model.get_config()
    mark({"class_name": "Model", "config": config})
    converted = keras.Model.from_config(config)
    converted.set_weights(model.get_weights())
    return converted


def _serving_function(tf, model, views: int):  # type: ignore[no-untyped-def]
    @tf.function(input_signature=[tf.TensorSpec([None, FACE_SIZE, FACE_SIZE, 1], tf.float32)], reduce_retracing=True)
    def serve(faces):  # type: ignore[no-untyped-def]
        return mean_over_views(model, faces, views)

    return lambda faces: serve(faces).numpy()


class LocatedFace(NamedTuple):
    """A face found in an image: its box (in the image's pixels), its 48x48x1 crop, its landmarks (YuNet)."""

    box: Box
    crop: np.ndarray
    landmarks: Landmarks | None = None


def locate_faces(
    grey: np.ndarray,
    *,
    mode: FaceMode = FaceMode.LARGEST,
    settings: DetectionSettings = WEBCAM_SETTINGS,
    detector: str | None = None,
    upright: bool = UPRIGHT,
    align: bool = True,
) -> list[LocatedFace]:
    """Detect faces in a grey image and return each with its crop for the network (``inference.alignment``).

    ``detector``: ``yunet`` or ``haar``; None is the process's ``FACE_DETECTOR``. ``align``
    False: every crop is the detector's box, as for a face without landmarks.
    """
    return [
        LocatedFace(face.box, face_crop(grey, face if align else replace(face, landmarks=None), upright=upright),
                    face.landmarks)
        for face in detect_faces(grey, mode=mode, settings=settings, detector=detector)
    ]  # fmt: skip


_predictor: EmotionPredictor | None = None
_predictor_lock = threading.Lock()


def get_predictor() -> EmotionPredictor:
    """The process's predictor, loaded on first use from the process's ``ServingConfig``.

    That is Django's ``settings.SERVING`` in the site, else ``ServingConfig.from_env()``
    (``EMOTION_MODEL_PATH``, ``EMOTION_VIEWS``, ``EMOTION_PRECISION``; see ``inference.config``).
    """
    global _predictor
    if _predictor is None:
        with _predictor_lock:
            if _predictor is None:
                _predictor = EmotionPredictor.from_config(serving_config())
    return _predictor


def float_precision() -> str:
    """The faster float numerics on this CPU: bfloat16 where it computes it natively, else float32."""
    return "bfloat16" if cpu_has_native_bfloat16() else "float32"


def serving_precision(requested: str, model_path: Path = DEFAULT_MODEL_PATH) -> str:
    """The numerics to serve ``model_path`` in: ``requested``, with ``auto`` resolved to the fastest available.

    ``auto`` is int8 where the model has an int8 file made from its weights (``inference.litert``),
    else bfloat16 where the CPU computes it natively, else float32.
    """
    if requested != AUTO_PRECISION:
        return requested
    return "int8" if int8_available(model_path) else float_precision()
