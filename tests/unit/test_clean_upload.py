"""clean_upload: an upload re-encoded from its pixels, upright, in its own format."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from briefcast.pipeline.render.safety import UnsafeImageError, clean_upload


def _encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "S", 2: (33.0, 51.0, 54.0)})
    return exif


@pytest.mark.parametrize(
    ("fmt", "mode", "expected_mode"),
    [
        ("JPEG", "RGB", "RGB"),
        ("JPEG", "L", "L"),
        ("JPEG", "CMYK", "RGB"),
        ("PNG", "RGB", "RGB"),
        ("PNG", "RGBA", "RGBA"),
        ("PNG", "L", "L"),
        ("WEBP", "RGB", "RGB"),
        ("WEBP", "RGBA", "RGBA"),
    ],
)
def test_the_format_stays_and_the_metadata_goes(fmt: str, mode: str, expected_mode: str) -> None:
    original = _encoded(Image.new(mode, (40, 30)), fmt, exif=_exif(8))
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # it was there
    clean = clean_upload(original)
    image = Image.open(io.BytesIO(clean.data))
    assert image.format == fmt and clean.format == fmt.lower()
    assert image.mode == expected_mode
    assert len(image.getexif()) == 0 and "exif" not in image.info
    assert (clean.width, clean.height) == image.size == (30, 40)  # orientation 8: turned


def test_a_palette_png_keeps_its_transparency() -> None:
    palette = Image.new("P", (10, 10), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    clean = clean_upload(_encoded(palette, "PNG", transparency=1))
    image = Image.open(io.BytesIO(clean.data))
    pixel = image.getpixel((0, 0))
    assert image.mode == "RGBA" and isinstance(pixel, tuple) and pixel[3] == 0


def test_an_upload_too_large_once_re_encoded_is_refused() -> None:
    noisy = Image.effect_noise((300, 300), 100).convert("RGB")
    original = _encoded(noisy, "JPEG", quality=5)
    with pytest.raises(UnsafeImageError) as caught:
        clean_upload(original, max_bytes=len(original) + 10)
    assert caught.value.code == "too_large" and "re-encoded" in caught.value.message
