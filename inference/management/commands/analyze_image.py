import dataclasses
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inference.config import serving_config
from inference.image_analysis import ImageAnalysis, analyze_images
from inference.labels import EMOTIONS
from inference.predictor import EmotionPredictor, get_predictor


class Command(BaseCommand):
    help = (
        "Find and classify every face in images; writes <name>.png (faces drawn) and <name>.json per image. "
        "Exits with status 1 when any image could not be read."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="JPEG, PNG, WebP, BMP or GIF images")
        parser.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs (created if missing)")
        parser.add_argument(
            "--views", type=int, default=None, help="test-time views per face: 1, 2 or 4 (default: EMOTION_VIEWS or 4)"
        )

    def handle(self, *args: object, **options: object) -> None:
        predictor = predictor_for(options["views"])  # type: ignore[arg-type]
        out_dir = Path(str(options["out"]))
        files = [Path(name) for name in options["files"]]  # type: ignore[attr-defined]
        failed = 0
        for path, image in zip(files, analyze_images(files, out_dir, predictor=predictor), strict=True):
            if image.analysis is None:
                failed += 1
                self.stderr.write(f"{path}: {image.error}")
                continue
            self.stdout.write(f"{path}: {describe(image.analysis)} -> {out_dir / image.stem}.png, .json")
        if failed:
            raise CommandError(f"{failed} of {len(files)} images could not be read")


def predictor_for(views: int | None) -> EmotionPredictor:
    """The process's predictor, or one for the same serving configuration reading ``views`` views per face."""
    if views is None:
        return get_predictor()
    try:
        return EmotionPredictor.from_config(dataclasses.replace(serving_config(), views=views))
    except ValueError as error:
        raise CommandError(str(error)) from error


def describe(analysis: ImageAnalysis) -> str:
    """One line: how many faces, and each face's emotions in percent, dominant first."""
    if not analysis.faces:
        return "no face found"
    described = []
    for number, face in enumerate(analysis.faces, start=1):
        others = ", ".join(f"{emotion} {face.probabilities[emotion]:.0%}" for emotion in EMOTIONS)
        described.append(f"face {number} {face.emotion} {face.confidence:.0%} ({others})")
    count = len(analysis.faces)
    return f"{count} face{'s' if count > 1 else ''}: " + "; ".join(described)
