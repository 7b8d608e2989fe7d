import time
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from inference.faces import FaceMode
from inference.management.commands.analyze_image import predictor_for
from inference.video_analysis import InvalidVideo, analyze_video, check_out_dir, sample_times

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Sample a video every --interval seconds and classify every face: writes timeline.csv, table.csv, "
        "timeline.png, annotated.mp4 and summary.json into --out (which must not exist or be empty)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the video (MP4, WebM, MOV...)")
        parser.add_argument("--interval", type=float, required=True, metavar="SECONDS", help="seconds between samples")
        parser.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs")
        parser.add_argument("--no-video", action="store_true", help="skip the annotated video (much faster)")
        modes = [mode.value for mode in FaceMode]
        parser.add_argument("--faces", choices=modes, default=FaceMode.ALL.value, help="every face or the largest")
        parser.add_argument(
            "--views", type=int, default=None, help="test-time views per face: 1, 2 or 4 (default: EMOTION_VIEWS or 4)"
        )

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["file"]))
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        out_dir, interval = Path(str(options["out"])), float(options["interval"])  # type: ignore[arg-type]
        # Refused before the model loads (seconds), not after.
        try:
            sample_times(0.0, interval)
            check_out_dir(out_dir)
        except (ValueError, FileExistsError) as error:
            raise CommandError(str(error)) from error
        predictor = predictor_for(options["views"])  # type: ignore[arg-type]
        bar = ProgressBar(self.stderr)
        try:
            analysis = analyze_video(
                path,
                out_dir,
                interval=interval,
                predictor=predictor,
                face_mode=FaceMode(options["faces"]),
                annotate=not options["no_video"],
                progress=bar.update,
            )
        except InvalidVideo as error:
            raise CommandError(f"{path}: {error.reason}") from error
        except (ValueError, FileExistsError) as error:
            raise CommandError(str(error)) from error
        finally:
            bar.finish()
        for name, output in analysis.files.items():
            self.stdout.write(f"{name}: {output}")
        self.stdout.write(analysis.message)


class ProgressBar:
    """Percent, elapsed and remaining time on one line redrawn in place (a terminal), else a line every 10%."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.started = time.monotonic()
        self.last_tenth = -1
        self.drawn = False

    def update(self, fraction: float) -> None:
        elapsed = time.monotonic() - self.started
        remaining = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
        estimate = _clock(remaining) if remaining is not None else "?"
        text = f"{fraction:4.0%}  elapsed {_clock(elapsed)}  remaining {estimate}"
        if self.interactive:
            filled = round(BAR_WIDTH * fraction)
            self._write(f"\r[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {text}   ")
            self.drawn = True
        elif int(fraction * 10) > self.last_tenth:
            self.last_tenth = int(fraction * 10)
            self._write(f"{text}\n")

    def finish(self) -> None:
        if self.drawn:
            self._write("\n")

    def _write(self, text: str) -> None:
        # As written: no newline added, and not in the error colour Django gives stderr.
        self.stream.write(text, style_func=lambda message: message, ending="")
        self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"
