"""The three card templates: headline on a brand gradient, quote, and photo with overlay."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from briefcast.pipeline.render import effects, photo_fit
from briefcast.pipeline.render.encode import encode_jpeg
from briefcast.pipeline.render.fonts import CleanText, Weight, drawable, load_font
from briefcast.pipeline.render.kit import BrandKit, CardContent, Format, RenderedImage, Template
from briefcast.pipeline.render.layout import (
    RGB,
    TextBlock,
    choose_ink,
    contrast,
    draw_block,
    fit,
    gradient_samples,
    hex_rgb,
    safe_margin,
    scaled,
)
from briefcast.pipeline.render.safety import load_logo

log = logging.getLogger(__name__)
Box = tuple[int, int, int, int]
GRADIENT_FLOOR = 0.8  # without a secondary colour, the gradient ends at the primary at 80%
LOGO_RATIO = 0.09  # logo height, of the shorter side
QUOTE_MARK = "\u201c"
PHOTO_MIN_SCRIM = 0.35  # the photo's bottom scrim is always visible, for a consistent look


@dataclass
class Card:
    """A composed card before encoding; tests and the gallery look at it."""

    image: Image.Image
    effects: list[str] = field(default_factory=list)
    text_box: Box | None = None  # where glyphs were (or would have been) drawn


def _text(card: Card, text: str, family: str, weight: Weight) -> CleanText:
    clean = drawable(text, family, weight)
    if clean.dropped:
        codes = " ".join(f"U+{ord(c):04X}" for c in clean.dropped)
        card.effects.append(f"text:dropped {codes}")
    if clean.family != family:
        card.effects.append(f"font:fallback {clean.family}")
    return clean


@lru_cache(maxsize=16)
def _logo(data: bytes, height: int) -> Image.Image:
    logo = load_logo(data)
    width = max(1, round(logo.width * height / logo.height))
    return logo.resize((width, height), Image.Resampling.LANCZOS)


def _place_logo(card: Card, kit: BrandKit, margin: int) -> int:
    """Logo in the top-left corner inside the safe margin; returns the height it takes."""
    if not kit.logo_png:
        return 0
    image = card.image
    logo = _logo(kit.logo_png, round(min(image.size) * LOGO_RATIO))
    if logo.width > image.width - 2 * margin:  # a very wide logo: shrink to the safe width
        ratio = (image.width - 2 * margin) / logo.width
        logo = logo.resize((image.width - 2 * margin, max(1, round(logo.height * ratio))))
    image.paste(logo, (margin, margin), logo)
    card.effects.append("logo")
    return logo.height + margin // 2


def _scrim(image: Image.Image, box: Box, alpha: float) -> None:
    region = image.crop(box)
    image.paste(Image.blend(region, Image.new("RGB", region.size, (0, 0, 0)), alpha), box[:2])


def _padded(box: Box, pad: int, limit: Box) -> Box:
    return (
        max(limit[0], box[0] - pad),
        max(limit[1], box[1] - pad),
        min(limit[2], box[2] + pad),
        min(limit[3], box[3] + pad),
    )


def _gradient(fmt: Format, top: RGB, bottom: RGB) -> Image.Image:
    t = np.linspace(0.0, 1.0, fmt.height, dtype=np.float64)[:, None]
    column = np.round(np.array(top) + (np.array(bottom) - np.array(top)) * t).astype(np.uint8)
    strip = Image.fromarray(column.reshape(fmt.height, 1, 3), "RGB")
    return strip.resize((fmt.width, fmt.height), Image.Resampling.NEAREST)


def _headline(card: Card, fmt: Format, content: CardContent, kit: BrandKit, draw: bool) -> None:
    primary = hex_rgb(kit.primary_color)
    secondary = hex_rgb(kit.secondary_color) if kit.secondary_color else scaled(primary, 0.8)
    card.image = _gradient(fmt, primary, secondary)
    m = safe_margin(fmt.width, fmt.height)
    safe = (m, m, fmt.width - m, fmt.height - m)
    top = m + _place_logo(card, kit, m)
    clean = _text(card, content.headline, kit.font, "bold")
    box = (m, top, fmt.width - m, fmt.height - m)
    block = fit(clean.text, clean.family, "bold", (box[2] - box[0], box[3] - box[1]), _sizes(fmt))
    if not block.lines:
        card.effects.append("text:none drawable")
        return
    ink, alpha = choose_ink(gradient_samples(primary, secondary))
    _finish(card, block, box, ink, alpha, safe, draw)


def _sizes(fmt: Format, scale: float = 1.0) -> tuple[int, int]:
    return 16, max(17, round(min(fmt.width, fmt.height) * 0.09 * scale))


def _finish(
    card: Card, block: TextBlock, box: Box, ink: RGB, alpha: float, safe: Box, draw: bool
) -> None:
    """Scrim (when the ink needs one) and text, centred in box."""
    pen = ImageDraw.Draw(card.image)
    height = block.height
    top = box[1] + (box[3] - box[1] - height) // 2
    extent = (box[0], top, box[2], top + height)
    if alpha:
        _scrim(card.image, _padded(extent, safe[0] // 2, safe), alpha)
        card.effects.append(f"scrim:{alpha:.2f}")
    if draw:
        draw_block(pen, block, box, ink)
    card.text_box = extent


def _quote(card: Card, fmt: Format, content: CardContent, kit: BrandKit, draw: bool) -> None:
    background = hex_rgb(kit.primary_color)
    card.image = Image.new("RGB", (fmt.width, fmt.height), background)
    m = safe_margin(fmt.width, fmt.height)
    safe = (m, m, fmt.width - m, fmt.height - m)
    top = m + _place_logo(card, kit, m)
    width, height = fmt.width - 2 * m, fmt.height - m - top
    ink, alpha = choose_ink([background])
    mark_font = load_font("dejavu-serif", "bold", round(min(fmt.width, fmt.height) * 0.2))
    mark_box = mark_font.getbbox(QUOTE_MARK)
    mark_h = int(mark_box[3] - mark_box[1])
    gap = m // 3
    attribution = _text(card, content.attribution or "", kit.font, "regular")
    attr = fit(attribution.text, attribution.family, "regular", (width, height // 5), (14, 36))
    quote = _text(card, content.quote or content.headline, kit.font, "regular")
    room = height - mark_h - gap - (attr.height + gap if attr.lines else 0)
    body = fit(quote.text, quote.family, "regular", (width, max(0, room)), _sizes(fmt, 0.8))
    if not body.lines:
        card.effects.append("text:none drawable")
    total = mark_h + gap + body.height + (gap + attr.height if attr.lines else 0)
    y = top + (height - total) // 2
    extent = (m, y, fmt.width - m, y + total)
    if alpha:
        _scrim(card.image, _padded(extent, m // 2, safe), alpha)
        card.effects.append(f"scrim:{alpha:.2f}")
    if draw:
        pen = ImageDraw.Draw(card.image)
        x = round(fmt.width / 2 - (mark_box[0] + mark_box[2]) / 2)
        pen.text((x, y - int(mark_box[1])), QUOTE_MARK, font=mark_font, fill=ink)
        y += mark_h + gap
        draw_block(pen, body, (m, y, fmt.width - m, y + body.height), ink, valign="top")
        if attr.lines:
            y += body.height + gap
            draw_block(pen, attr, (m, y, fmt.width - m, y + attr.height), ink)
    card.text_box = extent


def _photo(
    card: Card, fmt: Format, content: CardContent, kit: BrandKit, photo: Image.Image, draw: bool
) -> None:
    rgb = photo_fit.cover(photo, fmt.width, fmt.height, card.effects)
    if kit.grade:
        if kit.grade in effects.LOOKS:
            rgb = effects.grade(rgb, kit.grade)
            card.effects.append(f"grade:{kit.grade}")
        else:
            card.effects.append(f"grade:skipped (unknown look {kit.grade!r})")
    m = safe_margin(fmt.width, fmt.height)
    clean = _text(card, content.headline, kit.font, "bold")
    box = (m, round(fmt.height * 0.45), fmt.width - m, fmt.height - m)
    block = fit(clean.text, clean.family, "bold", (box[2] - box[0], box[3] - box[1]), _sizes(fmt))
    text_top = box[3] - block.height if block.lines else fmt.height - m
    rgb = effects.vignette(rgb)
    card.effects.append("vignette")
    if block.lines:
        rgb = effects.blur_below(rgb, text_top - m // 2)
        card.effects.append("blur:text-area")
    # The scrim must hold white ink at the target against the brightest pixel behind the text.
    behind = rgb[max(0, text_top - m // 2) : fmt.height - m, m : fmt.width - m]
    brightest = int(behind.max()) if behind.size else 255
    alpha = PHOTO_MIN_SCRIM
    while alpha < 1 and contrast((255,) * 3, scaled((brightest,) * 3, 1 - alpha)) < 4.7:
        alpha += 0.05
    rgb = effects.darken_below(rgb, max(0, text_top - 3 * m), text_top - m // 2, min(alpha, 1.0))
    card.effects.append(f"scrim:{min(alpha, 1.0):.2f}")
    card.image = Image.fromarray(rgb, "RGB")
    _place_logo(card, kit, m)
    if not block.lines:
        card.effects.append("text:none drawable")
        return
    if draw:
        draw_block(ImageDraw.Draw(card.image), block, box, (255, 255, 255), valign="bottom")
    card.text_box = (box[0], text_top, box[2], box[3])


def compose(
    template: Template,
    fmt: Format,
    content: CardContent,
    kit: BrandKit,
    photo: Image.Image | None = None,
    *,
    draw_text: bool = True,
) -> Card:
    """The card as pixels; draw_text=False gives the same card without glyphs (for measuring)."""
    card = Card(Image.new("RGB", (fmt.width, fmt.height)))
    if template == "headline":
        _headline(card, fmt, content, kit, draw_text)
    elif template == "quote":
        _quote(card, fmt, content, kit, draw_text)
    elif template == "photo":
        if photo is None:
            raise ValueError("the photo template needs a photo")
        _photo(card, fmt, content, kit, photo, draw_text)
    else:
        raise ValueError(f"unknown template {template!r}")
    return card


def _alt_text(template: Template, content: CardContent) -> str:
    if content.alt_text.strip():
        return content.alt_text.strip()
    if template == "quote":
        said = content.quote or content.headline
        return f"Quote: \u201c{said}\u201d" + (
            f" {content.attribution}" if content.attribution else ""
        )
    prefix = "Photo with the headline" if template == "photo" else "Card reading"
    return f"{prefix}: {content.headline}"


def render_card(
    template: Template,
    fmt: Format,
    content: CardContent,
    kit: BrandKit,
    photo: Image.Image | None = None,
) -> RenderedImage:
    """One card, encoded to the format's spec (JPEG, exact size, no metadata, under the limit)."""
    card = compose(template, fmt, content, kit, photo)
    data, quality = encode_jpeg(card.image, fmt)
    card.effects.append(f"jpeg:q{quality}")
    return RenderedImage(data, fmt.width, fmt.height, _alt_text(template, content), card.effects)
