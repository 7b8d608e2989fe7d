"""How this process serves the emotion model, read once from environment variables.

Django's settings build it (``reactionsite.settings.SERVING``) so that a bad value stops
start-up with the variable's name; a plain script calls ``ServingConfig.from_env()`` or builds
one itself. Nothing here imports Django, NumPy or TensorFlow, so reading it costs nothing.

The variables, their defaults and what they do are listed in the README's configuration table.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from inference.labels import TEST_TIME_VIEW_COUNTS

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_PATH = MODELS_DIR / "emotion.keras"
DEFAULT_VIEWS = 4
PRECISIONS = ("float32", "bfloat16", "int8")
AUTO_PRECISION = "auto"
# How long the network may take for one live batch before the batch is read with fewer views.
DEFAULT_BATCH_BUDGET_MS = 50.0
# The face detectors serving can use (FACE_DETECTOR): OpenCV's YuNet CNN, with five landmarks
# per face, or the Haar cascade of the reference design (boxes only).
FACE_DETECTORS = ("yunet", "haar")
DEFAULT_FACE_DETECTOR = "yunet"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class ConfigurationError(ValueError):
    """An environment variable with a value serving cannot use; the message names the variable."""


def default_frame_workers() -> int:
    # OpenCV and Pillow release the GIL while decoding and detecting, so a thread per core uses every core.
    return os.cpu_count() or 2


@dataclass(frozen=True)
class ServingConfig:
    """Which model is served and how: views, numerics, frame threads, live batch budget, preloading, face detector.

    ``precision`` is as asked (``auto`` included); the predictor resolves ``auto`` for the model
    and CPU it finds (``inference.predictor.serving_precision``).
    """

    model_path: Path = DEFAULT_MODEL_PATH
    views: int = DEFAULT_VIEWS
    precision: str = AUTO_PRECISION
    frame_workers: int = field(default_factory=default_frame_workers)
    batch_budget_ms: float = DEFAULT_BATCH_BUDGET_MS
    preload: bool = True
    face_detector: str = DEFAULT_FACE_DETECTOR

    @property
    def batch_budget_seconds(self) -> float:
        return self.batch_budget_ms / 1000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ServingConfig:
        """Read every serving variable; unset or empty ones take their default.

        Raises ``ConfigurationError`` naming the variable for a value that cannot be used.
        """
        return cls(
            model_path=_model_path(environ),
            views=_views(environ),
            precision=_precision(environ),
            frame_workers=_frame_workers(environ),
            batch_budget_ms=_batch_budget_ms(environ),
            preload=_boolean(environ, "PRELOAD_EMOTION_MODEL", default=True),
            face_detector=_face_detector(environ),
        )


def _raw(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def _model_path(environ: Mapping[str, str]) -> Path:
    raw = _raw(environ, "EMOTION_MODEL_PATH")
    if not raw:
        return DEFAULT_MODEL_PATH
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"EMOTION_MODEL_PATH must name an existing model file, got {raw!r}")
    return path


def _views(environ: Mapping[str, str]) -> int:
    raw = _raw(environ, "EMOTION_VIEWS")
    if not raw:
        return DEFAULT_VIEWS
    if raw not in {str(count) for count in TEST_TIME_VIEW_COUNTS}:
        choices = ", ".join(map(str, TEST_TIME_VIEW_COUNTS))
        raise ConfigurationError(f"EMOTION_VIEWS must be one of {choices}, got {raw!r}")
    return int(raw)


def _precision(environ: Mapping[str, str]) -> str:
    raw = _raw(environ, "EMOTION_PRECISION")
    word = raw.lower() or AUTO_PRECISION
    if word != AUTO_PRECISION and word not in PRECISIONS:
        choices = f"{AUTO_PRECISION}, {', '.join(PRECISIONS[:-1])} or {PRECISIONS[-1]}"
        raise ConfigurationError(f"EMOTION_PRECISION must be {choices}, got {raw!r}")
    return word


def _frame_workers(environ: Mapping[str, str]) -> int:
    raw = _raw(environ, "FRAME_WORKERS")
    if not raw:
        return default_frame_workers()
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"FRAME_WORKERS must be a whole number of threads, 1 or more, got {raw!r}")
    return int(raw)


def _batch_budget_ms(environ: Mapping[str, str]) -> float:
    raw = _raw(environ, "CAPTURE_BATCH_BUDGET_MS")
    if not raw:
        return DEFAULT_BATCH_BUDGET_MS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"CAPTURE_BATCH_BUDGET_MS must be a number of milliseconds, 0 or more, got {raw!r}")
    return value


def _face_detector(environ: Mapping[str, str]) -> str:
    raw = _raw(environ, "FACE_DETECTOR")
    word = raw.lower() or DEFAULT_FACE_DETECTOR
    if word not in FACE_DETECTORS:
        raise ConfigurationError(f"FACE_DETECTOR must be {' or '.join(FACE_DETECTORS)}, got {raw!r}")
    return word


def _boolean(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = _raw(environ, name)
    word = raw.lower()
    if not word:
        return default
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigurationError(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")


_configured: ServingConfig | None = None
_configured_lock = threading.Lock()


def configure_serving(config: ServingConfig) -> None:
    """Make ``config`` the process's serving configuration (Django does this from its settings at start-up).

    Call it before the predictor is first loaded: the process's predictor is built once.
    """
    global _configured
    with _configured_lock:
        _configured = config


def serving_config() -> ServingConfig:
    """The process's serving configuration: the one configured, else read from the environment on first use."""
    global _configured
    with _configured_lock:
        if _configured is None:
            _configured = ServingConfig.from_env()
        return _configured
