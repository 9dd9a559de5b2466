"""Upload safety: limits checked before decoding, each refusal with its code."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from briefcast.pipeline.render.safety import UnsafeImageError, load_logo, load_photo


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (the data would never fill it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def _code(data: bytes, **kwargs: int) -> str:
    with pytest.raises(UnsafeImageError) as caught:
        load_photo(data, **kwargs)
    return caught.value.code


def test_decompression_bomb_refused_before_decoding() -> None:
    before = Image.MAX_IMAGE_PIXELS
    bomb = _png_declaring(30000, 30000)
    assert len(bomb) < 200
    assert _code(bomb) == "too_many_pixels"  # Pillow's own guard fires at open: still ours
    assert _code(_png_declaring(8000, 6000)) == "too_many_pixels"  # under Pillow's, over ours
    assert before == Image.MAX_IMAGE_PIXELS  # the process-wide guard is left as it was


def test_oversized_upload_refused_without_decoding() -> None:
    assert _code(b"\xff\xd8\xff" + b"\0" * (50 * 1024 * 1024)) == "too_large"


def test_non_image_refused() -> None:
    assert _code(b"%PDF-1.7\n" + b"hello" * 100) == "not_an_image"


def test_gif_refused_as_not_allowed() -> None:
    gif = _encoded(Image.new("P", (10, 10)), "GIF")
    assert _code(gif) == "format_not_allowed"


def test_truncated_jpeg_refused_as_corrupt() -> None:
    jpeg = _encoded(Image.effect_noise((400, 300), 60).convert("RGB"), "JPEG")
    assert _code(jpeg[: len(jpeg) // 2]) == "corrupt"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_allowed_formats_load_as_rgb(fmt: str) -> None:
    photo = load_photo(_encoded(Image.new("RGB", (64, 48), (10, 20, 30)), fmt))
    assert (photo.mode, photo.size) == ("RGB", (64, 48))


def test_exif_orientation_applied_and_metadata_dropped() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = _encoded(Image.new("RGB", (64, 48), (200, 10, 10)), "JPEG", exif=exif.tobytes())
    photo = load_photo(data)
    assert photo.size == (48, 64)
    assert "exif" not in photo.info


def test_logo_limits_and_alpha() -> None:
    logo = load_logo(_encoded(Image.new("RGBA", (40, 20), (255, 0, 0, 0)), "PNG"))
    assert logo.mode == "RGBA" and logo.getpixel((0, 0)) == (255, 0, 0, 0)
    with pytest.raises(UnsafeImageError) as caught:
        load_logo(_png_declaring(3000, 2000))
    assert caught.value.code == "too_many_pixels"
    with pytest.raises(UnsafeImageError) as caught:
        load_logo(b"\x89PNG" + b"\0" * (3 * 1024 * 1024))
    assert caught.value.code == "too_large"
