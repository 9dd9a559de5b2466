"""Reading analytics back: posts' latest readings grouped by day, post, campaign or weekday x
hour; one post's readings over time. The statements live in
`models/repositories/analytics.py`; this module shapes their rows with `measures`.

A post's latest reading is its collected snapshot (no error) with the highest offset, kept on
the post by the collector (`posts.latest_*`, the rate from `measures.engagement_rate`). Groups
are formed in SQL (days and weekday x hour in `Filter.timezone`), one row per group and
platform: posts published in the range, the sum of each stored metric, and the sum and count
of the posts' own engagement rates. Here
the sums are translated by `measures.normalise`, platforms of a group are added up, high
intent comes from `measures.high_intent` and the group's rate is the mean of its posts' rates.
Each function has an async variant (the API) and a sync one (workers, the report, the bench)
executing the same statement and shaping rows with the same function.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.repositories import analytics
from briefcast.pipeline.analytics import measures


class Grouping(enum.StrEnum):
    DAY = "day"  # the post's publishing day, in `Filter.timezone`
    POST = "post"
    CAMPAIGN = "campaign"  # posts outside any campaign form one group with campaign_id None
    WEEKDAY_HOUR = "weekday_hour"  # publishing weekday (0 = Monday) and hour, in the timezone


@dataclass(frozen=True)
class Filter:
    organization_id: uuid.UUID
    since: datetime  # posts published at or after (aware)
    until: datetime  # ... and before (aware)
    platform: str | None = None
    campaign_id: uuid.UUID | None = None
    timezone: str = "UTC"  # IANA name: days and weekday x hour are local to it


@dataclass(frozen=True)
class Row:
    """One group. `key` by grouping: day {"day": "2026-11-30"}; post {"post_id", "platform",
    "published_at" (ISO), "run_id", "campaign_id" (or None)}; campaign {"campaign_id" (or
    None), "campaign" (name or None)}; weekday_hour {"weekday": 0-6, "hour": 0-23}.
    `metrics`: normalised names (measures.METRICS), each post's latest reading, summed.
    `engagement_rate`: the mean of the posts' own rates (posts without an audience left out);
    None when no post has one."""

    key: dict[str, str | int | None]
    posts: int
    metrics: dict[str, int] = field(default_factory=dict)
    engagement_rate: float | None = None
    high_intent: int = 0


@dataclass(frozen=True)
class Reading:
    offset_s: int
    collected_at: datetime
    metrics: dict[str, int]  # normalised
    deltas: dict[str, int]  # since the reading before (measures.deltas)
    engagement_rate: float | None


@dataclass(frozen=True)
class PostSeries:
    post_id: uuid.UUID
    platform: str
    published_at: datetime | None
    run_id: uuid.UUID
    campaign_id: uuid.UUID | None
    readings: list[Reading]


# The API's page of the post grouping: a year of one organization is ~28,000 posts.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _statement(where: Filter, grouping: Grouping, limit: int | None, offset: int) -> Any:
    return analytics.grouped_statement(
        organization_id=where.organization_id,
        since=where.since,
        until=where.until,
        platform=where.platform,
        campaign_id=where.campaign_id,
        timezone=where.timezone,
        grouping=grouping.value,
        limit=limit,
        offset=offset,
    )


_KEYS: dict[Grouping, tuple[str, ...]] = {
    Grouping.DAY: ("day",),
    Grouping.POST: ("post_id", "platform", "published_at", "run_id", "campaign_id"),
    Grouping.CAMPAIGN: ("campaign_id", "campaign"),
    Grouping.WEEKDAY_HOUR: ("weekday", "hour"),
}


def _key_value(value: object) -> str | int | None:
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # uuids


@dataclass
class _Group:
    key: dict[str, str | int | None]
    posts: int = 0
    metrics: dict[str, int] = field(default_factory=dict)
    high_intent: int = 0
    rated: int = 0
    rate_sum: float = 0.0


def _shape(result: Result[Any], grouping: Grouping) -> list[Row]:
    """Fold the (group, platform) rows into one Row per group, in the statement's order."""
    columns = {name: i for i, name in enumerate(result.keys())}
    keys = [(name, columns[name]) for name in _KEYS[grouping]]
    sums = [(name, columns[f"m_{name}"]) for name in analytics.STORED_NAMES]
    groups: dict[tuple[object, ...], _Group] = {}
    for row in result:  # by position: a row's mapping costs more than the rest of the loop
        key = {name: _key_value(row[i]) for name, i in keys}
        group = groups.setdefault(tuple(key.values()), _Group(key))
        stored = {name: row[i] for name, i in sums if row[i] is not None}
        metrics = measures.normalise(row.platform, stored)
        for name, value in metrics.items():
            group.metrics[name] = group.metrics.get(name, 0) + value
        group.posts += row.posts
        group.high_intent += measures.high_intent(row.platform, metrics)
        group.rated += row.rated
        group.rate_sum += float(row.rate_sum or 0.0)
    return [
        Row(
            key=g.key,
            posts=g.posts,
            metrics=g.metrics,
            engagement_rate=g.rate_sum / g.rated if g.rated else None,
            high_intent=g.high_intent,
        )
        for g in groups.values()
    ]


async def grouped(
    session: AsyncSession,
    where: Filter,
    grouping: Grouping,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[Row]:
    """The groups in order; the post grouping newest first, `limit` posts (all when None)
    after skipping `offset` (the other groupings are small and ignore both)."""
    statement = _statement(where, grouping, limit, offset)
    return _shape(await analytics.grouped_rows(session, statement), grouping)


def grouped_sync(
    session: Session,
    where: Filter,
    grouping: Grouping,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[Row]:
    statement = _statement(where, grouping, limit, offset)
    return _shape(analytics.grouped_rows_sync(session, statement), grouping)


def _series(rows: Sequence[Any]) -> PostSeries | None:
    if not rows:
        return None
    first = rows[0]
    taken = [row for row in rows if row.collected_at is not None]
    readings = [measures.normalise(first.platform, row.metrics or {}) for row in taken]
    return PostSeries(
        post_id=first.post_id,
        platform=first.platform,
        published_at=first.published_at,
        run_id=first.run_id,
        campaign_id=first.campaign_id,
        readings=[
            Reading(
                offset_s=row.offset_s,
                collected_at=row.collected_at,
                metrics=metrics,
                deltas=gained,
                engagement_rate=measures.engagement_rate(first.platform, metrics),
            )
            for row, metrics, gained in zip(taken, readings, measures.deltas(readings), strict=True)
        ],
    )


async def post_series(
    session: AsyncSession, organization_id: uuid.UUID, post_id: uuid.UUID
) -> PostSeries | None:
    """The post's readings, oldest first; None when it is not the organization's."""
    return _series(await analytics.post_rows(session, organization_id, post_id))


def post_series_sync(
    session: Session, organization_id: uuid.UUID, post_id: uuid.UUID
) -> PostSeries | None:
    return _series(analytics.post_rows_sync(session, organization_id, post_id))
