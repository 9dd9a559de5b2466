"""The shipped font families, and keeping image text to the glyphs a font can really draw.

A character missing from a font is drawn as an empty box ("tofu"). Each font's cmap is read
once with fontTools; text is cleaned against it before layout, and what was dropped is
reported so the caller can record it (the caption keeps the original text, emoji and all).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from fontTools.ttLib import TTFont
from PIL import ImageFont

Weight = Literal["bold", "regular"]
FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"  # licence: DejaVu-LICENSE.txt
FAMILIES: dict[str, dict[Weight, str]] = {
    "dejavu-sans": {"bold": "DejaVuSans-Bold.ttf", "regular": "DejaVuSans.ttf"},
    "dejavu-serif": {"bold": "DejaVuSerif-Bold.ttf", "regular": "DejaVuSerif.ttf"},
}
DEFAULT_FAMILY = "dejavu-sans"
# DejaVu Serif lacks Arabic and Hebrew; DejaVu Sans has them, so it is the fallback family.
FALLBACK_FAMILY = "dejavu-sans"

# Close equivalents for characters a font may lack; "" drops silently (joiners, selectors).
EQUIVALENTS = {
    "\u00a0": " ",
    "\u2007": " ",
    "\u202f": " ",
    "\u2011": "-",
    "\u2212": "-",
    "\u2015": "\u2014",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\ufe0e": "",
    "\ufe0f": "",
    "\u2060": "",
    "\ufeff": "",
}


@dataclass(frozen=True)
class CleanText:
    text: str  # what will be drawn
    dropped: tuple[str, ...]  # characters the font lacks, in order of first appearance
    family: str  # the family that draws it (the brand's, or the fallback)


def font_path(family: str, weight: Weight = "bold") -> Path:
    """The font file of a family; unknown families get the default (a kit typo must not crash)."""
    files = FAMILIES.get(family, FAMILIES[DEFAULT_FAMILY])
    return FONT_DIR / files[weight]


@lru_cache(maxsize=256)
def load_font(family: str, weight: Weight, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(family, weight)), size)


@lru_cache(maxsize=8)
def coverage(family: str, weight: Weight = "bold") -> frozenset[int]:
    """Code points the font maps to a glyph (its best Unicode cmap), read once."""
    with TTFont(str(font_path(family, weight)), lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def _clean(text: str, cmap: frozenset[int]) -> tuple[str, tuple[str, ...]]:
    out: list[str] = []
    dropped: dict[str, None] = {}
    for char in unicodedata.normalize("NFC", text):
        if char in "\n\t\r":
            char = " "
        if char in EQUIVALENTS:  # first: a font may map a joiner that would split words
            out.append(EQUIVALENTS[char])
            continue
        if ord(char) in cmap or char == " ":
            out.append(char)
            continue
        if unicodedata.category(char) in ("Cc", "Cf"):
            continue  # controls and format marks draw nothing anyway
        dropped[char] = None
    return " ".join("".join(out).split()), tuple(dropped)


def drawable(text: str, family: str, weight: Weight = "bold") -> CleanText:
    """The text as the family can draw it; falls back to DejaVu Sans if that drops less."""
    family = family if family in FAMILIES else DEFAULT_FAMILY
    cleaned, dropped = _clean(text, coverage(family, weight))
    if dropped and family != FALLBACK_FAMILY:
        alt, alt_dropped = _clean(text, coverage(FALLBACK_FAMILY, weight))
        if len(alt_dropped) < len(dropped):
            return CleanText(alt, alt_dropped, FALLBACK_FAMILY)
    return CleanText(cleaned, dropped, family)
