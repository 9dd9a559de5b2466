"""Every template in every format: spec, safe area and contrast measured on output pixels."""

from __future__ import annotations

import io
from functools import cache

import pytest
from PIL import Image, ImageChops

from briefcast.gallery import synthetic_photo
from briefcast.pipeline.render import templates
from briefcast.pipeline.render.encode import encode_jpeg
from briefcast.pipeline.render.kit import (
    FORMATS,
    TEMPLATES,
    BrandKit,
    CardContent,
    RenderedImage,
    Template,
)
from briefcast.pipeline.render.layout import safe_margin
from tests.unit.test_images import WCAG_AA, _band_contrast

PHOTO = synthetic_photo(2000, 1500, seed=3)
CONTENT = CardContent(
    headline="Our autumn sneaker drop is here: recycled ocean plastic, cushioned soles",
    quote="We wanted a shoe you can run in all day and feel good about all year.",
    attribution="\u2014 Jane Doe, head of design",
)
KITS = {
    "navy": BrandKit(primary_color="#1F4E79", grade="warm"),
    "yellow-serif": BrandKit(primary_color="#F4C542", font="dejavu-serif", grade="mono"),
    "grey-to-white": BrandKit(primary_color="#777777", secondary_color="#FFFFFF", grade="cool"),
}
TEXT_DIFF = 40  # JPEG noise between two encodes stays well under this; ink differs by > 100
CASES = [(t, f, k) for t in TEMPLATES for f in FORMATS for k in KITS]


@cache
def rendered(
    template: Template, fmt: str, kit: str, content: CardContent = CONTENT
) -> RenderedImage:
    return templates.render_card(template, FORMATS[fmt], content, KITS[kit], PHOTO)


@cache
def text_mask(
    template: Template, fmt: str, kit: str, content: CardContent = CONTENT
) -> Image.Image:
    """Pixels where the output differs from the same card rendered without its glyphs."""
    with_text = Image.open(io.BytesIO(rendered(template, fmt, kit, content).data)).convert("RGB")
    bare = templates.compose(template, FORMATS[fmt], content, KITS[kit], PHOTO, draw_text=False)
    bare_jpeg = Image.open(io.BytesIO(encode_jpeg(bare.image, FORMATS[fmt])[0])).convert("RGB")
    diff = ImageChops.difference(with_text, bare_jpeg).convert("L")
    return diff.point(lambda v: 255 if v > TEXT_DIFF else 0)


def assert_inside_safe_area(template: Template, fmt: str, kit: str, content: CardContent) -> None:
    box = text_mask(template, fmt, kit, content).getbbox()
    assert box is not None, "no text found on the card"
    f = FORMATS[fmt]
    m = safe_margin(f.width, f.height)
    assert m <= box[0] and m <= box[1], f"text at {box}, margin {m}"
    assert box[2] <= f.width - m and box[3] <= f.height - m, f"text at {box}, margin {m}"


@pytest.mark.parametrize(("template", "fmt", "kit"), CASES)
def test_output_meets_the_format_spec(template: Template, fmt: str, kit: str) -> None:
    result = rendered(template, fmt, kit)
    f = FORMATS[fmt]
    image = Image.open(io.BytesIO(result.data))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (f.width, f.height))
    assert (result.width, result.height) == (f.width, f.height)
    assert len(image.getexif()) == 0 and "exif" not in image.info
    assert "icc_profile" not in image.info
    assert 0 < len(result.data) < f.max_bytes
    assert result.alt_text.strip()
    assert any(e.startswith("jpeg:q") for e in result.effects)


@pytest.mark.parametrize(("template", "fmt", "kit"), CASES)
def test_text_inside_safe_area_with_aa_contrast(template: Template, fmt: str, kit: str) -> None:
    assert_inside_safe_area(template, fmt, kit, CONTENT)
    image = Image.open(io.BytesIO(rendered(template, fmt, kit).data)).convert("RGB")
    box = text_mask(template, fmt, kit).getbbox()
    assert box is not None
    step = max(4, (box[3] - box[1]) // 12)
    measured = [
        _band_contrast(image, (box[0], y, box[2], min(y + step, box[3])))
        for y in range(box[1], box[3], step)
    ]
    with_text = [c for c in measured if c is not None]
    assert with_text, "no band carries text"
    assert min(with_text) >= WCAG_AA, f"{min(with_text):.2f}:1"


HARD_TEXTS = {
    "200-chars": ("Quarterly roadmap update with delivery milestones for every team " * 4)[:200],
    "one-word": "Launch",
    "long-word": "Supercalifragilisticexpialidocious" * 4,
    "greek": "Καλωσορίσατε στο νέο μας κατάστημα",
    "cyrillic": "Добро пожаловать в наш новый магазин",
    "arabic": "مرحبا بكم في متجرنا الجديد",
    "hebrew": "ברוכים הבאים לחנות החדשה שלנו",
}


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("name", list(HARD_TEXTS))
def test_hard_texts_fit_and_draw_every_glyph(template: Template, name: str) -> None:
    content = CardContent(headline=HARD_TEXTS[name], attribution="\u2014 Ana")
    for kit in ("navy", "yellow-serif"):  # the serif falls back to Sans for Arabic and Hebrew
        result = rendered(template, "instagram_portrait", kit, content)
        assert not any(e.startswith("text:dropped") for e in result.effects), result.effects
        assert_inside_safe_area(template, "instagram_portrait", kit, content)


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize(
    ("text", "drawable", "codes"),
    [
        ("Launch day \U0001f680\U0001f389", "Launch day", "U+1F680 U+1F389"),
        ("Grand opening \u65b0\u54c1\u53d1\u5e03", "Grand opening", "U+65B0"),
        ("Thumbs \U0001f44d\U0001f3fd\u200d up", "Thumbs up", "U+1F44D U+1F3FD"),
    ],
)
def test_undrawable_characters_leave_no_boxes(
    template: Template, text: str, drawable: str, codes: str
) -> None:
    fmt, kit = FORMATS["instagram_square"], KITS["navy"]
    with_chars = templates.compose(template, fmt, CardContent(headline=text), kit, PHOTO)
    without = templates.compose(template, fmt, CardContent(headline=drawable), kit, PHOTO)
    # Same pixels as the text without them: nothing (no tofu box) was drawn in their place.
    assert ImageChops.difference(with_chars.image, without.image).getbbox() is None
    dropped = next(e for e in with_chars.effects if e.startswith("text:dropped"))
    assert dropped.startswith(f"text:dropped {codes}")


@pytest.mark.parametrize("template", TEMPLATES)
def test_nothing_drawable_renders_a_card_without_text(template: Template) -> None:
    content = CardContent(headline="\u65b0\u54c1\u53d1\u5e03 \U0001f680")
    result = templates.render_card(template, FORMATS["linkedin"], content, KITS["navy"], PHOTO)
    assert "text:none drawable" in result.effects
    assert Image.open(io.BytesIO(result.data)).size == (1200, 627)
    assert result.alt_text.strip()


def test_photo_template_needs_a_photo() -> None:
    with pytest.raises(ValueError, match="photo"):
        templates.render_card("photo", FORMATS["linkedin"], CONTENT, KITS["navy"], None)


def test_logo_sits_in_the_corner_inside_the_margin() -> None:
    logo = Image.new("RGBA", (200, 100), (255, 0, 0, 255))
    buf = io.BytesIO()
    logo.save(buf, format="PNG")
    kit = BrandKit(primary_color="#1F4E79", logo_png=buf.getvalue())
    fmt = FORMATS["instagram_portrait"]
    card = templates.compose("headline", fmt, CONTENT, kit)
    m = safe_margin(fmt.width, fmt.height)
    red = card.image.getpixel((m + 5, m + 5))
    assert red == (255, 0, 0)
    assert card.image.getpixel((m - 2, m - 2)) != (255, 0, 0)
    assert card.text_box is not None and card.text_box[1] > m + 90  # text clears the logo
    assert "logo" in card.effects
