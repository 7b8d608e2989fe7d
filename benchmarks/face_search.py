"""Whole-frame face search: how often each detector and setting finds a webcam-sized face, how often it
finds one where there is none, and how long it takes.

Run by hand (not a test):

    .venv/bin/python benchmarks/face_search.py [--faces 600] [--tilt 0] [--repeats 3] [--only yunet]

FER2013 PublicTest faces (real faces, from ../shared) are pasted at 160-260 px at a random place
into 640x480 frames on a textured background (``inference.synthetic_frames``, seeded), with one
frame in five holding no face; every frame is encoded as a JPEG and decoded, as live capture
receives it. For each detector and setting it reports the share of faces found (the largest face,
which live capture reads, is the pasted face: ``synthetic_frames.is_the_face``), boxes that are
not the face per frame (all frames, and frames without a face; every face kept), and
milliseconds per frame on one core (OpenCV pinned to one thread) for live capture's search for
the largest face. Timings are the median of
``--repeats`` runs, the settings taking turns within each run, because the machine may be shared;
the machine and its load are printed first. The first row of each detector is what it serves
(``inference.faces.WEBCAM_SETTINGS``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FER_CSV = ROOT.parent / "shared" / "data" / "fer2013" / "fer2013_train_publictest.csv.gz"
EMPTY_SHARE = 0.2


def candidates():  # type: ignore[no-untyped-def]
    """(detector, name, settings) for every row, what is served first for each detector."""
    from inference.faces import WEBCAM_SETTINGS, HaarSettings, YuNetSettings

    served = WEBCAM_SETTINGS

    def haar(**changes):  # type: ignore[no-untyped-def]
        return replace(served, haar=replace(served.haar, **changes))

    def yunet(**changes):  # type: ignore[no-untyped-def]
        return replace(served, yunet=replace(served.yunet, **changes))

    def one_pass(width: int | None, score: float):  # type: ignore[no-untyped-def]
        return replace(served, yunet=YuNetSettings(detect_width=width, accept_score=score, candidate_score=score))

    return [
        ("haar", "as served: scale factor 1.1, 240 px copy, 5 neighbours", served),
        ("haar", "3 neighbours", haar(min_neighbors=3)),
        ("haar", "full size (640 px)", replace(served, haar=HaarSettings(detect_width=None))),
        ("yunet", "as served: 256 px copy, closer look at up to 2 doubtful faces (192 px)", served),
        ("yunet", "closer look at 160 px", yunet(closer_size=160)),
        ("yunet", "closer look at 1 doubtful face at most", yunet(closer_looks=1)),
        ("yunet", "closer look only from score 0.1", yunet(candidate_score=0.1)),
        ("yunet", "224 px copy, closer look", yunet(detect_width=224)),
        ("yunet", "320 px copy, closer look", yunet(detect_width=320)),
        ("yunet", "one pass: 256 px copy, score 0.3", one_pass(256, 0.3)),
        ("yunet", "one pass: 320 px copy, score 0.6 (OpenCV's default)", one_pass(320, 0.6)),
        ("yunet", "one pass: 320 px copy, score 0.3", one_pass(320, 0.3)),
        ("yunet", "one pass: 480 px copy, score 0.3", one_pass(480, 0.3)),
        ("yunet", "one pass: full size, score 0.6", one_pass(None, 0.6)),
        ("yunet", "one pass: full size, score 0.3", one_pass(None, 0.3)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=600)
    parser.add_argument("--tilt", type=float, default=0.0, help="tilt each face by +/- this many degrees")
    parser.add_argument("--repeats", type=int, default=3, help="timing runs; the median is reported")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--only", choices=["yunet", "haar"], default=None, help="one detector's rows only")
    arguments = parser.parse_args()
    if not FER_CSV.exists():
        print(f"FER2013 is not at {FER_CSV}", file=sys.stderr)
        return 1
    import cv2

    cv2.setNumThreads(1)
    from inference.cpu import cpu_description
    from inference.datasets import load_faces
    from inference.faces import FaceMode, detect_faces
    from inference.images import decode_grey
    from inference.synthetic_frames import pasted_frames

    faces = load_faces(FER_CSV, usage="PublicTest", limit=arguments.faces)
    frames = list(pasted_frames(faces.images, seed=arguments.seed, tilt=arguments.tilt, empty_share=EMPTY_SHARE))
    greys = [decode_grey(frame.jpeg()) for frame in frames]
    rows = [row for row in candidates() if arguments.only in (None, row[0])]
    print(f"machine: {cpu_description()}; OpenCV {cv2.__version__}, one thread")
    with_face = sum(frame.face is not None for frame in frames)
    print(
        f"{len(frames)} JPEG frames, 640x480: {with_face} with one FER2013 PublicTest face of 160-260 px"
        f"{f' tilted by +/-{arguments.tilt:g} degrees' if arguments.tilt else ''}, {len(frames) - with_face} without;"
        f" seed {arguments.seed}; ms per frame: median of {arguments.repeats} runs"
    )
    seconds: dict[str, list[float]] = {name: [] for _, name, _ in rows}
    largest: dict[str, list] = {}
    for _ in range(arguments.repeats):
        for detector, name, settings in rows:
            started = time.perf_counter()
            largest[name] = [detect_faces(grey, settings=settings, detector=detector) for grey in greys]
            seconds[name].append((time.perf_counter() - started) / len(greys))
    # Every box, for the false ones: the same search with every face kept (not timed).
    everyone = {
        name: [detect_faces(grey, mode=FaceMode.ALL, settings=settings, detector=detector) for grey in greys]
        for detector, name, settings in rows
    }
    print("| detector | setting | faces found | other boxes per frame | in frames without a face | ms per frame |")
    print("|---|---|---:|---:|---:|---:|")
    for detector, name, _ in rows:
        print(_row(detector, name, frames, largest[name], everyone[name], statistics.median(seconds[name])))
    return 0


def _row(detector, name, frames, largest, everyone, seconds: float) -> str:  # type: ignore[no-untyped-def]
    from inference.synthetic_frames import is_the_face

    found = other = empty_other = 0
    for frame, chosen, faces in zip(frames, largest, everyone, strict=True):
        if frame.face is None:
            empty_other += len(faces)
            continue
        # Live capture reads the largest face: found means that one is the pasted face.
        found += bool(chosen) and is_the_face(chosen[0].box, frame.face)
        other += sum(not is_the_face(face.box, frame.face) for face in faces)
    with_face = sum(frame.face is not None for frame in frames)
    empty = len(frames) - with_face
    return (
        f"| {detector} | {name} | {found / with_face:.1%} | {(other + empty_other) / len(frames):.3f} "
        f"| {empty_other / max(1, empty):.3f} | {seconds * 1000:.2f} |"
    )


if __name__ == "__main__":
    sys.exit(main())
