"""Image analysis: every face in a photograph, classified, drawn on a PNG and listed as JSON.

``analyze_image`` reads one image's bytes; ``analyze_images`` reads many files and writes each
one's outputs, the loop both the ``analyze_image`` command and the site's image jobs run.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from inference.annotation import draw_faces
from inference.faces import AUDIENCE_SETTINGS, FaceMode, with_search_width
from inference.images import DEFAULT_MAX_PIXELS, InvalidImage, decode_colour, read_image_file
from inference.predictor import EmotionPredictor, FaceResult, get_predictor

# AUDIENCE_SETTINGS (faces down to 4% of the shorter side) searched on a copy at most 1280
# pixels wide: the same faces in an ordinary photo, while a 4000-pixel phone photo no longer
# costs seconds of detector work at a resolution far finer than any face that counts.
IMAGE_SETTINGS = with_search_width(AUDIENCE_SETTINGS, 1280)


@dataclass(frozen=True)
class ImageAnalysis:
    """One analysed image: its upright size, the faces (largest first) and the annotated picture as PNG."""

    width: int
    height: int
    faces: list[FaceResult]
    annotated_png: bytes

    def as_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "faces": [face.as_dict() for face in self.faces]}


def analyze_image(data: bytes, *, predictor: EmotionPredictor, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageAnalysis:
    """Find every face in the image bytes, classify them in one batch, and draw them on a PNG copy.

    Raises ``InvalidImage`` (with its ``reason``) for bytes that are not an image we accept.
    """
    rgb, grey = decode_colour(data, max_pixels=max_pixels)
    [faces] = predictor.predict([grey], mode=FaceMode.ALL, settings=IMAGE_SETTINGS)
    annotated = np.array(rgb)
    draw_faces(annotated, faces)
    height, width = grey.shape[:2]
    return ImageAnalysis(width=width, height=height, faces=faces, annotated_png=_png(annotated))


@dataclass(frozen=True)
class AnalyzedImage:
    """One input of ``analyze_images``: its analysis and the files written, or why it could not be read."""

    source_name: str
    stem: str
    analysis: ImageAnalysis | None
    error: str | None = None
    files: tuple[Path, ...] = ()


def analyze_images(
    paths: Sequence[str | Path],
    out_dir: Path,
    *,
    predictor: EmotionPredictor | None = None,
    source_names: Sequence[str] | None = None,
    stems: Sequence[str] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Iterator[AnalyzedImage]:
    """Analyse each image file and write its ``<stem>.png`` and ``<stem>.json`` into ``out_dir``.

    Yields one ``AnalyzedImage`` per path, in order, once its files are written (a caller can
    report progress between them). An image that cannot be read (not an image, missing, a
    folder) gets ``InvalidImage``'s reason as ``error`` and no files, and the others go on.

    ``source_names``: the names recorded as ``source`` in the JSON (default: each file's name).
    ``stems``: the output names (default: each source name without its suffix), made unique
    with ``unique_stems``. ``predictor``: default the process's (``get_predictor``).
    """
    names = [Path(path).name for path in paths] if source_names is None else list(source_names)
    wanted = [Path(name).stem for name in names] if stems is None else list(stems)
    if predictor is None:
        predictor = get_predictor()
    for path, name, stem in zip(paths, names, unique_stems(wanted), strict=True):
        try:
            analysis = analyze_image(read_image_file(Path(path)), predictor=predictor, max_pixels=max_pixels)
        except InvalidImage as error:
            yield AnalyzedImage(name, stem, None, error=error.reason)
            continue
        files = write_image_outputs(analysis, out_dir, stem, source_name=name)
        yield AnalyzedImage(name, stem, analysis, files=tuple(files))


def write_image_outputs(
    analysis: ImageAnalysis, out_dir: Path, stem: str, *, source_name: str | None = None
) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.json`` into ``out_dir``; each appears whole or not at all.

    The JSON is ``analysis.as_dict()``, with ``source`` (the original file name) when given.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = analysis.as_dict()
    if source_name is not None:
        summary = {"source": source_name, **summary}
    png = _write_atomically(out_dir / f"{stem}.png", analysis.annotated_png)
    document = _write_atomically(out_dir / f"{stem}.json", (json.dumps(summary, indent=2) + "\n").encode())
    return [png, document]


def unique_stems(stems: Sequence[str]) -> list[str]:
    """Output names per input: each stem, with -2, -3... when an earlier one was the same (in any case)."""
    taken: set[str] = set()
    unique = []
    for stem in stems:
        candidate, number = stem, 2
        while candidate.casefold() in taken:
            candidate, number = f"{stem}-{number}", number + 1
        taken.add(candidate.casefold())
        unique.append(candidate)
    return unique


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # zlib level 3 instead of Pillow's 6: a 4K photo encodes in well under half the time, a little larger.
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def _write_atomically(path: Path, content: bytes) -> Path:
    # A reader (the web page, a second worker) sees the old file or the new one, never half of it.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        # mkstemp makes the file private to its owner; outputs are as readable as any other written file.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
