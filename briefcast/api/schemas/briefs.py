"""The brief a client submits, with the limits it must respect."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

from briefcast.api.schemas.numbers import JsonInt
from briefcast.api.schemas.text import PLAIN, PLAIN_OR_BLANK, Len
from briefcast.api.schemas.zones import known_zone, zone_enum
from briefcast.models.posts import Platform
from briefcast.pipeline.campaigns.content import DEFAULT_BRAND_VOICE

# publish_at "best": the time is chosen at the schedule stage (pipeline/analytics/best_time.py).
BEST = "best"


class BriefIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: Annotated[str, Len(3, 200), PLAIN]
    key_points: list[Annotated[str, Len(1, 280), PLAIN]] = Field(min_length=1, max_length=10)
    brand_voice: Annotated[str, Len(1, 500), PLAIN] = DEFAULT_BRAND_VOICE
    audience: Annotated[str, Len(0, 500), PLAIN_OR_BLANK] = ""
    brand_color: str | None = Field(
        default=None,
        pattern=r"^#[0-9A-Fa-f]{6}$",
        description="Background colour of the images; default: the brand voice's colour.",
    )
    brand_voice_id: uuid.UUID | None = Field(
        default=None, description="One of the organization's brand voices."
    )
    variants: JsonInt = Field(
        default=1, ge=1, le=3, description="Copy variants per platform (A/B)."
    )
    template: Literal["headline", "quote", "photo"] = "headline"
    quote: Annotated[str, Len(1, 500), PLAIN] | None = None
    attribution: Annotated[str, Len(1, 200), PLAIN] | None = None
    photo_upload_id: uuid.UUID | None = Field(
        default=None, description="A photo from POST /api/v1/uploads, for the photo template."
    )
    photo_url: HttpUrl | None = Field(
        default=None, description="Or a photo at this URL, fetched with the same limits."
    )
    platforms: list[Platform] = Field(
        min_length=1, max_length=len(Platform), json_schema_extra={"uniqueItems": True}
    )
    publish_at: datetime | Literal["best"] | None = Field(
        default=None,
        description="When to publish (ISO 8601 with a time zone); omit, or a time already "
        'past, for now; "best" for the best weekday and hour from the organization\'s own '
        "engagement (see `timezone`).",
    )
    timezone: str | None = Field(
        default=None,
        max_length=64,
        examples=["Europe/Berlin"],
        description='With publish_at "best": the IANA time zone whose weekdays and hours are '
        "compared; default UTC.",
        json_schema_extra=lambda s: zone_enum(s),
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

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else known_zone(value)

    @model_validator(mode="after")
    def _zone_for_the_best_time(self) -> BriefIn:
        if self.timezone is not None and self.publish_at != BEST:
            raise ValueError('timezone applies to publish_at "best" only')
        return self

    @field_validator("publish_at")
    @classmethod
    def _with_zone(cls, value: datetime | str | None) -> datetime | str | None:
        if value is None or isinstance(value, str):
            return value
        if value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-12-01T09:00:00+01:00")
        # Any instant the schema allows is taken: one already past means "now" (the
        # dispatcher sends a post as soon as it is due), and a far one simply waits.
        return value.astimezone(UTC)
