"""The brief a client submits, with the limits it must respect."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
    model_validator,
)

from briefcast.models.posts import Platform
from briefcast.pipeline.campaigns.content import DEFAULT_BRAND_VOICE

# A schedule this far in the past is taken as "now" (client clocks drift); beyond it, refused.
PAST_TOLERANCE = timedelta(seconds=60)
MAX_SCHEDULE_AHEAD = timedelta(days=365)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def Text(min_length: int, max_length: int) -> Any:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_control_chars),
    ]


class BriefIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: Text(3, 200)  # type: ignore[valid-type]
    key_points: list[Text(1, 280)] = Field(min_length=1, max_length=10)  # type: ignore[valid-type]
    brand_voice: Text(1, 500) = DEFAULT_BRAND_VOICE  # type: ignore[valid-type]
    audience: Text(0, 500) = ""  # type: ignore[valid-type]
    brand_color: str | None = Field(
        default=None,
        pattern=r"^#[0-9A-Fa-f]{6}$",
        description="Background colour of the images; default: the brand voice's colour.",
    )
    brand_voice_id: uuid.UUID | None = Field(
        default=None, description="One of the organization's brand voices."
    )
    variants: int = Field(default=1, ge=1, le=3, description="Copy variants per platform (A/B).")
    template: Literal["headline", "quote", "photo"] = "headline"
    quote: Text(1, 500) | None = None  # type: ignore[valid-type]
    attribution: Text(1, 200) | None = None  # type: ignore[valid-type]
    photo_upload_id: uuid.UUID | None = Field(
        default=None, description="A photo from POST /api/v1/uploads, for the photo template."
    )
    photo_url: HttpUrl | None = Field(
        default=None, description="Or a photo at this URL, fetched with the same limits."
    )
    platforms: list[Platform] = Field(min_length=1, max_length=len(Platform))
    publish_at: datetime | None = Field(
        default=None, description="When to publish (ISO 8601 with a time zone); omit for now."
    )

    @field_validator("platforms")
    @classmethod
    def _unique_platforms(cls, value: list[Platform]) -> list[Platform]:
        if len(set(value)) != len(value):
            raise ValueError("each platform may appear once")
        return value

    @model_validator(mode="after")
    def _photo_for_the_photo_template(self) -> BriefIn:
        has_photo = self.photo_upload_id is not None or self.photo_url is not None
        if self.template == "photo" and not has_photo:
            raise ValueError("the photo template needs photo_upload_id or photo_url")
        if self.photo_upload_id is not None and self.photo_url is not None:
            raise ValueError("give photo_upload_id or photo_url, not both")
        if self.photo_url is not None and self.photo_url.scheme not in ("http", "https"):
            raise ValueError("photo_url must be http or https")
        return self

    @field_validator("publish_at")
    @classmethod
    def _future_with_zone(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-12-01T09:00:00+01:00")
        now = datetime.now(UTC)
        if value < now - PAST_TOLERANCE:
            raise ValueError("must not be in the past")
        if value > now + MAX_SCHEDULE_AHEAD:
            raise ValueError("must be within a year")
        return value.astimezone(UTC)
