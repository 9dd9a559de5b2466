"""OfflineCopywriter: deterministic, per-platform copy assembled from the brief's own words."""

from __future__ import annotations

import re

import pytest

from briefcast.pipeline.copy.model import CopyBrief
from briefcast.pipeline.copy.offline import SOURCE, OfflineCopywriter

INSTAGRAM_MAX_CAPTION = 2200  # Instagram Graph API caption limit
LINKEDIN_MAX_COMMENTARY = 3000  # LinkedIn Posts API commentary limit


def make_brief(**overrides: object) -> CopyBrief:
    fields: dict[str, object] = {
        "topic": "Spring launch of our espresso line",
        "key_points": [
            "Single-origin beans roasted in Lisbon",
            "Compostable capsules for every blend",
            "Subscription discount for early customers",
        ],
        "brand_voice": "clear, warm and confident",
        "audience": "coffee lovers",
        "platforms": ["instagram", "linkedin"],
    }
    fields.update(overrides)
    return CopyBrief.model_validate(fields)


def maximal_brief(platforms: list[str]) -> CopyBrief:
    """The largest brief BriefIn accepts: a 200-char topic and 10 key points of 280 chars."""
    topic = ("Quarterly roadmap " * 20)[:200]
    assert len(topic) == 200
    key_points = []
    for i in range(10):
        point = (f"Milestone{i} delivers measurable improvements for customers " * 10)[:280]
        assert len(point) == 280
        key_points.append(point)
    return make_brief(topic=topic, key_points=key_points, platforms=platforms)


def test_one_variant_per_requested_platform_in_order() -> None:
    for platforms in (["instagram"], ["linkedin"], ["linkedin", "instagram"]):
        result = OfflineCopywriter().write(make_brief(platforms=platforms))
        assert [v.platform for v in result.variants] == platforms


def test_source_label() -> None:
    result = OfflineCopywriter().write(make_brief())
    assert result.source == "offline-copywriter"
    assert SOURCE == "offline-copywriter"
    assert OfflineCopywriter.name == "offline-copywriter"


def test_same_brief_same_output_across_instances() -> None:
    first = OfflineCopywriter().write(make_brief())
    second = OfflineCopywriter().write(make_brief())
    assert [v.model_dump() for v in first.variants] == [v.model_dump() for v in second.variants]
    assert first.source == second.source


def test_different_briefs_give_different_copy() -> None:
    a = OfflineCopywriter().write(make_brief(topic="Spring launch of our espresso line"))
    b = OfflineCopywriter().write(make_brief(topic="Autumn tasting events in Porto"))
    assert a.variants[0].caption != b.variants[0].caption


@pytest.mark.parametrize("platform", ["instagram", "linkedin"])
def test_caption_contains_topic_and_every_key_point(platform: str) -> None:
    brief = make_brief(platforms=[platform])
    caption = OfflineCopywriter().write(brief).variants[0].caption
    assert brief.topic in caption
    for point in brief.key_points:
        assert point in caption


def test_trailing_period_is_not_doubled() -> None:
    brief = make_brief(topic="Launch day.", key_points=["Beans arrive Monday."])
    caption = OfflineCopywriter().write(brief).variants[0].caption
    assert "Launch day" in caption
    assert "Beans arrive Monday." in caption
    assert ".." not in caption


@pytest.mark.parametrize(("platform", "cap"), [("instagram", 5), ("linkedin", 3)])
def test_hashtags_capped_per_platform(platform: str, cap: int) -> None:
    # Far more than `cap` distinct long words are available.
    brief = make_brief(
        topic="Espresso Roastery Sustainability Craftsmanship Innovation",
        key_points=["Harvest Brazil Colombia Ethiopia Kenya Guatemala Sumatra"],
        platforms=[platform],
    )
    variant = OfflineCopywriter().write(brief).variants[0]
    assert len(variant.hashtags) == cap


@pytest.mark.parametrize("platform", ["instagram", "linkedin"])
def test_hashtags_unique_case_insensitively(platform: str) -> None:
    brief = make_brief(
        topic="Coffee COFFEE coffee",
        key_points=["coffee Coffee Beans beans BEANS", "Roast roast"],
        platforms=[platform],
    )
    tags = OfflineCopywriter().write(brief).variants[0].hashtags
    lowered = [t.lower() for t in tags]
    assert len(lowered) == len(set(lowered))
    assert set(lowered) == {"#coffee", "#beans", "#roast"}


def test_hashtags_skip_stopwords_and_short_words_and_appear_in_caption() -> None:
    brief = make_brief(
        topic="How we brew with your team",
        key_points=["The cup is hot and ready for tasting"],
        platforms=["instagram"],
    )
    variant = OfflineCopywriter().write(brief).variants[0]
    words = {t[1:].lower() for t in variant.hashtags}
    assert words.isdisjoint({"how", "with", "your", "the", "and", "for", "cup", "hot", "we"})
    assert "brew" in words and "tasting" in words
    for tag in variant.hashtags:
        assert re.fullmatch(r"#[A-Z][a-z0-9]+", tag)
        assert tag in variant.caption


def test_headline_and_alt_text_come_from_topic() -> None:
    brief = make_brief(topic="  " + "A" * 150 + "  ")
    variant = OfflineCopywriter().write(brief).variants[0]
    assert variant.headline == "A" * 120
    assert variant.alt_text.endswith("A" * 150)
    assert variant.call_to_action and variant.call_to_action in variant.caption


def test_hashtags_are_whole_words_for_accented_text() -> None:
    brief = make_brief(
        topic="Zürich tasting festival",
        key_points=["Crème brûlée pairing"],
        platforms=["instagram"],
    )
    variant = OfflineCopywriter().write(brief).variants[0]
    words = {w.lower() for w in re.findall(r"\w+", f"{brief.topic} {' '.join(brief.key_points)}")}
    for tag in variant.hashtags:
        assert tag[1:].lower() in words


def test_instagram_caption_of_ordinary_brief_within_limit() -> None:
    caption = OfflineCopywriter().write(make_brief(platforms=["instagram"])).variants[0].caption
    assert 0 < len(caption) <= INSTAGRAM_MAX_CAPTION


def test_instagram_caption_within_limit_for_maximal_brief() -> None:
    variant = OfflineCopywriter().write(maximal_brief(["instagram"])).variants[0]
    assert len(variant.caption) <= INSTAGRAM_MAX_CAPTION


def test_linkedin_caption_within_limit_for_maximal_brief() -> None:
    variant = OfflineCopywriter().write(maximal_brief(["linkedin"])).variants[0]
    assert len(variant.caption) <= LINKEDIN_MAX_COMMENTARY


def test_maximal_brief_hashtags_still_capped() -> None:
    result = OfflineCopywriter().write(maximal_brief(["instagram", "linkedin"]))
    caps = {"instagram": 5, "linkedin": 3}
    for variant in result.variants:
        assert len(variant.hashtags) == caps[variant.platform]
        assert len(set(variant.hashtags)) == len(variant.hashtags)
