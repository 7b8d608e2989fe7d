"""The inference package's surface: the names other code imports, without loading a model library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_package_loads_no_model_library():
    code = (
        "import sys, inference; from inference import EMOTIONS, ServingConfig; "
        "print(sorted({'numpy', 'tensorflow', 'keras', 'cv2', 'av'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_package_exports_what_other_code_uses():
    import inference

    for name in inference.__all__:
        assert getattr(inference, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        inference.no_such_name  # noqa: B018
