"""Pillow rendering: a headline card on the brand colour, sized for each platform."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# Instagram's 4:5 portrait and LinkedIn's shared-image size.
SIZES: dict[str, tuple[int, int]] = {"instagram": (1080, 1350), "linkedin": (1200, 627)}
MARGIN_RATIO = 0.08
JPEG_QUALITY = 88
# DejaVu Sans Bold ships with the package (licence beside it): wide Latin, Greek and
# Cyrillic coverage, where Pillow's built-in font lacks even accented letters.
HEADLINE_FONT = Path(__file__).resolve().parents[2] / "assets" / "fonts" / "DejaVuSans-Bold.ttf"


@lru_cache(maxsize=64)
def headline_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(HEADLINE_FONT), size)


@dataclass(frozen=True)
class RenderedImage:
    data: bytes
    width: int
    height: int


def _rgb(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return r, g, b


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_color_for(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or near-black, whichever contrasts more with the background."""
    bg = _luminance(background)
    white = (1.05) / (bg + 0.05)
    dark = (bg + 0.05) / (_luminance((17, 17, 17)) + 0.05)
    return (255, 255, 255) if white >= dark else (17, 17, 17)


def _gradient(size: tuple[int, int], color: tuple[int, int, int]) -> Image.Image:
    """The brand colour, darkening evenly to 80% towards the bottom."""
    width, height = size
    ramp = Image.linear_gradient("L").resize((1, height))  # 0 at the top .. 255 at the bottom
    dark = Image.new("RGB", (1, height), tuple(int(c * 0.8) for c in color))
    column = Image.composite(dark, Image.new("RGB", (1, height), color), ramp)
    return column.resize((width, height))


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, max_width: float
) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _fit_headline(
    draw: ImageDraw.ImageDraw, text: str, box: tuple[float, float]
) -> tuple[ImageFont.FreeTypeFont, list[str], int]:
    """The largest font size at which the wrapped headline fits the box."""
    max_width, max_height = box
    for size in range(96, 17, -4):
        font = headline_font(size)
        lines = _wrap(draw, text, font, max_width)
        line_height = int(size * 1.2)
        widest = max(draw.textlength(line, font=font) for line in lines)
        if widest <= max_width and line_height * len(lines) <= max_height:
            return font, lines, line_height
    font = headline_font(18)
    return font, _wrap(draw, text, font, max_width), int(18 * 1.2)


def render_headline_card(headline: str, platform: str, brand_color: str) -> RenderedImage:
    size = SIZES[platform]
    background = _rgb(brand_color)
    image = _gradient(size, background)
    draw = ImageDraw.Draw(image)
    margin = int(min(size) * MARGIN_RATIO)
    box = (size[0] - 2 * margin, size[1] - 2 * margin)
    font, lines, line_height = _fit_headline(draw, headline, box)
    ink = text_color_for(background)
    y = (size[1] - line_height * len(lines)) // 2
    for line in lines:
        x = (size[0] - draw.textlength(line, font=font)) / 2
        draw.text((x, y), line, font=font, fill=ink)
        y += line_height
    out = io.BytesIO()
    # No EXIF is written; Pillow's JPEG encoder emits plain sRGB-assumed baseline data.
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return RenderedImage(data=out.getvalue(), width=size[0], height=size[1])
