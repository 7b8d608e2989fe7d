import io

import numpy as np
import pytest
from PIL import Image

from inference.images import InvalidImage, decode_grey
from tests.inference.conftest import encode

GRADIENT = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1))


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "BMP", "GIF"])
def test_it_decodes_every_accepted_format_to_grey(image_format):
    rgb = np.stack([GRADIENT] * 3, axis=-1)
    grey = decode_grey(encode(rgb, image_format))
    assert grey.dtype == np.uint8 and grey.shape == GRADIENT.shape
    assert abs(int(grey[:, -1].mean()) - 252) < 12


def test_a_gif_with_a_png_name_is_read_by_its_content(tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(GRADIENT).save(path, format="GIF")
    assert decode_grey(path.read_bytes()).shape == GRADIENT.shape


def test_exif_orientation_is_honoured():
    wide = np.zeros((20, 60), dtype=np.uint8)
    image = Image.fromarray(wide)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert decode_grey(buffer.getvalue()).shape == (60, 20)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"hello, this is not an image", "not an image"),
        (b"%PDF-1.4\n%\xe2\xe3", "not an image"),
        (encode(GRADIENT)[:200], "damaged or truncated"),
        (encode(GRADIENT, "PNG")[:60], "damaged or truncated"),
    ],
)
def test_unusable_bytes_raise_one_clear_error(data, reason):
    with pytest.raises(InvalidImage, match=reason):
        decode_grey(data)


def test_an_image_over_the_pixel_limit_is_refused_before_decoding():
    big = encode(np.zeros((300, 400), dtype=np.uint8), "PNG")
    with pytest.raises(InvalidImage, match="too large"):
        decode_grey(big, max_pixels=100_000)
    with pytest.raises(InvalidImage, match="too large"):
        decode_grey(big, max_side=256)
    assert decode_grey(big, max_pixels=120_000).shape == (300, 400)


def test_a_tiff_is_refused_by_name():
    with pytest.raises(InvalidImage, match="TIFF images are not accepted"):
        decode_grey(encode(GRADIENT, "TIFF"))
