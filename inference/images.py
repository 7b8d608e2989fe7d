"""Decoding uploaded images by content into grey pixel arrays, with one clear error for anything unusable."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "GIF", "MPO"})
# 4096 x 4096: a large phone photo passes, a decompression bomb does not.
DEFAULT_MAX_PIXELS = 4096 * 4096


class InvalidImage(ValueError):
    """The bytes are not an image we can read; ``reason`` says why in words for the sender."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


def read_image_file(path: Path) -> bytes:
    """The bytes of an image file; a missing, unreadable or folder path raises ``InvalidImage`` saying which."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidImage("no such file") from None
    except IsADirectoryError:
        raise InvalidImage("this is a folder, not an image") from None
    except OSError as error:
        raise InvalidImage(f"the file cannot be read ({error.strerror})") from None


def decode_grey(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int | None = None) -> np.ndarray:
    """Decode JPEG, PNG, WebP, BMP or GIF bytes (whatever the file name said) into a grey uint8 array.

    EXIF orientation is applied, so a portrait phone photo comes out upright.
    Raises ``InvalidImage`` for empty, truncated, non-image or over-large input.
    """
    with _decoded(data, max_pixels=max_pixels, max_side=max_side, grey_only=True) as image:
        return np.asarray(image.convert("L"))


def decode_colour(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Decode image bytes as ``decode_grey`` does, keeping the colour: ``(rgb, grey)`` uint8 arrays.

    The grey array is what ``decode_grey`` returns for the same bytes (within a level or two for a
    JPEG, whose grey is read from its luma plane there), so faces are found and read the same way
    whether or not the caller also wants the colour picture.
    """
    with _decoded(data, max_pixels=max_pixels, max_side=max_side, grey_only=False) as image:
        return np.asarray(image.convert("RGB")), np.asarray(image.convert("L"))


@contextmanager
def _decoded(data: bytes, *, max_pixels: int, max_side: int | None, grey_only: bool) -> Iterator[Image.Image]:
    """The upright, fully loaded image; every decoding failure (also in the caller's conversion) is ``InvalidImage``."""
    if not data:
        raise InvalidImage("the image is empty")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, on decompression bombs; we check the size ourselves first.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise InvalidImage(
                    f"{image.format or 'this'} images are not accepted; send JPEG, PNG, WebP, BMP or GIF"
                )
            width, height = image.size
            if width * height > max_pixels or (max_side is not None and max(width, height) > max_side):
                raise InvalidImage(f"the image is too large ({width}x{height} pixels)", too_large=True)
            if width < 1 or height < 1:
                raise InvalidImage("the image has no pixels")
            if grey_only and image.format == "JPEG":
                # Decoding straight to grey skips the colour conversion: about twice as fast.
                image.draft("L", image.size)
            image.load()
            yield ImageOps.exif_transpose(image)
    except InvalidImage:
        raise
    except UnidentifiedImageError:
        raise InvalidImage("the data is not an image in a known format") from None
    except Image.DecompressionBombError:
        raise InvalidImage("the image is too large", too_large=True) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImage(f"the image is damaged or truncated ({error})") from None
