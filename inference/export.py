"""Turning a training checkpoint into the shipped serving model: float32 weights and a metadata file."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from inference.architectures import ARCHITECTURES

CALIBRATION_FACES = 1000
CALIBRATION_SEED = 2026


def export_serving_model(
    checkpoint: Path,
    output: Path,
    *,
    version: str,
    extra: dict | None = None,
    calibration_data: Path | None = None,
    calibration_usage: str = "Training",
) -> Path:
    """Rebuild the checkpoint's architecture in float32, copy the weights, save it and ``<output>.json``.

    Training runs in bfloat16 on the CPU; serving in float32 gives the same answers
    to three decimals and needs no mixed-precision support where it runs.
    """
    import keras

    trained = keras.models.load_model(checkpoint, compile=False)
    keras.mixed_precision.set_global_policy("float32")
    serving = ARCHITECTURES[trained.name]()
    serving.set_weights(trained.get_weights())
    output.parent.mkdir(parents=True, exist_ok=True)
    serving.save(output)
    metadata = {
        "version": version,
        "architecture": trained.name,
        "parameters": int(serving.count_params()),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source_checkpoint": checkpoint.name,
        **(extra or {}),
    }
    output.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n")
    if calibration_data is not None:
        export_int8_beside(output, calibration_data, usage=calibration_usage)
    return output


def export_int8_beside(
    model_path: Path, calibration_data: Path, *, faces: int = CALIBRATION_FACES, usage: str = "Training"
) -> Path:
    """Write the int8 LiteRT file beside a serving model and record the weights it was made from.

    Calibrated on ``faces`` faces drawn at random (seeded) from the training split of
    ``calibration_data``: ``usage`` is its Usage value (FER2013 CSV layout) or sub-folder
    (image folders, e.g. ``train``). Never calibrate on test faces.
    """
    import numpy as np

    from inference.datasets import load_faces
    from inference.litert import export_int8, file_sha256, int8_path_for

    training = load_faces(calibration_data, usage=usage)
    chosen = np.random.default_rng(CALIBRATION_SEED).permutation(len(training))[:faces]
    output = export_int8(model_path, int8_path_for(model_path), training.images[np.sort(chosen)])
    metadata_path = model_path.with_suffix(".json")
    metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {"version": model_path.stem}
    metadata["int8"] = {
        "file": output.name,
        "keras_sha256": file_sha256(model_path),
        "calibration": f"{len(chosen)} faces drawn from the {usage} split of {Path(calibration_data).name}",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata_path.write_text(json.dumps(metadata, indent=2) + "\n")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Export a training checkpoint as the serving model (and its int8 LiteRT file), "
        "or, with --int8 MODEL, make the int8 file of an existing serving model again."
    )
    parser.add_argument("checkpoint", type=Path, nargs="?")
    parser.add_argument("output", type=Path, nargs="?")
    parser.add_argument("--version")
    parser.add_argument("--int8", type=Path, metavar="MODEL", help="only make MODEL's int8 file")
    parser.add_argument(
        "--calibration-data", type=Path, help="FER2013-layout data whose Training faces calibrate the int8 file"
    )
    parser.add_argument(
        "--calibration-usage", default="Training", help="the training split: Usage value (CSV) or sub-folder (folders)"
    )
    arguments = parser.parse_args(argv)
    if arguments.int8 is not None:
        if arguments.calibration_data is None:
            parser.error("--int8 needs --calibration-data")
        print(export_int8_beside(arguments.int8, arguments.calibration_data, usage=arguments.calibration_usage))
        return 0
    if arguments.checkpoint is None or arguments.output is None or arguments.version is None:
        parser.error("give CHECKPOINT OUTPUT --version V, or --int8 MODEL --calibration-data DATA")
    output = export_serving_model(
        arguments.checkpoint,
        arguments.output,
        version=arguments.version,
        calibration_data=arguments.calibration_data,
        calibration_usage=arguments.calibration_usage,
    )
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
