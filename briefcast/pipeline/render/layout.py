"""Colour contrast, and text that wraps and shrinks until it fits its box exactly.

Fitting measures real glyph boxes (font.getbbox), not nominal line heights, so accents,
descenders and shaped scripts stay inside the box, and the box sits inside the safe margin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import ImageDraw, ImageFont

from briefcast.pipeline.render.fonts import Weight, load_font

RGB = tuple[int, int, int]
MARGIN_RATIO = 0.08  # safe margin: 8% of the shorter side, clear of platform UI and crops
MIN_CONTRAST = 4.5  # WCAG AA for text
# Aim higher, so JPEG ringing around the glyphs cannot pull the measured ratio under 4.5.
TARGET_CONTRAST = 4.7
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)
LINE_SPACING = 1.2


def safe_margin(width: int, height: int) -> int:
    return int(min(width, height) * MARGIN_RATIO)


def hex_rgb(value: str) -> RGB:
    """'#RRGGBB' (or 'RRGGBB', or '#RGB') to a tuple; ValueError for anything else."""
    digits = value.strip().lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    if len(digits) != 6:
        raise ValueError(f"not a #RRGGBB colour: {value!r}")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def scaled(color: RGB, factor: float) -> RGB:
    r, g, b = (round(c * factor) for c in color)
    return r, g, b


def mix(a: RGB, b: RGB, t: float) -> RGB:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return r, g, bl


def luminance(rgb: RGB) -> float:
    """WCAG 2.x relative luminance."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def gradient_samples(top: RGB, bottom: RGB, n: int = 17) -> list[RGB]:
    # Luminance along an sRGB blend can dip below both ends (red to green), so sample it.
    return [mix(top, bottom, i / (n - 1)) for i in range(n)]


def choose_ink(backgrounds: Sequence[RGB]) -> tuple[RGB, float]:
    """The ink for text over all these colours, and the black scrim opacity it needs (0: none).

    White or black, whichever clears the target against every colour; where neither does
    (mid-tones, or a gradient spanning light to dark), white on a black scrim just dark enough.
    """
    best = max((WHITE, BLACK), key=lambda ink: min(contrast(ink, bg) for bg in backgrounds))
    if min(contrast(best, bg) for bg in backgrounds) >= TARGET_CONTRAST:
        return best, 0.0
    alpha = 0.0
    while min(contrast(WHITE, scaled(bg, 1 - alpha)) for bg in backgrounds) < TARGET_CONTRAST:
        alpha += 0.05
    return WHITE, round(min(alpha, 1.0), 2)


@dataclass(frozen=True)
class TextBlock:
    font: ImageFont.FreeTypeFont
    lines: tuple[str, ...]
    line_height: int
    boxes: tuple[tuple[int, int, int, int], ...]  # each line's glyph box at origin (0, 0)

    @property
    def width(self) -> int:
        return max((b[2] - b[0] for b in self.boxes), default=0)

    @property
    def height(self) -> int:
        if not self.lines:
            return 0
        return self.bottom - self.top

    @property
    def top(self) -> int:
        return min((i * self.line_height + b[1] for i, b in enumerate(self.boxes)), default=0)

    @property
    def bottom(self) -> int:
        return max((i * self.line_height + b[3] for i, b in enumerate(self.boxes)), default=0)


def _break_word(word: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Split a word wider than the line into pieces that fit (URLs, long compounds)."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and font.getlength(current + char) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if font.getlength(word) > max_width:
            *whole, word = _break_word(word, font, max_width)
            if current:
                lines.append(current)
            lines.extend(whole)
            current = ""
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= max_width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def layout(text: str, family: str, weight: Weight, size: int, max_width: int) -> TextBlock:
    font = load_font(family, weight, size)
    lines = tuple(wrap(text, font, max_width))
    boxes = tuple(_glyph_box(font, line) for line in lines)
    return TextBlock(font, lines, round(size * LINE_SPACING), boxes)


def _glyph_box(font: ImageFont.FreeTypeFont, line: str) -> tuple[int, int, int, int]:
    left, top, right, bottom = font.getbbox(line)
    return int(left), int(top), int(right), int(bottom)


def fits(block: TextBlock, box: tuple[int, int]) -> bool:
    return block.width <= box[0] and block.height <= box[1]


def fit(
    text: str, family: str, weight: Weight, box: tuple[int, int], sizes: tuple[int, int]
) -> TextBlock:
    """The largest size in [min, max] at which the wrapped text fits the box (binary search).

    At the minimum size a text that still does not fit is cut to the lines that do, with an
    ellipsis: the card never overflows; the caption carries the full words.
    """
    low, high = sizes
    # Start the search near the size at which the text's area fills the box (glyphs are about
    # 0.6 em wide, lines 1.2 em): fewer layouts to try; the bounds keep it exact.
    if text:
        guess = int((box[0] * box[1] / (len(text) * 0.6 * LINE_SPACING)) ** 0.5)
        low, high = max(low, min(high, guess // 2)), min(high, max(low, guess * 3 // 2))
        if low > sizes[0] and fits(layout(text, family, weight, low, box[0]), box) is False:
            low, high = sizes[0], low - 1
    best: TextBlock | None = None
    while low <= high:
        mid = (low + high) // 2
        block = layout(text, family, weight, mid, box[0])
        if fits(block, box):
            best, low = block, mid + 1
        else:
            high = mid - 1
    if best is not None:
        return best
    block = layout(text, family, weight, sizes[0], box[0])
    while block.lines and not fits(block, box):
        kept = " ".join(block.lines[:-1]).rstrip(" .,;:") + "\u2026"
        block = layout(kept if len(block.lines) > 1 else "", family, weight, sizes[0], box[0])
    return block


def draw_block(
    draw: ImageDraw.ImageDraw,
    block: TextBlock,
    box: tuple[int, int, int, int],
    ink: RGB,
    *,
    valign: str = "middle",
) -> tuple[int, int, int, int]:
    """Draw the lines centred in box (left, top, right, bottom); returns the glyphs' extent."""
    left, top, right, bottom = box
    if valign == "bottom":
        y0 = bottom - block.bottom
    elif valign == "top":
        y0 = top - block.top
    else:
        y0 = top + (bottom - top - block.height) // 2 - block.top
    cx = (left + right) / 2
    for i, (line, b) in enumerate(zip(block.lines, block.boxes, strict=True)):
        x = round(cx - (b[0] + b[2]) / 2)
        draw.text((x, y0 + i * block.line_height), line, font=block.font, fill=ink)
    return left, y0 + block.top, right, y0 + block.bottom


def union(boxes: Iterable[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    ls, ts, rs, bs = zip(*boxes, strict=True)
    return min(ls), min(ts), max(rs), max(bs)
