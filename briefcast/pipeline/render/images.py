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


MIN_CONTRAST = 4.5  # WCAG AA for text
# Aim a little higher, so JPEG ringing around the glyphs cannot pull the measured ratio under.
TARGET_CONTRAST = 4.7
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GRADIENT_FLOOR = 0.8  # the bottom of the card is the brand colour at 80%


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _scaled(color: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    r, g, b = (int(c * factor) for c in color)
    return r, g, b


def choose_ink(background: tuple[int, int, int]) -> tuple[tuple[int, int, int], float]:
    """The text colour, and how dark a scrim behind the text must be (0 for none).

    The ink must clear the target against both ends of the gradient; where neither white nor
    black does (mid-tones), white text goes on a black scrim just opaque enough.
    """
    ends = (background, _scaled(background, GRADIENT_FLOOR))
    best = max((WHITE, BLACK), key=lambda ink: min(contrast(ink, end) for end in ends))
    if min(contrast(best, end) for end in ends) >= TARGET_CONTRAST:
        return best, 0.0
    alpha = 0.0
    while min(contrast(WHITE, _scaled(end, 1 - alpha)) for end in ends) < TARGET_CONTRAST:
        alpha += 0.05
    return WHITE, round(alpha, 2)


def _gradient(size: tuple[int, int], color: tuple[int, int, int]) -> Image.Image:
    """The brand colour, darkening evenly to GRADIENT_FLOOR towards the bottom."""
    width, height = size
    ramp = Image.linear_gradient("L").resize((1, height))  # 0 at the top .. 255 at the bottom
    dark = Image.new("RGB", (1, height), _scaled(color, GRADIENT_FLOOR))
    column = Image.composite(dark, Image.new("RGB", (1, height), color), ramp)
    return column.resize((width, height))


def _break_word(
    draw: ImageDraw.ImageDraw, word: str, font: ImageFont.FreeTypeFont, max_width: float
) -> list[str]:
    """Split a word wider than the line into pieces that fit (URLs, long compounds)."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and draw.textlength(current + char, font=font) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, max_width: float
) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if draw.textlength(word, font=font) > max_width:
            *whole, word = _break_word(draw, word, font, max_width)
            if current:
                lines.append(current)
            lines.extend(whole)
            current = ""
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= max_width:
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
        if line_height * len(lines) <= max_height:
            return font, lines, line_height
    font = headline_font(18)
    return font, _wrap(draw, text, font, max_width), int(18 * 1.2)


def _apply_scrim(image: Image.Image, box: tuple[int, int, int, int], alpha: float) -> None:
    region = image.crop(box)
    image.paste(Image.blend(region, Image.new("RGB", region.size, BLACK), alpha), box[:2])


def render_headline_card(headline: str, platform: str, brand_color: str) -> RenderedImage:
    size = SIZES[platform]
    background = _rgb(brand_color)
    image = _gradient(size, background)
    draw = ImageDraw.Draw(image)
    margin = int(min(size) * MARGIN_RATIO)
    box = (size[0] - 2 * margin, size[1] - 2 * margin)
    font, lines, line_height = _fit_headline(draw, headline, box)
    ink, scrim = choose_ink(background)
    top = (size[1] - line_height * len(lines)) // 2
    bottom = top + line_height * len(lines)
    if scrim and lines:
        pad = margin // 2  # around the text, but never into the margins
        scrim_box = (
            margin,
            max(margin, top - pad),
            size[0] - margin,
            min(size[1] - margin, bottom + pad),
        )
        _apply_scrim(image, scrim_box, scrim)
    y = top
    for line in lines:
        x = (size[0] - draw.textlength(line, font=font)) / 2
        draw.text((x, y), line, font=font, fill=ink)
        y += line_height
    out = io.BytesIO()
    # No EXIF is written; Pillow's JPEG encoder emits plain sRGB-assumed baseline data.
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return RenderedImage(data=out.getvalue(), width=size[0], height=size[1])
