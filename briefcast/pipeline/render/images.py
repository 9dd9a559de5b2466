"""Compatibility entry point for the render service: a headline card per platform.

The renderer lives in templates.py (render_card); this keeps the older call working until the
service switches over.
"""

from __future__ import annotations

from briefcast.pipeline.render.kit import (
    DEFAULT_FORMAT,
    FORMATS,
    BrandKit,
    CardContent,
    RenderedImage,
)
from briefcast.pipeline.render.layout import MARGIN_RATIO, choose_ink, contrast
from briefcast.pipeline.render.templates import render_card

# Each platform's default post size, as the older API exposed it.
SIZES: dict[str, tuple[int, int]] = {
    platform: (FORMATS[name].width, FORMATS[name].height)
    for platform, name in DEFAULT_FORMAT.items()
}

__all__ = [
    "MARGIN_RATIO",
    "SIZES",
    "RenderedImage",
    "choose_ink",
    "contrast",
    "render_headline_card",
]


def render_headline_card(headline: str, platform: str, brand_color: str) -> RenderedImage:
    """The headline template in the platform's default format; KeyError for unknown platforms."""
    fmt = FORMATS[DEFAULT_FORMAT[platform]]
    content = CardContent(headline=headline, alt_text=headline)
    return render_card("headline", fmt, content, BrandKit(primary_color=brand_color))
