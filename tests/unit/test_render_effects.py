"""Effects: grading looks, Wand's liquid rescale and its skip path, JPEG encoding limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from briefcast.gallery import synthetic_photo
from briefcast.pipeline.render import effects, photo_fit, templates
from briefcast.pipeline.render.encode import encode_jpeg
from briefcast.pipeline.render.kit import FORMATS, BrandKit, CardContent, Format

PHOTO = synthetic_photo(2000, 1500, seed=5)
CONTENT = CardContent(headline="Autumn drop")


def test_looks_change_colour_as_named() -> None:
    rgb = np.asarray(PHOTO.resize((200, 150)))
    warm, cool, mono = (effects.grade(rgb, look) for look in ("warm", "cool", "mono"))
    red_minus_blue = [float(a[..., 0].mean() - a[..., 2].mean()) for a in (rgb, warm, cool)]
    assert red_minus_blue[1] > red_minus_blue[0] > red_minus_blue[2]
    assert np.abs(mono[..., 0].astype(int) - mono[..., 1]).max() <= 1
    with pytest.raises(KeyError):
        effects.grade(rgb, "sepia-ish")


def test_vignette_darkens_corners_not_centre() -> None:
    flat = np.full((100, 120, 3), 200, dtype=np.uint8)
    out = effects.vignette(flat)
    assert out[0, 0, 0] < 170 and out[50, 60, 0] >= 199


@pytest.mark.system_lib("magickwand")
def test_wand_liquid_rescale_used_for_far_aspect_ratios() -> None:
    applied: list[str] = []
    out = photo_fit.cover(PHOTO, 1080, 1350, applied)
    assert out.shape == (1350, 1080, 3)
    assert applied == ["wand:liquid_rescale"]
    # Seams kept more of the scene than a crop would: the result is not the centre crop.
    cropped = np.asarray(PHOTO.crop((400, 0, 1600, 1500)).resize((1080, 1350)))
    assert np.abs(out.astype(int) - cropped).mean() > 5
    # Near the target's aspect ratio a plain crop is enough.
    crop: list[str] = []
    near = photo_fit.cover(PHOTO.crop((0, 0, 1400, 1500)), 1080, 1350, crop)
    assert crop == ["crop:cover"] and near.shape == (1350, 1080, 3)


def test_wand_unavailable_is_skipped_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    effects.wand_status.cache_clear()
    monkeypatch.setitem(sys.modules, "wand.image", None)  # import now raises ImportError
    try:
        result = templates.render_card("photo", FORMATS["linkedin"], CONTENT, BrandKit(), PHOTO)
    finally:
        effects.wand_status.cache_clear()
    skipped = [e for e in result.effects if e.startswith("wand:")]
    assert len(skipped) == 1 and skipped[0].startswith("wand:skipped (ModuleNotFoundError")
    assert "crop:cover" in result.effects
    assert Image.open(io.BytesIO(result.data)).size == (1200, 627)


def test_unknown_grade_is_recorded_not_fatal() -> None:
    kit = BrandKit(grade="teal-orange")
    card = templates.compose("photo", FORMATS["instagram_square"], CONTENT, kit, PHOTO)
    assert "grade:skipped (unknown look 'teal-orange')" in card.effects


def test_encoder_steps_quality_down_to_fit_and_flattens_alpha() -> None:
    fmt = Format("tiny", "test", 400, 300, 60_000)
    noisy = Image.effect_noise((400, 300), 90).convert("RGBA")
    data, quality = encode_jpeg(noisy, fmt)
    assert len(data) < fmt.max_bytes and quality < 90
    decoded = Image.open(io.BytesIO(data))
    assert (decoded.mode, decoded.size) == ("RGB", (400, 300))
    with pytest.raises(ValueError, match="needs 400x300"):
        encode_jpeg(Image.new("RGB", (10, 10)), fmt)


def test_encoder_writes_no_profile_or_exif_even_if_the_image_has_them() -> None:
    image = Image.new("RGB", (400, 300), (10, 120, 200))
    image.info["icc_profile"] = b"not-a-real-profile"
    image.info["exif"] = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"
    data, _ = encode_jpeg(image, Format("t", "t", 400, 300, 10**6))
    decoded = Image.open(io.BytesIO(data))
    assert "icc_profile" not in decoded.info and "exif" not in decoded.info
