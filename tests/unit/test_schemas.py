"""BriefIn: every limit a brief must respect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from briefcast.api.schemas.briefs import BriefIn
from briefcast.models.posts import Platform


def minimal(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "topic": "Spring launch",
        "key_points": ["New espresso blend"],
        "platforms": ["instagram"],
    }
    body.update(overrides)
    return body


def refused(body: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        BriefIn.model_validate(body)
    return info.value


def test_minimal_brief_and_defaults() -> None:
    brief = BriefIn.model_validate(minimal())
    assert brief.topic == "Spring launch"
    assert brief.key_points == ["New espresso blend"]
    assert brief.platforms == [Platform.INSTAGRAM]
    assert brief.brand_color is None  # the brand voice's colour, or the default, applies
    assert brief.brand_voice_id is None and brief.variants == 1
    assert brief.publish_at is None
    assert brief.audience == ""
    assert brief.brand_voice


def test_required_fields() -> None:
    for field in ("topic", "key_points", "platforms"):
        body = minimal()
        del body[field]
        errors = refused(body).errors()
        assert [e["loc"] for e in errors] == [(field,)]


# --- topic --------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [3, 200])
def test_topic_length_bounds_accepted(length: int) -> None:
    assert len(BriefIn.model_validate(minimal(topic="t" * length)).topic) == length


@pytest.mark.parametrize("length", [0, 2, 201])
def test_topic_length_bounds_refused(length: int) -> None:
    errors = refused(minimal(topic="t" * length)).errors()
    assert errors[0]["loc"] == ("topic",)


def test_topic_lengths_are_of_what_was_sent_and_what_is_kept_is_trimmed() -> None:
    # The schema's minLength is checked on the string as sent; the stored topic is trimmed.
    assert BriefIn.model_validate(minimal(topic="  abc  ")).topic == "abc"
    assert BriefIn.model_validate(minimal(topic="   ab   ")).topic == "ab"
    assert refused(minimal(topic="ab")).errors()[0]["loc"] == ("topic",)
    assert refused(minimal(topic="      ")).errors()[0]["msg"].endswith("must not be blank")


# --- key points ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 10])
def test_key_point_count_accepted(count: int) -> None:
    brief = BriefIn.model_validate(minimal(key_points=[f"point {i}" for i in range(count)]))
    assert len(brief.key_points) == count


@pytest.mark.parametrize("count", [0, 11])
def test_key_point_count_refused(count: int) -> None:
    errors = refused(minimal(key_points=[f"point {i}" for i in range(count)])).errors()
    assert errors[0]["loc"] == ("key_points",)


def test_key_point_length() -> None:
    assert BriefIn.model_validate(minimal(key_points=["k" * 280])).key_points == ["k" * 280]
    errors = refused(minimal(key_points=["ok", "k" * 281])).errors()
    assert errors[0]["loc"] == ("key_points", 1)
    errors = refused(minimal(key_points=["   "])).errors()
    assert errors[0]["loc"] == ("key_points", 0)


# --- platforms ----------------------------------------------------------------------------------


def test_both_platforms_accepted_in_given_order() -> None:
    brief = BriefIn.model_validate(minimal(platforms=["linkedin", "instagram"]))
    assert brief.platforms == [Platform.LINKEDIN, Platform.INSTAGRAM]


@pytest.mark.parametrize(
    "platforms",
    [[], ["instagram", "instagram"], ["twitter"], ["Instagram"], ["instagram", "linkedin", "x"]],
)
def test_platforms_refused(platforms: list[str]) -> None:
    errors = refused(minimal(platforms=platforms)).errors()
    assert errors[0]["loc"][0] == "platforms"


def test_duplicate_platform_message() -> None:
    errors = refused(minimal(platforms=["linkedin", "linkedin"])).errors()
    assert "each platform may appear once" in errors[0]["msg"]


# --- brand colour -------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", ["#000000", "#ffffff", "#F4c542"])
def test_brand_color_accepted(colour: str) -> None:
    assert BriefIn.model_validate(minimal(brand_color=colour)).brand_color == colour


@pytest.mark.parametrize(
    "colour", ["000000", "#FFF", "#GGGGGG", "#1234567", "#12345", "red", "#12345\n", ""]
)
def test_brand_color_refused(colour: str) -> None:
    assert refused(minimal(brand_color=colour)).errors()[0]["loc"] == ("brand_color",)


# --- control characters and extra fields --------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x0b", "\x0c"])
@pytest.mark.parametrize("field", ["topic", "brand_voice", "audience"])
def test_control_characters_refused(field: str, char: str) -> None:
    errors = refused(minimal(**{field: f"abc{char}def"})).errors()
    assert errors[0]["loc"] == (field,)
    assert "control characters" in errors[0]["msg"]


def test_control_characters_refused_in_key_points() -> None:
    errors = refused(minimal(key_points=["fine", "bad\x00point"])).errors()
    assert errors[0]["loc"] == ("key_points", 1)


def test_newline_and_tab_allowed_inside_text() -> None:
    brief = BriefIn.model_validate(minimal(key_points=["line one\nline two\tend"]))
    assert brief.key_points == ["line one\nline two\tend"]


def test_unicode_text_allowed() -> None:
    brief = BriefIn.model_validate(minimal(topic="Café crème à Zürich ✨"))
    assert brief.topic == "Café crème à Zürich ✨"


def test_extra_fields_refused() -> None:
    errors = refused(minimal(organization_id="someone-else")).errors()
    assert errors[0]["loc"] == ("organization_id",)
    assert errors[0]["type"] == "extra_forbidden"


# --- publish_at ---------------------------------------------------------------------------------


def iso(value: datetime) -> str:
    return value.isoformat()


def test_publish_at_naive_refused() -> None:
    naive = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None)
    errors = refused(minimal(publish_at=iso(naive))).errors()
    assert errors[0]["loc"] == ("publish_at",)
    assert "time zone" in errors[0]["msg"]


def test_publish_at_future_converted_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    local = (datetime.now(UTC) + timedelta(days=2)).astimezone(plus_two).replace(microsecond=0)
    brief = BriefIn.model_validate(minimal(publish_at=iso(local)))
    assert isinstance(brief.publish_at, datetime)
    assert brief.publish_at.utcoffset() == timedelta(0)
    assert brief.publish_at == local  # same instant
    assert brief.publish_at.hour == (local.hour - 2) % 24


@pytest.mark.parametrize(
    "offset", [-timedelta(days=400), -timedelta(seconds=20), timedelta(days=800)]
)
def test_any_publish_at_with_a_zone_is_taken_as_given(offset: timedelta) -> None:
    # The schema says "a date-time": a past one means now (the dispatcher sends what is due),
    # a far one waits. Refusing either would be a rule the schema does not state.
    when = (datetime.now(UTC) + offset).replace(microsecond=0)
    assert BriefIn.model_validate(minimal(publish_at=iso(when))).publish_at == when


def test_publish_at_z_suffix_accepted() -> None:
    when = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    text = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert BriefIn.model_validate(minimal(publish_at=text)).publish_at == when


def test_publish_at_null_means_now() -> None:
    assert BriefIn.model_validate(minimal(publish_at=None)).publish_at is None
