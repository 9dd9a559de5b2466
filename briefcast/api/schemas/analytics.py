"""Analytics: the query (a time range, a platform, a campaign, a grouping, a time zone), the
grouped rows as JSON or CSV, and one post's readings over time."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from briefcast.api.schemas.zones import known_zone, zone_enum
from briefcast.models.posts import Platform
from briefcast.pipeline.analytics import measures
from briefcast.pipeline.analytics.queries import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Grouping,
    PostSeries,
    Row,
)

DEFAULT_RANGE = timedelta(days=30)


def _iso(value: object) -> object:
    """An ISO 8601 date-time, as the schema says; not a Unix timestamp, which Pydantic's lax
    mode would take from "0.5"."""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time with an offset") from None
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso)]
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class AnalyticsQuery(BaseModel):
    """The query string of GET /api/v1/analytics."""

    # A range that is empty (since >= until) is valid and has no rows: the constraint
    # between the two is not one OpenAPI can state, so it is not refused.
    until: IsoDatetime | None = Field(
        default=None, description="Posts published before (default: now)."
    )
    since: IsoDatetime | None = Field(
        default=None, description="Posts published at or after (default: 30 days before until)."
    )
    platform: Platform | None = None
    campaign_id: uuid.UUID | None = None
    group_by: Grouping = Grouping.DAY
    timezone: str = Field(
        default="UTC",
        max_length=64,
        description="IANA zone that days, weekdays and hours are local to.",
        json_schema_extra=lambda s: zone_enum(s),
    )
    format: Literal["json", "csv"] = Field(
        default="json", description="`csv`: the same rows as a CSV attachment."
    )
    limit: int = Field(
        default=DEFAULT_LIMIT,
        ge=1,
        le=MAX_LIMIT,
        description="`group_by=post`: at most this many posts, newest first (other groupings "
        "return every group).",
    )
    offset: int = Field(
        default=0,
        ge=0,
        le=10_000_000,
        description="`group_by=post`: skip this many posts (the next page: offset + limit).",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("until", "since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        try:
            return None if value is None else value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range") from None

    @model_validator(mode="after")
    def _defaults(self) -> AnalyticsQuery:
        until = self.until or datetime.now(UTC)
        if self.since is None:
            # Near datetime.min the default range is cut short rather than overflowing.
            far = until - _EARLIEST > DEFAULT_RANGE
            self.since = until - DEFAULT_RANGE if far else _EARLIEST
        self.until = until
        return self


class AnalyticsRow(BaseModel):
    """One group: its key fields (by grouping: `day`; `post_id`, `platform`, `published_at`,
    `run_id`, `campaign_id`; `campaign_id`, `campaign`; `weekday` (0 = Monday), `hour`), the
    posts published in it, each metric of their latest readings summed, the mean of the
    posts' engagement rates (null when none had an audience) and high-intent actions."""

    model_config = ConfigDict(extra="allow")

    posts: int
    metrics: dict[str, int]
    engagement_rate: float | None
    high_intent: int


class AnalyticsOut(BaseModel):
    group_by: Grouping
    since: datetime
    until: datetime
    timezone: str
    limit: int | None = Field(
        default=None, description="`group_by=post`: the page's size (absent otherwise)."
    )
    offset: int | None = Field(
        default=None, description="`group_by=post`: the posts skipped (absent otherwise)."
    )
    rows: list[AnalyticsRow]


def row_out(row: Row) -> AnalyticsRow:
    return AnalyticsRow(
        **row.key,
        posts=row.posts,
        metrics=row.metrics,
        engagement_rate=row.engagement_rate,
        high_intent=row.high_intent,
    )


KEY_COLUMNS: dict[Grouping, tuple[str, ...]] = {
    Grouping.DAY: ("day",),
    Grouping.POST: ("post_id", "platform", "published_at", "run_id", "campaign_id"),
    Grouping.CAMPAIGN: ("campaign_id", "campaign"),
    Grouping.WEEKDAY_HOUR: ("weekday", "hour"),
}


def metric_columns(platform: str | None) -> list[str]:
    """The platform's metrics, or every platform's (in `measures.METRICS` order) for all."""
    platforms = [platform] if platform else list(measures.METRICS)
    return list(dict.fromkeys(name for p in platforms for name in measures.METRICS[p]))


def to_csv(rows: Iterable[Row], grouping: Grouping, platform: str | None) -> str:
    """One line per group: the key fields, posts, each metric (empty when no post gave it),
    engagement_rate (empty without an audience) and high_intent."""
    metrics = metric_columns(platform)
    header = [*KEY_COLUMNS[grouping], "posts", *metrics, "engagement_rate", "high_intent"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                *(row.key.get(name) for name in KEY_COLUMNS[grouping]),
                row.posts,
                *(row.metrics.get(name) for name in metrics),
                "" if row.engagement_rate is None else repr(row.engagement_rate),
                row.high_intent,
            ]
        )
    return out.getvalue()


class ReadingOut(BaseModel):
    offset_s: int = Field(description="Seconds after publishing the reading was due.")
    collected_at: datetime
    metrics: dict[str, int]
    deltas: dict[str, int] = Field(description="Gained since the reading before.")
    engagement_rate: float | None


class PostSeriesOut(BaseModel):
    post_id: uuid.UUID
    platform: str
    published_at: datetime | None
    run_id: uuid.UUID
    campaign_id: uuid.UUID | None
    readings: list[ReadingOut]


def series_out(series: PostSeries) -> PostSeriesOut:
    return PostSeriesOut(
        post_id=series.post_id,
        platform=series.platform,
        published_at=series.published_at,
        run_id=series.run_id,
        campaign_id=series.campaign_id,
        readings=[ReadingOut(**vars(reading)) for reading in series.readings],
    )
