"""Headline cards in every format: size, metadata, weight, legibility, safe margins, on pixels."""

from __future__ import annotations

import io
from functools import cache, lru_cache
from typing import Any, cast

import pytest
from PIL import Image, ImageChops, ImageDraw

from briefcast.pipeline.render.images import MARGIN_RATIO, SIZES, render_headline_card
from briefcast.pipeline.render.kit import FORMATS, BrandKit, CardContent
from briefcast.pipeline.render.templates import render_card

MAX_BYTES = {name: fmt.max_bytes for name, fmt in FORMATS.items()}
PLATFORMS = sorted(FORMATS)  # format names: every format is checked
FORMAT_SIZES = {name: (fmt.width, fmt.height) for name, fmt in FORMATS.items()}
HEADLINE = "Spring launch: our new single-origin espresso line"
LONG_HEADLINE = ("Quarterly roadmap update with delivery milestones for every team " * 4)[:200]
LONG_WORD = "Supercalifragilisticexpialidocious" * 4
WCAG_AA = 4.5
# JPEG noise around the gradient stays within a few levels; ink differs by > 100.
BACKGROUND_TOLERANCE = 40

BRAND_COLOURS = {
    "dark-navy": "#1F4E79",
    "black": "#000000",
    "white": "#FFFFFF",
    "light-grey": "#EEEEEE",
    "mid-grey": "#777777",
    "yellow": "#F4C542",
    "red": "#FF0000",
}


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    r, g, b = value[:3]
    return r, g, b


def hex_rgb(value: str) -> tuple[int, int, int]:
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


@cache
def relative_luminance(rgb: tuple[int, ...]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(l1: float, l2: float) -> float:
    high, low = max(l1, l2), min(l1, l2)
    return (high + 0.05) / (low + 0.05)


@lru_cache(maxsize=64)
def render(headline: str, platform: str, colour: str) -> tuple[bytes, int, int]:
    content = CardContent(headline=headline, alt_text=headline)
    image = render_card("headline", FORMATS[platform], content, BrandKit(primary_color=colour))
    assert image.alt_text == headline
    return image.data, image.width, image.height


def decoded(headline: str, platform: str, colour: str) -> Image.Image:
    data, _, _ = render(headline, platform, colour)
    return Image.open(io.BytesIO(data))


def margin(platform: str) -> int:
    return int(min(FORMAT_SIZES[platform]) * MARGIN_RATIO)


def expected_background(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    """The documented background: brand colour at the top, darkening evenly to 80% at the bottom."""
    width, height = size
    column = Image.new("RGB", (1, height))
    column.putdata(
        [tuple(round(c * (1 - 0.2 * y / (height - 1))) for c in colour) for y in range(height)]
    )
    return column.resize((width, height), Image.Resampling.NEAREST)


def ink_mask(image: Image.Image, colour: str) -> Image.Image:
    """1-bit mask of pixels far from the expected background (the drawn text)."""
    diff = ImageChops.difference(
        image.convert("RGB"), expected_background(image.size, hex_rgb(colour))
    )
    grey = diff.convert("L").point(lambda v: 255 if v > BACKGROUND_TOLERANCE else 0)
    return grey


def ink_extremes(image: Image.Image, mask: Image.Image) -> tuple[float, float]:
    """Darkest and lightest luminance among the text's pixels, each reached by a tenth of them.

    Counting a tenth of the glyph pixels reads the solid ink, not a lone JPEG overshoot.
    """
    sentinel = (1, 2, 3)
    only_ink = Image.composite(image, Image.new("RGB", image.size, sentinel), mask.convert("L"))
    colours = only_ink.getcolors(image.width * image.height)
    assert colours is not None
    ranked = sorted((relative_luminance(rgb), n) for n, rgb in colours if rgb != sentinel)
    at_least = max(1, sum(n for _, n in ranked) // 10)

    def kth(items: list[tuple[float, int]]) -> float:
        seen = 0
        for lum, count in items:
            seen += count
            if seen >= at_least:
                return lum
        return items[-1][0]

    return kth(ranked), kth(ranked[::-1])


# --- format -------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_dimensions_format_mode_and_weight(platform: str) -> None:
    data, width, height = render(HEADLINE, platform, "#1F4E79")
    assert (width, height) == FORMAT_SIZES[platform]
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.size == FORMAT_SIZES[platform]
    assert image.mode == "RGB"
    assert len(image.getexif()) == 0
    assert "exif" not in image.info
    assert "icc_profile" not in image.info
    assert 0 < len(data) < MAX_BYTES[platform]


def test_platform_sizes() -> None:
    # Instagram 4:5 portrait at 1080 wide; LinkedIn's 1.91:1 shared-image size.
    assert SIZES["instagram"] == (1080, 1350)
    assert SIZES["linkedin"] == (1200, 627)
    assert 0 < MARGIN_RATIO < 0.5


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("headline", [LONG_HEADLINE, LONG_WORD, "Café crème à Zürich"])
def test_worst_case_headlines_keep_format_and_weight(platform: str, headline: str) -> None:
    data, width, height = render(headline, platform, "#F4C542")
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", FORMAT_SIZES[platform])
    assert (width, height) == FORMAT_SIZES[platform]
    assert len(image.getexif()) == 0
    assert len(data) < MAX_BYTES[platform]


def test_deterministic_output() -> None:
    # The compatibility entry point is the headline template in the platform's default format.
    assert (
        render_headline_card(HEADLINE, "linkedin", "#1F4E79").data
        == render(HEADLINE, "linkedin", "#1F4E79")[0]
    )
    compat = render_headline_card(HEADLINE, "instagram", "#1F4E79")
    assert compat.data == render(HEADLINE, "instagram_portrait", "#1F4E79")[0]
    assert (compat.width, compat.height) == SIZES["instagram"]


def test_unknown_platform_refused() -> None:
    with pytest.raises(KeyError):
        render_headline_card(HEADLINE, "myspace", "#1F4E79")


# --- background and text ------------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("colour", ["#1F4E79", "#F4C542", "#FFFFFF"])
def test_background_is_brand_gradient(platform: str, colour: str) -> None:
    image = decoded(HEADLINE, platform, colour).convert("RGB")
    height = image.height
    rgb = hex_rgb(colour)
    top, bottom = pixel(image, (2, 2)), pixel(image, (2, height - 3))
    for got, want in zip(top, rgb, strict=True):
        assert abs(got - want) <= 6
    for got, want in zip(bottom, rgb, strict=True):
        assert abs(got - round(want * 0.8)) <= 6


@pytest.mark.parametrize("platform", PLATFORMS)
def test_text_is_drawn_in_the_middle(platform: str) -> None:
    image = decoded(HEADLINE, platform, "#1F4E79")
    box = ink_mask(image, "#1F4E79").getbbox()
    assert box is not None, "no text found on the card"
    left, top, right, bottom = box
    width, height = image.size
    assert abs((left + right) / 2 - width / 2) < width * 0.05
    assert abs((top + bottom) / 2 - height / 2) < height * 0.1


def _weighted_median(items: list[tuple[float, int]]) -> float:
    half, seen = sum(n for _, n in items) / 2, 0
    for lum, count in items:
        seen += count
        if seen >= half:
            return lum
    return items[-1][0]


def _band_contrast(image: Image.Image, box: tuple[int, int, int, int]) -> float | None:
    """Contrast between the ink and what is behind it in one band of rows; None if no text.

    The band's luminances split into a dark and a light cluster (iterated midpoint); the
    contrast is between the clusters' medians, so anti-aliased edges and JPEG ringing, a
    minority in either cluster, do not move it. A band where either cluster holds under 5% of
    the pixels (only glyph tips, or no glyph at all) is not judged.
    """
    colours = image.crop(box).getcolors(image.width * image.height)
    assert colours is not None
    ranked = sorted((relative_luminance(rgb), n) for n, rgb in colours)
    total = sum(n for _, n in ranked)
    threshold = (ranked[0][0] + ranked[-1][0]) / 2
    for _ in range(10):
        dark = [(lum, n) for lum, n in ranked if lum <= threshold]
        light = [(lum, n) for lum, n in ranked if lum > threshold]
        if not dark or not light:
            return None
        threshold = (_weighted_median(dark) + _weighted_median(light)) / 2
    if min(sum(n for _, n in dark), sum(n for _, n in light)) < 0.05 * total:
        return None
    return contrast(_weighted_median(dark), _weighted_median(light))


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("colour", list(BRAND_COLOURS.values()), ids=list(BRAND_COLOURS))
def test_text_contrast_at_least_wcag_aa(platform: str, colour: str) -> None:
    """Ink against what is really behind it (gradient, or a scrim), band by band, >= 4.5."""
    for headline in (HEADLINE, LONG_HEADLINE):
        image = decoded(headline, platform, colour).convert("RGB")
        width, height = image.size
        m = margin(platform)
        box = ink_mask(image, colour).getbbox()
        assert box is not None, "no text found on the card"
        assert m <= box[0] and m <= box[1] and box[2] <= width - m and box[3] <= height - m
        bands = 12
        step = max(1, (box[3] - box[1]) // bands)
        measured = [
            _band_contrast(image, (box[0], y, box[2], min(y + step, box[3])))
            for y in range(box[1], box[3], step)
        ]
        with_text = [c for c in measured if c is not None]
        assert with_text, "no band carries text"
        assert min(with_text) >= WCAG_AA, f"{min(with_text):.2f}:1, headline {headline[:20]!r}"


def test_contrast_helper_matches_wcag_reference_points() -> None:
    # Independent sanity checks of the test's own formula: black/white is 21:1, same colour 1:1.
    assert contrast(relative_luminance((0, 0, 0)), relative_luminance((255, 255, 255))) == (
        pytest.approx(21.0)
    )
    assert contrast(relative_luminance((119, 119, 119)), relative_luminance((119, 119, 119))) == 1
    # #777777 on white is the classic "just below AA" grey (about 4.48:1).
    assert contrast(relative_luminance((119,) * 3), 1.0) == pytest.approx(4.48, abs=0.01)


# --- safe margins -------------------------------------------------------------------------------


def _margin_cases() -> list[Any]:
    cases = []
    for platform in PLATFORMS:
        for name, headline in (("short", HEADLINE), ("200-chars", LONG_HEADLINE)):
            cases.append(pytest.param(platform, headline, id=f"{platform}-{name}"))
        cases.append(pytest.param(platform, LONG_WORD, id=f"{platform}-long-word"))
    return cases


@pytest.mark.parametrize(("platform", "headline"), _margin_cases())
@pytest.mark.parametrize("colour", ["#1F4E79", "#F4C542"])
def test_text_stays_inside_safe_margins(platform: str, headline: str, colour: str) -> None:
    image = decoded(headline, platform, colour).convert("RGB")
    width, height = image.size
    m = margin(platform)
    diff = ImageChops.difference(image, expected_background(image.size, hex_rgb(colour)))
    assert diff.getbbox() is not None  # the card does carry text somewhere
    # Blank out the safe area: what remains is the outer margin band.
    ImageDraw.Draw(diff).rectangle((m, m, width - m - 1, height - m - 1), fill=(0, 0, 0))
    extrema = cast(tuple[tuple[int, int], ...], diff.getextrema())
    worst = max(high for _, high in extrema)
    assert worst <= BACKGROUND_TOLERANCE, f"ink within the {m}px margin band (diff {worst})"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_accented_text_renders(platform: str) -> None:
    headline = "Café crème à Zürich"
    image = decoded(headline, platform, "#1F4E79")
    box = ink_mask(image, "#1F4E79").getbbox()
    assert box is not None
    # The accents are glyphs, not missing-glyph boxes: the card differs from an unaccented one.
    plain = decoded("Cafe creme a Zurich", platform, "#1F4E79")
    assert ImageChops.difference(image.convert("RGB"), plain.convert("RGB")).getbbox() is not None
