"""Predictor speed on one core: decode + detect + classify per 640x480 JPEG frame, and batched classification per face.

Run by hand (not a test), on an otherwise idle machine:

    .venv/bin/python benchmarks/predictor_speed.py [--model PATH] [--frames 300] [--views 1 2 4]

It pins TensorFlow and OpenCV to one thread, so the figures are per core. Each precision
(EMOTION_PRECISION) and number of test-time views per face (EMOTION_VIEWS) gets its own
classify and end-to-end rows. End to end is measured for a first frame (a whole-frame face
search) and summed from the steps for the frames after it in live capture (a search near
the previous face).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def face_jpeg() -> bytes:
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((640, 640)).crop((0, 0, 640, 480))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def per_call_ms(function, repeats: int) -> float:  # type: ignore[no-untyped-def]
    function()
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--views", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["float32", "bfloat16", "int8"],
        help="bfloat16 is slow where the CPU emulates it; int8 runs the LiteRT file beside the model",
    )
    arguments = parser.parse_args()

    import cv2
    import numpy as np
    import tensorflow as tf

    cv2.setNumThreads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    from inference.cpu import cpu_has_native_bfloat16
    from inference.faces import detect_face_near, detect_faces
    from inference.images import decode_grey
    from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor

    jpeg = face_jpeg()
    grey = decode_grey(jpeg)
    decode_ms = per_call_ms(lambda: decode_grey(jpeg), arguments.frames)
    detect_ms = per_call_ms(lambda: detect_faces(grey), arguments.frames)
    [face] = detect_faces(grey)
    near_ms = per_call_ms(lambda: detect_face_near(grey, face), arguments.frames)
    batch = (np.random.default_rng(0).random((256, 48, 48, 1)) * 255).astype(np.float32)
    rows = []
    for precision, views in ((precision, views) for precision in arguments.precision for views in arguments.views):
        predictor = EmotionPredictor(arguments.model or DEFAULT_MODEL_PATH, views=views, precision=precision)
        assert predictor.predict([jpeg])[0], "the benchmark frame must contain a face"
        frame_ms = per_call_ms(lambda: predictor.predict([jpeg]), arguments.frames)  # noqa: B023
        batched_ms = per_call_ms(lambda: predictor.classify(batch), 5) / len(batch)  # noqa: B023
        single_ms = per_call_ms(lambda: predictor.classify(batch[:1]), arguments.frames)  # noqa: B023
        tracked_ms = decode_ms + near_ms + single_ms
        rows += [
            f"| {precision}, {views} view(s): classify one face, unbatched call | {single_ms:.2f} |",
            f"| {precision}, {views} view(s): classify, batched 256, per face | {batched_ms:.2f} |",
            f"| {precision}, {views} view(s): end to end, whole-frame search | {frame_ms:.2f} "
            f"({1000 / frame_ms:.0f} frames/s) |",
            f"| {precision}, {views} view(s): end to end, search near the previous face (sum of steps) "
            f"| {tracked_ms:.2f} ({1000 / tracked_ms:.0f} frames/s) |",
        ]
    print(f"model: {predictor.model_path.name} ({predictor.version}); native bfloat16: {cpu_has_native_bfloat16()}")
    print("| step (one core, 640x480 JPEG, one face) | ms |")
    print("|---|---:|")
    print(f"| decode to grey | {decode_ms:.2f} |")
    print(f"| Haar detection, whole frame | {detect_ms:.2f} |")
    print(f"| Haar detection near the previous face (live capture after the first frame) | {near_ms:.2f} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
