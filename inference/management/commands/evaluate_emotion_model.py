import json
from argparse import ArgumentParser, BooleanOptionalAction
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inference.alignment import UPRIGHT
from inference.config import FACE_DETECTORS
from inference.datasets import DatasetError, load_faces
from inference.evaluation import FRAME_KINDS, confusion_png, evaluate, evaluate_frames
from inference.litert import Int8ModelError
from inference.predictor import DEFAULT_MODEL_PATH, DEFAULT_VIEWS, PRECISIONS, EmotionPredictor


class Command(BaseCommand):
    help = "Evaluate an emotion model on labelled faces: accuracy, per-class precision/recall, confusion matrix."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--data", required=True, help="FER2013-layout CSV (.csv/.csv.gz) or image-folder root")
        parser.add_argument(
            "--model", default=str(DEFAULT_MODEL_PATH), help="a .keras model (default: the shipped one)"
        )
        parser.add_argument("--usage", default=None, help="Usage value (CSV) or sub-folder, e.g. PublicTest or test")
        parser.add_argument("--detect-faces", action="store_true", help="run every image through face detection")
        parser.add_argument(
            "--frames", choices=FRAME_KINDS, default=None,
            help="paste: each face in its own 640x480 webcam-like frame (random place, 160-260 px, textured "
            "background), through the whole pipeline (JPEG, decode, detect, crop, classify)",
        )  # fmt: skip
        parser.add_argument("--tilt", type=float, default=0.0, help="with --frames: tilt each face by +/- DEG degrees")
        parser.add_argument("--seed", type=int, default=0, help="with --frames: the frames' random seed")
        parser.add_argument(
            "--detector", choices=FACE_DETECTORS, default=None, help="the face detector (default: FACE_DETECTOR)"
        )
        parser.add_argument(
            "--upright", action=BooleanOptionalAction, default=UPRIGHT,
            help="rotate each face so its eyes are level before reading it (YuNet's landmarks)",
        )  # fmt: skip
        parser.add_argument(
            "--align", action=BooleanOptionalAction, default=True,
            help="frame each crop from the face's landmarks as FER2013 frames its faces (--no-align: the "
            "detector's box, to measure what alignment is worth)",
        )  # fmt: skip
        parser.add_argument(
            "--views", type=int, default=DEFAULT_VIEWS, help="test-time views per face: 1, 2 (with the mirror image) "
            "or 4 (and both zoomed in by 10%%)"
        )  # fmt: skip
        parser.add_argument(
            "--precision", choices=PRECISIONS, default="float32", help="the numerics (served: EMOTION_PRECISION)"
        )
        parser.add_argument("--limit", type=int, default=None, help="only the first N faces")
        parser.add_argument("--confusion-png", default="confusion.png", help="where to write the confusion matrix")
        parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    def handle(self, *args: object, **options: object) -> None:
        try:
            faces = load_faces(
                str(options["data"]),
                usage=options["usage"],  # type: ignore[arg-type]
                limit=options["limit"],  # type: ignore[arg-type]
            )
            predictor = EmotionPredictor(
                str(options["model"]),
                views=int(options["views"]),  # type: ignore[call-overload]
                precision=str(options["precision"]),
                detector=options["detector"],  # type: ignore[arg-type]
                upright=bool(options["upright"]),
                align=bool(options["align"]),
            )
        except (DatasetError, FileNotFoundError, ValueError, Int8ModelError) as error:
            raise CommandError(str(error)) from error
        if options["frames"]:
            seed, tilt = int(options["seed"]), float(options["tilt"])  # type: ignore[call-overload,arg-type]
            report = evaluate_frames(predictor, faces, seed=seed, tilt=tilt)
        else:
            report = evaluate(predictor, faces, detect=bool(options["detect_faces"]))
        png = Path(str(options["confusion_png"]))
        confusion_png(report, png, title=f"{Path(str(options['model'])).name} on {options['usage'] or 'all'}")
        self.stdout.write(report.as_text())
        self.stdout.write(f"confusion matrix written to {png}")
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
