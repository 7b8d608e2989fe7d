"""Turning a training checkpoint into the shipped serving model: float32 weights and a metadata file."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from inference.architectures import ARCHITECTURES


def export_serving_model(checkpoint: Path, output: Path, *, version: str, extra: dict | None = None) -> Path:
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
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export a training checkpoint as the serving model.")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--version", required=True)
    arguments = parser.parse_args(argv)
    print(export_serving_model(arguments.checkpoint, arguments.output, version=arguments.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
