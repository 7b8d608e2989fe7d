"""Predictor speed on one core: decode + detect + crop + classify per 640x480 JPEG frame, and batched classification.

Run by hand (not a test), on an otherwise idle machine if there is one:

    .venv/bin/python benchmarks/predictor_speed.py [--model PATH] [--frames 300] [--views 1 2 4]
        [--precision int8] [--detector yunet haar] [--repeats 3]

It pins TensorFlow, LiteRT and OpenCV to one thread, so the figures are per core. Two kinds of
frame, each a 640x480 JPEG with one face: scikit-image's astronaut photograph (one frame, read
again and again), and FER2013 PublicTest faces pasted at 160-260 px on a textured background
(``inference.synthetic_frames``; the mean over ``--frames`` different frames, the ones whose
face is found, since YuNet looks closer at doubtful faces and so costs more on some frames).
Each precision (EMOTION_PRECISION), number of test-time views (EMOTION_VIEWS) and face detector
(FACE_DETECTOR) gets its own rows. End to end is measured for a first frame (a whole-frame face
search) and for the frames after it in live capture (a search near the previous face), both
through the serving code (``inference.serving.locate_largest_face`` and the predictor). Every
timing is the median of ``--repeats`` runs, because the machine may be shared; the machine and
its load are printed first.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FER_CSV = ROOT.parent / "shared" / "data" / "fer2013" / "fer2013_train_publictest.csv.gz"
MAX_SIDE = 4096


def astronaut_jpeg() -> bytes:
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((640, 640)).crop((0, 0, 640, 480))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def pasted_jpegs(count: int) -> list[bytes]:
    from inference.datasets import load_faces
    from inference.synthetic_frames import pasted_frames

    faces = load_faces(FER_CSV, usage="PublicTest", limit=count)
    return [frame.jpeg() for frame in pasted_frames(faces.images, seed=7)]


def median_ms(function, calls: list, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Milliseconds per call of ``function(item)`` over ``calls``, the median of ``repeats`` runs."""
    function(calls[0])
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for item in calls:
            function(item)
        runs.append((time.perf_counter() - started) / len(calls) * 1000)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--views", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["int8"],
        help="int8 (served) runs the LiteRT file beside the model; float32 and bfloat16 load TensorFlow",
    )
    parser.add_argument("--detector", nargs="+", default=["yunet", "haar"])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()

    import cv2
    import numpy as np

    cv2.setNumThreads(1)
    if set(arguments.precision) - {"int8"}:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)

    from inference.cpu import cpu_description
    from inference.faces import detect_face_near, detect_faces
    from inference.images import decode_grey
    from inference.predictor import DEFAULT_MODEL_PATH, EmotionPredictor
    from inference.serving import locate_largest_face

    repeats = arguments.repeats
    photo = [astronaut_jpeg()] * arguments.frames
    print(f"machine: {cpu_description()}; OpenCV {cv2.__version__}, one thread; median of {repeats} runs")
    decode_ms = median_ms(decode_grey, photo, repeats)
    rows = [f"| decode to grey (astronaut photo) | {decode_ms:.2f} |"]
    pasted: dict[str, list[bytes]] = {}
    for detector in arguments.detector:
        grey = decode_grey(photo[0])
        assert detect_faces(grey, detector=detector), "the astronaut photo must have a face"
        found = [jpeg for jpeg in pasted_jpegs(arguments.frames) if detect_faces(decode_grey(jpeg), detector=detector)]
        pasted[detector] = found
        greys = [decode_grey(jpeg) for jpeg in found]
        near = [(image, detect_faces(image, detector=detector)[0].box) for image in greys]
        whole = median_ms(lambda image, d=detector: detect_faces(image, detector=d), [grey] * len(photo), repeats)
        whole_pasted = median_ms(lambda image, d=detector: detect_faces(image, detector=d), greys, repeats)
        again = median_ms(lambda item, d=detector: detect_face_near(item[0], item[1], detector=d), near, repeats)
        rows += [
            f"| {detector}: whole-frame search, astronaut photo | {whole:.2f} |",
            f"| {detector}: whole-frame search, pasted FER faces (mean of {len(greys)} frames) | {whole_pasted:.2f} |",
            f"| {detector}: search near the previous face, pasted FER faces | {again:.2f} |",
        ]
    batch = (np.random.default_rng(0).random((256, 48, 48, 1)) * 255).astype(np.float32)
    for precision, views in ((precision, views) for precision in arguments.precision for views in arguments.views):
        predictor = EmotionPredictor(arguments.model or DEFAULT_MODEL_PATH, views=views, precision=precision)
        label = f"{precision}, {views} view(s)"
        batched = median_ms(lambda _: predictor.classify(batch), [None] * 5, repeats) / len(batch)  # noqa: B023
        single = median_ms(lambda _: predictor.classify(batch[:1]), [None] * arguments.frames, repeats)  # noqa: B023
        rows += [
            f"| {label}: classify one face, unbatched call | {single:.2f} |",
            f"| {label}: classify, batched 256, per face | {batched:.2f} |",
        ]
        for detector in arguments.detector:
            predictor.detector = detector
            rows += _end_to_end_rows(predictor, label, detector, photo, pasted[detector], repeats, locate_largest_face)
    print(f"model: {predictor.model_path.name} ({predictor.version})")
    print("| step (one core, 640x480 JPEG, one face) | ms |")
    print("|---|---:|")
    print("\n".join(rows))
    return 0


def _end_to_end_rows(predictor, label, detector, photo, pasted, repeats, locate_largest_face) -> list[str]:  # type: ignore[no-untyped-def]
    def first_frame(jpeg: bytes) -> None:
        located = locate_largest_face(jpeg, max_side=MAX_SIDE, predictor=predictor)
        if located is not None:
            predictor.classify(located.crop[None])

    previous = {jpeg: locate_largest_face(jpeg, max_side=MAX_SIDE, predictor=predictor) for jpeg in set(pasted)}

    def later_frame(jpeg: bytes) -> None:
        located = locate_largest_face(jpeg, max_side=MAX_SIDE, previous=previous[jpeg].box, predictor=predictor)
        if located is not None:
            predictor.classify(located.crop[None])

    rows = []
    for name, function, frames in (
        ("first frame (whole-frame search), astronaut photo", first_frame, photo),
        ("first frame (whole-frame search), pasted FER faces", first_frame, pasted),
        ("later frames (search near the previous face), pasted FER faces", later_frame, pasted),
    ):
        milliseconds = median_ms(function, frames, repeats)
        rows.append(f"| {label}, {detector}: end to end, {name} | {milliseconds:.2f} ({1000 / milliseconds:.0f}/s) |")
    return rows


if __name__ == "__main__":
    sys.exit(main())
