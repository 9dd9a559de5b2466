"""Decoding untrusted uploads: size, format and pixel-count limits checked before decoding.

Pillow reads only the header on Image.open, so the declared size is checked before .load()
allocates anything. Pillow's own decompression-bomb guard (Image.MAX_IMAGE_PIXELS) stays as
it is for the rest of the process; its error is caught and reported like ours.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_PIXELS = 4_000_000
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class UnsafeImageError(ValueError):
    """An upload refused; `code` is stable for clients, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _open(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    if len(data) > max_bytes:
        raise UnsafeImageError("too_large", f"{len(data)} bytes; the limit is {max_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # header only
    except Image.DecompressionBombError as exc:
        raise UnsafeImageError("too_many_pixels", str(exc)) from exc
    except Exception as exc:  # UnidentifiedImageError, or any parser failure on a header
        raise UnsafeImageError("not_an_image", "not a readable image") from exc
    if image.format not in ALLOWED_FORMATS:
        raise UnsafeImageError(
            "format_not_allowed", f"{image.format}; allowed: {', '.join(ALLOWED_FORMATS)}"
        )
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise UnsafeImageError(
            "too_many_pixels", f"{width}x{height} declared; the limit is {max_pixels} pixels"
        )
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise UnsafeImageError("too_many_pixels", str(exc)) from exc
    except Exception as exc:  # truncated data, bad chunks, decoder errors: all "corrupt"
        raise UnsafeImageError("corrupt", f"cannot decode the {image.format}: {exc}") from exc
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert from an embedded colour profile to sRGB, then drop the profile."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=out_mode)
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the pixels as they are, read as sRGB
    image.info.pop("icc_profile", None)
    return image


def _oriented(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # a malformed EXIF block must not sink an otherwise fine photo
        return image


def load_photo(
    data: bytes, *, max_bytes: int = PHOTO_MAX_BYTES, max_pixels: int = PHOTO_MAX_PIXELS
) -> Image.Image:
    """A user photo as an upright RGB (sRGB) image, or UnsafeImageError."""
    image = _oriented(_open(data, max_bytes, max_pixels))
    image = _to_srgb(image)
    if image.mode != "RGB":
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    image.info.clear()
    return image


def load_logo(
    data: bytes, *, max_bytes: int = LOGO_MAX_BYTES, max_pixels: int = LOGO_MAX_PIXELS
) -> Image.Image:
    """A brand logo as an upright RGBA image (transparency kept), or UnsafeImageError."""
    image = _to_srgb(_oriented(_open(data, max_bytes, max_pixels))).convert("RGBA")
    image.info.clear()
    return image


@dataclass(frozen=True)
class CleanImage:
    """An upload re-encoded from its pixels alone: what is stored and served."""

    data: bytes
    format: str  # "jpeg", "png" or "webp", as uploaded
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"

    @property
    def suffix(self) -> str:
        return {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}[self.format]


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _pixels_only(image: Image.Image, fmt: str) -> Image.Image:
    """A new image holding only the pixels: no EXIF, GPS, XMP, ICC profile, comments, text."""
    if fmt == "JPEG":
        mode = "L" if image.mode in ("1", "L") else "RGB"
    elif _has_alpha(image):
        mode = "RGBA"
    else:
        mode = "L" if fmt == "PNG" and image.mode in ("1", "L") else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    clean = Image.new(mode, image.size)
    clean.paste(image, (0, 0))
    return clean


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=quality)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=quality)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def clean_upload(
    data: bytes, *, max_bytes: int = PHOTO_MAX_BYTES, max_pixels: int = PHOTO_MAX_PIXELS
) -> CleanImage:
    """Check an upload, stand it upright, convert it to sRGB and re-encode it without metadata.

    The format stays the one uploaded (JPEG, PNG or WebP). EXIF (with any GPS position), XMP,
    the colour profile and comments are not carried over; the EXIF orientation is applied to
    the pixels first, so the picture still stands the right way.
    """
    image = _open(data, max_bytes, max_pixels)
    fmt = str(image.format)
    image = _to_srgb(_oriented(image))
    clean = _pixels_only(image, fmt)
    for quality in (90, 80, 70):  # a lossy re-encode can outgrow a tightly compressed original
        encoded = _encode(clean, fmt, quality)
        if len(encoded) <= max_bytes or fmt == "PNG":
            break
    if len(encoded) > max_bytes:
        raise UnsafeImageError(
            "too_large", f"{len(encoded)} bytes once re-encoded; the limit is {max_bytes}"
        )
    return CleanImage(encoded, fmt.lower(), clean.width, clean.height)
