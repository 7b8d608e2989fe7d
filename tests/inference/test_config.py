"""Serving configuration: one strict reading of the environment, usable without Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inference.config import DEFAULT_MODEL_PATH, ConfigurationError, ServingConfig, default_frame_workers

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_set_serves_the_shipped_model_with_four_views_auto_numerics_and_preloading():
    config = ServingConfig.from_env({})
    assert config == ServingConfig()
    assert (config.model_path, config.views, config.precision) == (DEFAULT_MODEL_PATH, 4, "auto")
    assert config.frame_workers == default_frame_workers()
    assert config.batch_budget_seconds == pytest.approx(0.05)
    assert config.preload is True
    assert config.face_detector == "yunet"


def test_empty_values_take_the_defaults():
    names = [
        "EMOTION_MODEL_PATH",
        "EMOTION_VIEWS",
        "EMOTION_PRECISION",
        "FRAME_WORKERS",
        "CAPTURE_BATCH_BUDGET_MS",
        "FACE_DETECTOR",
    ]
    empty = {name: " " for name in [*names, "PRELOAD_EMOTION_MODEL"]}
    assert ServingConfig.from_env(empty) == ServingConfig()


def test_every_variable_is_read(tmp_path):
    model = tmp_path / "other.keras"
    model.write_bytes(b"")
    config = ServingConfig.from_env(
        {
            "EMOTION_MODEL_PATH": str(model),
            "EMOTION_VIEWS": "2",
            "EMOTION_PRECISION": " BFloat16 ",
            "FRAME_WORKERS": "3",
            "CAPTURE_BATCH_BUDGET_MS": "120",
            "PRELOAD_EMOTION_MODEL": "off",
            "FACE_DETECTOR": " Haar ",
        }
    )
    assert config == ServingConfig(
        model_path=model,
        views=2,
        precision="bfloat16",
        frame_workers=3,
        batch_budget_ms=120.0,
        preload=False,
        face_detector="haar",
    )
    assert config.batch_budget_seconds == pytest.approx(0.12)


@pytest.mark.parametrize("raw", ["false", "FALSE", "0", "no", "Off"])
def test_false_in_any_spelling_does_not_preload(raw):
    assert ServingConfig.from_env({"PRELOAD_EMOTION_MODEL": raw}).preload is False


@pytest.mark.parametrize("raw", ["true", "1", "YES", "on"])
def test_true_in_any_spelling_preloads(raw):
    assert ServingConfig.from_env({"PRELOAD_EMOTION_MODEL": raw}).preload is True


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("EMOTION_MODEL_PATH", "/nowhere/emotion.keras", "EMOTION_MODEL_PATH must name an existing model file"),
        ("EMOTION_VIEWS", "3", "EMOTION_VIEWS must be one of 1, 2, 4"),
        ("EMOTION_VIEWS", "four", "EMOTION_VIEWS must be one of 1, 2, 4"),
        ("EMOTION_VIEWS", "-1", "EMOTION_VIEWS must be one of 1, 2, 4"),
        ("EMOTION_PRECISION", "fp16", "EMOTION_PRECISION must be auto, float32, bfloat16 or int8"),
        ("EMOTION_PRECISION", "bf16", "EMOTION_PRECISION must be auto, float32, bfloat16 or int8"),
        ("EMOTION_PRECISION", "int4", "EMOTION_PRECISION must be auto, float32, bfloat16 or int8"),
        ("FRAME_WORKERS", "0", "FRAME_WORKERS must be a whole number of threads, 1 or more"),
        ("FRAME_WORKERS", "many", "FRAME_WORKERS must be a whole number of threads, 1 or more"),
        ("FRAME_WORKERS", "2.5", "FRAME_WORKERS must be a whole number of threads, 1 or more"),
        ("CAPTURE_BATCH_BUDGET_MS", "-5", "CAPTURE_BATCH_BUDGET_MS must be a number of milliseconds"),
        ("CAPTURE_BATCH_BUDGET_MS", "fast", "CAPTURE_BATCH_BUDGET_MS must be a number of milliseconds"),
        ("CAPTURE_BATCH_BUDGET_MS", "nan", "CAPTURE_BATCH_BUDGET_MS must be a number of milliseconds"),
        ("CAPTURE_BATCH_BUDGET_MS", "inf", "CAPTURE_BATCH_BUDGET_MS must be a number of milliseconds"),
        ("PRELOAD_EMOTION_MODEL", "maybe", "PRELOAD_EMOTION_MODEL must be a boolean"),
        ("PRELOAD_EMOTION_MODEL", "2", "PRELOAD_EMOTION_MODEL must be a boolean"),
        ("FACE_DETECTOR", "dlib", "FACE_DETECTOR must be yunet or haar"),
        ("FACE_DETECTOR", "yunet2", "FACE_DETECTOR must be yunet or haar"),
        ("FACE_DETECTOR", "cascade", "FACE_DETECTOR must be yunet or haar"),
    ],
)
def test_a_bad_value_is_refused_with_a_message_naming_the_variable_and_the_value(name, raw, message):
    with pytest.raises(ConfigurationError, match=message) as raised:
        ServingConfig.from_env({name: raw})
    assert repr(raw) in str(raised.value)


@pytest.mark.parametrize(
    ("raw", "detector"), [("yunet", "yunet"), ("YuNet", "yunet"), ("haar", "haar"), ("HAAR", "haar")]
)
def test_the_face_detector_is_yunet_or_haar_in_any_case(raw, detector):
    assert ServingConfig.from_env({"FACE_DETECTOR": raw}).face_detector == detector


@pytest.mark.parametrize(("raw", "milliseconds"), [("0", 0.0), ("120", 120.0), ("7.5", 7.5)])
def test_the_batch_budget_is_read_in_milliseconds(raw, milliseconds):
    assert ServingConfig.from_env({"CAPTURE_BATCH_BUDGET_MS": raw}).batch_budget_ms == milliseconds


def test_a_plain_script_reads_its_configuration_without_django_numpy_or_tensorflow():
    code = (
        "import sys; from inference.config import serving_config; config = serving_config(); "
        "heavy = {'django', 'numpy', 'tensorflow', 'cv2'} & set(sys.modules); "
        "print(config.views, config.preload, sorted(heavy))"
    )
    environment = {"PATH": os.environ["PATH"], "EMOTION_VIEWS": "1", "PRELOAD_EMOTION_MODEL": "false"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "False", "[]"]
