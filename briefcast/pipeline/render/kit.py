"""What a render needs, as plain values: the brand kit, the words, the format, a photo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeGuard

Template = Literal["headline", "quote", "photo"]
TEMPLATES: tuple[Template, ...] = ("headline", "quote", "photo")


def is_template(name: str) -> TypeGuard[Template]:
    return name in TEMPLATES


@dataclass(frozen=True)
class Format:
    name: str
    platform: str
    width: int
    height: int
    max_bytes: int


# Instagram (docs/contracts §2.9: 4:5 portrait, square; 8 MB) and LinkedIn's shared-image size
# (5 MB).
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("instagram_portrait", "instagram", 1080, 1350, 8 * 1024 * 1024),
        Format("instagram_square", "instagram", 1080, 1080, 8 * 1024 * 1024),
        Format("linkedin", "linkedin", 1200, 627, 5 * 1024 * 1024),
    )
}
# The format each platform's post uses.
DEFAULT_FORMAT = {"instagram": "instagram_portrait", "linkedin": "linkedin"}


@dataclass(frozen=True)
class BrandKit:
    primary_color: str = "#1F4E79"  # "#RRGGBB"
    secondary_color: str | None = None  # gradient end; None: the primary, darkened
    font: str = "dejavu-sans"  # one of the shipped families (render/fonts.py)
    logo_png: bytes | None = None  # already validated and decoded-safe (render/safety.py)
    grade: str | None = None  # a colour-grading look for photos (render/effects.py)


@dataclass(frozen=True)
class CardContent:
    headline: str
    quote: str | None = None  # the quote template's text; defaults to the headline
    attribution: str | None = None  # "— Jane Doe, CEO"
    alt_text: str = ""


@dataclass
class RenderedImage:
    data: bytes  # JPEG, sRGB, no metadata
    width: int
    height: int
    alt_text: str
    effects: list[str] = field(default_factory=list)  # effects applied, and skipped with why
