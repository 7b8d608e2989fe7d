"""Serving numerics: int8 where the model has an int8 file, else bfloat16 where the CPU has it, else float32."""

from __future__ import annotations

import numpy as np
import pytest

from inference import predictor as predictor_module
from inference.config import ServingConfig
from inference.cpu import cpu_has_native_bfloat16
from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor, serving_precision

ZEN4_FLAGS = "flags\t\t: fpu vme sse avx2 avx512f avx512_bf16 avx512_vnni\n"
OLDER_FLAGS = "flags\t\t: fpu vme sse avx2 fma\n"


@pytest.mark.parametrize(("text", "expected"), [(ZEN4_FLAGS, True), (OLDER_FLAGS, False), ("flags : amx_bf16\n", True)])
def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path, text, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: avx512_bf16 in a name does not count\n" + text)
    assert cpu_has_native_bfloat16(cpuinfo) is expected


def test_without_proc_cpuinfo_the_answer_is_unknown(tmp_path):
    assert cpu_has_native_bfloat16(tmp_path / "absent") is None


@pytest.mark.parametrize(("native", "expected"), [(True, "bfloat16"), (False, "float32"), (None, "float32")])
def test_without_an_int8_file_auto_serves_bfloat16_only_where_the_cpu_has_it(monkeypatch, native, expected):
    monkeypatch.setattr(predictor_module, "cpu_has_native_bfloat16", lambda: native)
    monkeypatch.setattr(predictor_module, "int8_available", lambda path: False)
    for raw in ("", "auto", " AUTO "):
        requested = ServingConfig.from_env({"EMOTION_PRECISION": raw}).precision
        assert serving_precision(requested) == expected
    assert serving_precision(ServingConfig.from_env({"EMOTION_PRECISION": "float32"}).precision) == "float32"
    assert serving_precision(ServingConfig.from_env({"EMOTION_PRECISION": "bfloat16"}).precision) == "bfloat16"


def test_auto_serves_int8_for_the_shipped_model_whatever_the_cpu(monkeypatch):
    monkeypatch.setattr(predictor_module, "cpu_has_native_bfloat16", lambda: False)
    assert serving_precision("auto", DEFAULT_MODEL_PATH) == "int8"
    assert serving_precision("float32", DEFAULT_MODEL_PATH) == "float32"


def test_a_predictor_refuses_an_unknown_precision():
    with pytest.raises(ValueError, match="precision must be one of"):
        EmotionPredictor(DEFAULT_MODEL_PATH, precision="float16")


def test_bfloat16_reads_faces_as_float32_does(fer_faces):
    float32 = EmotionPredictor(DEFAULT_MODEL_PATH, views=2)
    bfloat16 = EmotionPredictor(DEFAULT_MODEL_PATH, views=2, precision="bfloat16")
    assert bfloat16.precision == "bfloat16" and bfloat16.version == float32.version
    assert bfloat16.model.layers[-1].dtype_policy.name == "float32", "the softmax stays float32"
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in bfloat16.model.layers)
    faces = fer_faces.images[:200].astype(np.float32)
    expected, got = float32.classify(faces), bfloat16.classify(faces)
    assert got.dtype == np.float32 and np.allclose(got.sum(axis=1), 1, atol=1e-4)
    assert np.abs(got - expected).max() < 0.05
    assert np.mean(got.argmax(axis=1) == expected.argmax(axis=1)) >= 0.97
    assert np.abs(bfloat16.classify(faces[:20], views=1) - float32.classify(faces[:20], views=1)).max() < 0.05
