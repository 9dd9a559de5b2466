"""Output: exact size, plain sRGB JPEG, no metadata, under the format's byte limit."""

from __future__ import annotations

import io

from PIL import Image

from briefcast.pipeline.render.kit import Format

QUALITIES = (90, 85, 80, 75, 70, 60, 50, 40, 30)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any mode to RGB; transparency goes onto white (JPEG has no alpha)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def encode_jpeg(image: Image.Image, fmt: Format) -> tuple[bytes, int]:
    """JPEG bytes and the quality used: the highest in QUALITIES that fits fmt.max_bytes.

    Nothing from image.info is passed on, so no EXIF, ICC or comment rides along;
    a JPEG without a profile is read as sRGB, which is what the pixels are.
    """
    if image.size != (fmt.width, fmt.height):
        raise ValueError(f"image is {image.size}, format {fmt.name} needs {fmt.width}x{fmt.height}")
    clean = to_rgb(image)
    if clean.info:  # Pillow could carry an ICC profile or EXIF from info into the file
        clean = clean.copy()
        clean.info.clear()
    for quality in QUALITIES:
        out = io.BytesIO()
        # No Huffman optimisation pass: it halves encode time for a few percent of bytes, and
        # these files are far under every platform's limit (the loop still guards the limit).
        clean.save(out, format="JPEG", quality=quality, optimize=False, subsampling="4:2:0")
        if out.tell() < fmt.max_bytes:
            return out.getvalue(), quality
    raise ValueError(f"cannot encode under {fmt.max_bytes} bytes for {fmt.name}")
