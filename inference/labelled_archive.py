"""The served model's accuracy on someone's own labelled faces: a zip archive with one folder per emotion.

A folder's name says its images' emotion, with the synonyms the training command accepts
(``inference.labels.EMOTION_SYNONYMS``: angry or anger, happy or happiness...). Other folders
(``contempt``, which FER2013 does not have, or anything else) are skipped and reported. An
image's emotion is the name of the folder it sits in, however deep (``study/angry/01.png``).

The archive is never extracted. Its directory is checked before any image is read
(``inspect_labelled_archive``): the images' declared unpacked sizes in all, each one's
compression ratio, and how many there are, so a zip bomb is refused unread. Then each image
is read into memory by itself, at most its declared size, and decoded by its content as any
upload is. An entry's name is only ever a label and a line in the results, never a path on
disk, so names with ``../`` or absolute paths reach nothing.

With the face detector on, each image goes the way of an uploaded photograph: the largest face
found, aligned and cropped; an image without a face counts as not found and as wrong in the
accuracy. With it off, the image is the face: made 48x48 grey, as training reads image folders.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np

from inference.datasets import IMAGE_SUFFIXES, image_as_face
from inference.evaluation import EvaluationReport, confusion_matrix, confusion_png
from inference.faces import FaceMode
from inference.image_analysis import IMAGE_SETTINGS
from inference.images import DEFAULT_MAX_PIXELS, InvalidImage, decode_grey
from inference.labels import EMOTIONS, label_for_folder
from inference.predictor import EmotionPredictor, locate_faces
from inference.preprocessing import faces_to_batch

# An image that would unpack to more than this many times its packed size is taken for a zip
# bomb. Photographs (JPEG, PNG, WebP) hardly pack at all; only images over RATIO_CHECKED_FROM
# are judged, because a small uniform picture (a 48x48 BMP of one grey) packs tightly and harmlessly.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_FROM = 1024 * 1024
# How many unreadable images the result names (images.csv lists every one).
LISTED_UNREADABLE = 50
BATCH_SIZE = 256
# Folders that archivers add and nobody labelled: macOS's resource forks.
IGNORED_FOLDERS = ("__MACOSX",)
MEGABYTE = 1024 * 1024

ArchiveSource = str | Path | IO[bytes]


class InvalidArchive(ValueError):
    """The upload is no labelled archive we evaluate; ``reason`` says why, in a sentence for the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ArchiveLimits:
    """What a labelled archive may hold: images, their unpacked bytes in all and each, pixels per image."""

    max_images: int = 5000
    max_unpacked_bytes: int = 200 * MEGABYTE
    max_image_bytes: int = 20 * MEGABYTE
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class LabelledEntry:
    """An image in an emotion's folder: its path in the archive and its emotion (FER2013's name)."""

    name: str
    emotion: str
    info: zipfile.ZipInfo = field(repr=False, compare=False)


@dataclass(frozen=True)
class ArchiveContents:
    """What the archive's directory says it holds, before any image is read."""

    entries: tuple[LabelledEntry, ...]
    # A folder that is none of the seven emotions, and how many files it holds.
    skipped_folders: dict[str, int]
    # Files in no folder, and files in an emotion's folder that are no image by their name.
    loose_files: int = 0
    other_files: int = 0

    def class_counts(self) -> dict[str, int]:
        counts = Counter(entry.emotion for entry in self.entries)
        return {emotion: counts[emotion] for emotion in EMOTIONS}


@dataclass(frozen=True)
class ImageOutcome:
    """One image: its emotion (from its folder), why it could not be read, whether a face was found, what was read."""

    name: str
    emotion: str
    error: str | None = None
    found: bool | None = None
    predicted: str | None = None
    probability: float | None = None

    @property
    def correct(self) -> bool | None:
        """Whether the model read the image's emotion; None for an unreadable image, False for a face not found."""
        if self.error is not None:
            return None
        return self.predicted == self.emotion


@dataclass(frozen=True)
class LabelledEvaluation:
    """The model's figures on the archive's readable images, each image's outcome, and what was skipped."""

    report: EvaluationReport
    detect_faces: bool
    outcomes: tuple[ImageOutcome, ...]
    contents: ArchiveContents
    model_version: str

    @property
    def unreadable(self) -> list[ImageOutcome]:
        return [outcome for outcome in self.outcomes if outcome.error is not None]

    def as_dict(self) -> dict:
        """The report (``EvaluationReport.as_dict``) with each class's images, and what was found and skipped.

        ``n`` is the number of readable images; ``accuracy`` counts a face not found as wrong.
        Per class, ``images`` is the readable images of that emotion; ``support`` (and precision,
        recall and F1) counts the faces read, which with the detector on are the faces found.
        """
        report = self.report.as_dict()
        readable = [outcome for outcome in self.outcomes if outcome.error is None]
        images = Counter(outcome.emotion for outcome in readable)
        for index, (emotion, figures) in enumerate(report["per_class"].items()):
            figures["images"] = images[emotion]
            figures["predicted"] = int(self.report.confusion[:, index].sum())
            figures["correct"] = int(self.report.confusion[index, index])
        unreadable = self.unreadable
        return {
            **report,
            "detect_faces": self.detect_faces,
            "model_version": self.model_version,
            "faces_found": int(self.report.confusion.sum()) if self.detect_faces else None,
            "unreadable": len(unreadable),
            "unreadable_images": [
                {"name": outcome.name, "reason": outcome.error} for outcome in unreadable[:LISTED_UNREADABLE]
            ],
            "skipped_folders": self.contents.skipped_folders,
            "loose_files": self.contents.loose_files,
            "other_files": self.contents.other_files,
        }


def inspect_labelled_archive(source: ArchiveSource, *, limits: ArchiveLimits = ArchiveLimits()) -> ArchiveContents:
    """What a labelled archive holds, from its directory alone; raises ``InvalidArchive`` when it cannot be evaluated.

    Refused: anything that is not a zip archive; an archive without folders, or without any of
    the seven emotions' folders, or whose emotion folders hold no images; one with more than
    ``limits.max_images`` images; one whose images would unpack to more than
    ``limits.max_unpacked_bytes``, or one of them to more than ``MAX_COMPRESSION_RATIO`` times its
    packed size (a zip bomb). Nothing is unpacked to find this out.
    """
    with _opened(source) as archive:
        return _contents(archive, limits)


def evaluate_labelled_archive(
    source: ArchiveSource,
    *,
    predictor: EmotionPredictor,
    detect_faces: bool = True,
    limits: ArchiveLimits = ArchiveLimits(),
    progress: Callable[[float], None] | None = None,
) -> LabelledEvaluation:
    """Read every image of a labelled archive with ``predictor`` and measure it against the images' folders.

    The archive is checked first as ``inspect_labelled_archive`` checks it. An image that cannot
    be read (damaged, not an image, over ``limits.max_image_bytes`` or ``limits.max_pixels``) is
    skipped and counted; when none can be read, ``InvalidArchive`` says so. ``progress`` is called
    with the fraction done after each image (it may raise to stop the evaluation).
    """
    with _opened(source) as archive:
        contents = _contents(archive, limits)
        outcomes: list[ImageOutcome] = []
        pending: list[tuple[int, np.ndarray]] = []
        total = len(contents.entries)
        for number, entry in enumerate(contents.entries, start=1):
            outcome, crop = _read_face(archive, entry, predictor=predictor, detect_faces=detect_faces, limits=limits)
            if crop is not None:
                pending.append((len(outcomes), crop))
            outcomes.append(outcome)
            if len(pending) >= BATCH_SIZE:
                _classify(predictor, pending, outcomes)
            if progress is not None:
                progress(0.99 * number / total)
        _classify(predictor, pending, outcomes)
    evaluation = LabelledEvaluation(
        report=_report(outcomes, detect_faces=detect_faces),
        detect_faces=detect_faces,
        outcomes=tuple(outcomes),
        contents=contents,
        model_version=predictor.version,
    )
    if evaluation.report.n == 0:
        reasons = "; ".join(f"{outcome.name}: {outcome.error}" for outcome in outcomes[:5])
        raise InvalidArchive(f"No image in the archive could be read ({reasons}).")
    if progress is not None:
        progress(1.0)
    return evaluation


@contextmanager
def _opened(source: ArchiveSource) -> Iterator[zipfile.ZipFile]:
    if not isinstance(source, str | Path):
        source.seek(0)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        raise InvalidArchive("This is not a zip archive, or the archive is damaged.") from None
    with archive:
        yield archive


def _contents(archive: zipfile.ZipFile, limits: ArchiveLimits) -> ArchiveContents:
    entries: list[LabelledEntry] = []
    skipped: Counter[str] = Counter()
    loose = other = 0
    for info in archive.infolist():
        parts = _name_parts(info.filename)
        if info.is_dir() or not parts or _ignored(parts):
            continue
        if len(parts) == 1:
            loose += 1
            continue
        emotion = label_for_folder(parts[-2])
        if emotion is None:
            skipped[parts[-2]] += 1
        elif Path(parts[-1]).suffix.lower() not in IMAGE_SUFFIXES:
            other += 1
        else:
            entries.append(LabelledEntry("/".join(parts), emotion, info))
    contents = ArchiveContents(tuple(entries), dict(sorted(skipped.items())), loose, other)
    _check(contents, limits)
    return contents


def _name_parts(name: str) -> list[str]:
    # Only to read the folder's name: "." and ".." are dropped, so no part of a name is a way up.
    return [part for part in name.replace("\\", "/").split("/") if part not in ("", ".", "..")]


def _ignored(parts: list[str]) -> bool:
    # Hidden files (.DS_Store, macOS's ._ copies) and archivers' own folders were never labelled.
    return parts[-1].startswith(".") or any(part in IGNORED_FOLDERS for part in parts)


def _check(contents: ArchiveContents, limits: ArchiveLimits) -> None:
    entries = contents.entries
    if not entries:
        raise InvalidArchive(_why_no_images(contents))
    for entry in entries:
        unpacked, packed = entry.info.file_size, entry.info.compress_size
        if unpacked > RATIO_CHECKED_FROM and unpacked > MAX_COMPRESSION_RATIO * max(1, packed):
            raise InvalidArchive(
                f"{entry.name} would unpack to {unpacked / MEGABYTE:.0f} MB from {packed / 1024:.0f} KB: "
                "the archive looks like a zip bomb and was not unpacked."
            )
    unpacked_total = sum(entry.info.file_size for entry in entries)
    if unpacked_total > limits.max_unpacked_bytes:
        raise InvalidArchive(
            f"The images would unpack to {unpacked_total / MEGABYTE:.0f} MB, over the limit of "
            f"{limits.max_unpacked_bytes / MEGABYTE:.0f} MB."
        )
    if len(entries) > limits.max_images:
        raise InvalidArchive(f"The archive holds {len(entries)} images; at most {limits.max_images} are evaluated.")


FOLDER_NAMES_HELP = (
    "Put each emotion's images in a folder named after it: angry, disgust, fear, happy, sad, surprise or "
    "neutral (or a synonym such as anger, happiness, sadness, surprised)."
)


def _why_no_images(contents: ArchiveContents) -> str:
    if contents.skipped_folders:
        found = ", ".join(contents.skipped_folders)
        return f"None of the archive's folders is one of the seven emotions (it has {found}). {FOLDER_NAMES_HELP}"
    if contents.other_files:
        return f"The emotion folders hold no images (JPEG, PNG, WebP, BMP or GIF). {FOLDER_NAMES_HELP}"
    if contents.loose_files:
        return f"The archive has no folders. {FOLDER_NAMES_HELP}"
    return f"The archive is empty. {FOLDER_NAMES_HELP}"


def _read_face(
    archive: zipfile.ZipFile,
    entry: LabelledEntry,
    *,
    predictor: EmotionPredictor,
    detect_faces: bool,
    limits: ArchiveLimits,
) -> tuple[ImageOutcome, np.ndarray | None]:
    outcome = ImageOutcome(entry.name, entry.emotion)
    try:
        grey = decode_grey(_entry_bytes(archive, entry, limits), max_pixels=limits.max_pixels)
    except InvalidImage as error:
        return replace(outcome, error=error.reason), None
    if not detect_faces:
        return outcome, image_as_face(grey)
    located = locate_faces(
        grey, mode=FaceMode.LARGEST, settings=IMAGE_SETTINGS, detector=predictor.detector, upright=predictor.upright
    )
    if not located:
        return replace(outcome, found=False), None
    return replace(outcome, found=True), located[0].crop


def _entry_bytes(archive: zipfile.ZipFile, entry: LabelledEntry, limits: ArchiveLimits) -> bytes:
    """One image's bytes, unpacked in memory; never more than the per-image limit, whatever the archive claims."""
    info = entry.info
    too_large = InvalidImage(f"the image is larger than the limit of {limits.max_image_bytes // MEGABYTE} MB")
    if info.file_size > limits.max_image_bytes:
        raise too_large
    if info.flag_bits & 0x1:
        raise InvalidImage("the image is encrypted in the archive")
    try:
        with archive.open(info) as stream:
            data = stream.read(limits.max_image_bytes + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error, lzma.LZMAError):
        raise InvalidImage("the image is damaged in the archive") from None
    if len(data) > limits.max_image_bytes:
        raise too_large
    return data


def _classify(predictor: EmotionPredictor, pending: list[tuple[int, np.ndarray]], outcomes: list[ImageOutcome]) -> None:
    if not pending:
        return
    probabilities = predictor.classify(faces_to_batch([crop for _, crop in pending]))
    for (index, _), row in zip(pending, probabilities, strict=True):
        best = int(np.argmax(row))
        outcomes[index] = replace(outcomes[index], predicted=EMOTIONS[best], probability=float(row[best]))
    pending.clear()


def _report(outcomes: list[ImageOutcome], *, detect_faces: bool) -> EvaluationReport:
    readable = [outcome for outcome in outcomes if outcome.error is None]
    read = [outcome for outcome in readable if outcome.predicted is not None]
    matrix = confusion_matrix(
        np.array([EMOTIONS.index(outcome.emotion) for outcome in read], dtype=np.int64),
        np.array([EMOTIONS.index(str(outcome.predicted)) for outcome in read], dtype=np.int64),
    )
    return EvaluationReport(
        n=len(readable),
        accuracy=float(np.trace(matrix)) / max(1, len(readable)),
        confusion=matrix,
        face_found_rate=len(read) / max(1, len(readable)) if detect_faces else None,
    )


# The files ``write_labelled_outputs`` writes, by identifier.
LABELLED_OUTPUT_NAMES = {
    "evaluation": "evaluation.json",
    "classes": "classes.csv",
    "confusion": "confusion.csv",
    "images": "images.csv",
    "confusion_png": "confusion.png",
}


def write_labelled_outputs(evaluation: LabelledEvaluation, out_dir: Path) -> dict[str, Path]:
    """Write the evaluation's files into ``out_dir``, and return them by identifier (``LABELLED_OUTPUT_NAMES``).

    ``evaluation.json`` (``as_dict``), ``classes.csv`` (per emotion: images, faces read, correct,
    predicted, precision, recall, F1), ``confusion.csv`` (rows: the folders' emotions, columns:
    the model's), ``images.csv`` (each image: its emotion, face found, what was read, or why it
    could not be read) and ``confusion.png`` (the model card's figure of the matrix).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {identifier: out_dir / name for identifier, name in LABELLED_OUTPUT_NAMES.items()}
    summary = evaluation.as_dict()
    paths["evaluation"].write_text(json.dumps(summary, indent=2) + "\n")
    paths["classes"].write_text(_classes_csv(summary))
    paths["confusion"].write_text(_confusion_csv(evaluation.report))
    paths["images"].write_text(_images_csv(evaluation.outcomes))
    title = "Faces found in your images" if evaluation.detect_faces else "Your images as faces"
    confusion_png(evaluation.report, paths["confusion_png"], title=title)
    return paths


def _csv(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


CLASS_COLUMNS = ("images", "support", "correct", "predicted", "precision", "recall", "f1")


def _classes_csv(summary: dict) -> str:
    rows: list[list[object]] = [["emotion", *CLASS_COLUMNS]]
    for emotion, figures in summary["per_class"].items():
        rows.append([emotion, *(_cell(figures[column]) for column in CLASS_COLUMNS)])
    return _csv(rows)


def _confusion_csv(report: EvaluationReport) -> str:
    rows: list[list[object]] = [["true \\ predicted", *EMOTIONS]]
    rows += [[emotion, *(int(count) for count in row)] for emotion, row in zip(EMOTIONS, report.confusion, strict=True)]
    return _csv(rows)


def _images_csv(outcomes: tuple[ImageOutcome, ...]) -> str:
    rows: list[list[object]] = [["name", "emotion", "face_found", "predicted", "probability", "correct", "error"]]
    for outcome in outcomes:
        rows.append(
            [
                outcome.name,
                outcome.emotion,
                _cell(outcome.found),
                outcome.predicted or "",
                _cell(outcome.probability),
                _cell(outcome.correct),
                outcome.error or "",
            ]
        )
    return _csv(rows)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return round(value, 4)
    return value
