"""Whole-frame face search: how often the Haar cascade finds a webcam-sized face, and how long it takes, per setting.

Run by hand (not a test):

    .venv/bin/python benchmarks/face_search.py [--faces 600]

FER2013 PublicTest faces (real faces, from ../shared) are scaled to 120-300 px and pasted at a
random place into 640x480 frames with a textured background, as a participant's face sits in a
webcam frame. For each detection setting it reports the share of faces found (a box overlapping
the pasted face by IoU >= 0.3), boxes found elsewhere per frame, and milliseconds per frame on
one core. The first row is the setting live capture uses (inference.faces.WEBCAM_SETTINGS).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FER_CSV = ROOT.parent / "shared" / "data" / "fer2013" / "fer2013_train_publictest.csv.gz"


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    width = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    height = max(0, min(ay + ah, by + bh) - max(ay, by))
    overlap = width * height
    return overlap / (aw * ah + bw * bh - overlap)


def webcam_frames(count: int):  # type: ignore[no-untyped-def]
    import cv2
    import numpy as np

    from inference.datasets import load_faces

    faces = load_faces(FER_CSV, usage="PublicTest", limit=count)
    rng = np.random.default_rng(7)
    frames = []
    for face in faces.images:
        noise = cv2.resize(rng.integers(40, 200, (12, 16), dtype=np.uint8), (640, 480), interpolation=cv2.INTER_CUBIC)
        frame = (noise * 0.7 + np.linspace(30, 90, 640)[None, :] * 0.3).astype(np.uint8)
        side = int(rng.integers(120, 301))
        x, y = int(rng.integers(0, 640 - side)), int(rng.integers(0, 480 - side))
        frame[y : y + side, x : x + side] = cv2.resize(face[:, :, 0], (side, side), interpolation=cv2.INTER_CUBIC)
        frames.append((frame, (x, y, side, side)))
    return frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=600)
    arguments = parser.parse_args()
    if not FER_CSV.exists():
        print(f"FER2013 is not at {FER_CSV}", file=sys.stderr)
        return 1
    import cv2

    cv2.setNumThreads(1)
    from inference.faces import WEBCAM_SETTINGS, detect_faces

    frames = webcam_frames(arguments.faces)
    candidates = [
        ("as served", WEBCAM_SETTINGS),
        ("search width 200", replace(WEBCAM_SETTINGS, detect_width=200)),
        ("search width 320", replace(WEBCAM_SETTINGS, detect_width=320)),
        ("scale factor 1.15", replace(WEBCAM_SETTINGS, scale_factor=1.15)),
        ("scale factor 1.2", replace(WEBCAM_SETTINGS, scale_factor=1.2)),
        ("neighbours 3", replace(WEBCAM_SETTINGS, min_neighbors=3)),
    ]
    print(f"{len(frames)} frames, 640x480, one FER2013 face of 120-300 px each")
    print("| setting | scale factor | search width | neighbours | faces found | other boxes per frame | ms per frame |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, settings in candidates:
        found = other = 0
        started = time.perf_counter()
        results = [detect_faces(frame, settings=settings) for frame, _ in frames]
        elapsed = time.perf_counter() - started
        for (_, truth), boxes in zip(frames, results, strict=True):
            hits = [box for box in boxes if iou(box.as_tuple(), truth) >= 0.3]
            found += bool(hits)
            other += len(boxes) - len(hits)
        print(
            f"| {name} | {settings.scale_factor} | {settings.detect_width} | {settings.min_neighbors} "
            f"| {found / len(frames):.1%} | {other / len(frames):.2f} | {elapsed / len(frames) * 1000:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
