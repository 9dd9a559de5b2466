"""Analytics reads: each post's latest reading, grouped; one post's readings over time; and
the latest reading kept on the post (`posts.latest_*`) that the grouped reads use.

The API (async) and workers, the report and the bench (sync) execute the same statement
through the pairs of functions at the end, so the two never drift. Every read is scoped to
one organization by the post's own `posts.organization_id` (its run's, indexed with the
publishing time), so a year's grouping reads only that organization's posts; the post's own
`posts.campaign_id` (its brief's) gives the campaign, so no read joins the runs or briefs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Date,
    Float,
    Result,
    Row,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import KeyedColumnElement

from briefcast.models.campaigns import Campaign
from briefcast.models.posts import MetricSnapshot, Post
from briefcast.pipeline.analytics import measures

# Every stored (API) metric name any platform gives; sums are returned per stored name and
# translated by `measures.normalise`, so names are mapped in one place.
STORED_NAMES: tuple[str, ...] = tuple(
    sorted({theirs for names in measures.METRICS.values() for theirs in names.values()})
)


# For the reading transaction only: PostgreSQL's JIT compiles these plans for ~190 ms on a
# year's posts (measured with bench/analytics.py), several times what it saves; and the driver
# prepares a statement run 5 times on a connection, after which PostgreSQL may keep one
# generic plan for it: planned on a 30-day range, a year's read took 215 ms instead of 90.
# https://www.postgresql.org/docs/current/jit-decision.html
# https://www.postgresql.org/docs/current/sql-prepare.html (plan_cache_mode)
NO_JIT = text(
    "SELECT set_config('jit', 'off', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)


def _collected() -> ColumnElement[bool]:
    """A reading counts once it was collected without error."""
    return and_(MetricSnapshot.collected_at.is_not(None), MetricSnapshot.error.is_(None))


def _stored_value(metrics: Any, name: str) -> ColumnElement[Any]:
    """One stored metric as a number, NULL when absent or not a number (as `normalise`)."""
    return case(
        (func.jsonb_typeof(metrics[name]) == "number", cast(metrics[name].astext, BigInteger)),
        else_=null(),
    )


def _latest(name: str) -> Any:
    """The post's `latest_<name>` column: its latest reading's stored metric `name`."""
    return getattr(Post, f"latest_{name}")


def _whole_number(value: object) -> int | None:
    """A stored value as the `latest_<name>` columns keep it: whole numbers only, as
    `measures.normalise` reads them."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rate(platform: Any, metrics: Any) -> ColumnElement[Any]:
    """A post's engagement rate in SQL, built from `measures.ENGAGEMENT` and `METRICS` (the
    one definition): the platform's actions over its audience; NULL without an audience."""
    whens = []
    for name, (actions, audience) in measures.ENGAGEMENT.items():
        stored = measures.METRICS[name]
        reached = _stored_value(metrics, stored[audience])
        acted = sum(
            (func.coalesce(_stored_value(metrics, stored[a]), 0) for a in actions[1:]),
            func.coalesce(_stored_value(metrics, stored[actions[0]]), 0),
        )
        whens.append(
            (
                and_(platform == name, reached > 0),
                cast(acted, Float) / cast(reached, Float),
            )
        )
    return case(*whens, else_=null())


def grouped_statement(
    *,
    organization_id: uuid.UUID,
    since: datetime,
    until: datetime,
    platform: str | None,
    campaign_id: uuid.UUID | None,
    timezone: str,
    grouping: str,
    limit: int | None = None,
    offset: int = 0,
) -> Select[Any]:
    """One row per (group, platform): the key columns, `platform`, `posts` (published in the
    range), `rated` (posts with an audience) and `rate_sum` (their rates summed), and one
    `m_<stored name>` sum per metric (NULL when no post gave it), from each post's own latest
    reading (`posts.latest_*`). Posts without a collected reading yet count as posts and add
    nothing else. The post grouping is one row per post, newest first, `limit` from `offset`
    (all when `limit` is None); the others ignore both."""
    rate = Post.latest_engagement_rate
    local = func.timezone(timezone, Post.published_at)

    if grouping == "post":
        # One post per row, nothing to aggregate. The page is chosen on the index first, in
        # its order (time, then id, both descending), so a deep page walks the index and
        # reads no post it skips.
        page = _scoped(
            select(Post.id).order_by(Post.published_at.desc(), Post.id.desc()),
            organization_id=organization_id,
            since=since,
            until=until,
            platform=platform,
            campaign_id=campaign_id,
        )
        if limit is not None:
            page = page.limit(limit)
        if offset:
            page = page.offset(offset)
        paged = page.subquery("page")
        return (
            select(
                Post.id.label("post_id"),
                Post.published_at.label("published_at"),
                Post.run_id.label("run_id"),
                Post.campaign_id.label("campaign_id"),
                Post.platform.label("platform"),
                literal(1, BigInteger).label("posts"),
                case((rate.is_not(None), 1), else_=0).label("rated"),
                rate.label("rate_sum"),
                *(_latest(name).label(f"m_{name}") for name in STORED_NAMES),
            )
            .select_from(paged)
            .join(Post, Post.id == paged.c.id)
            .order_by(Post.published_at.desc(), Post.id.desc())
        )
    keys: list[KeyedColumnElement[Any]]
    if grouping == "day":
        # A date, not to_char: formatting every post's time cost more than grouping it.
        keys = [cast(local, Date).label("day")]
    elif grouping == "weekday_hour":
        keys = [
            (cast(func.extract("isodow", local), BigInteger) - 1).label("weekday"),
            cast(func.extract("hour", local), BigInteger).label("hour"),
        ]
    elif grouping == "campaign":
        keys = [Post.campaign_id.label("campaign_id")]
    else:
        raise ValueError(f"unknown grouping {grouping!r}")
    stmt: Select[Any] = select(
        *keys,
        Post.platform.label("platform"),
        func.count().label("posts"),
        func.count(rate).label("rated"),
        func.sum(rate).label("rate_sum"),
        # bigint, not numeric: a Decimal per value costs more than the grouping.
        *(cast(func.sum(_latest(name)), BigInteger).label(f"m_{name}") for name in STORED_NAMES),
    )
    stmt = _scoped(
        stmt,
        organization_id=organization_id,
        since=since,
        until=until,
        platform=platform,
        campaign_id=campaign_id,
    ).group_by(*keys, Post.platform)
    if grouping != "campaign":
        return stmt.order_by(*keys, Post.platform)
    # Grouped first, then the few campaign rows joined for their names.
    groups = stmt.subquery("groups")
    return (
        select(
            groups.c.campaign_id,
            Campaign.name.label("campaign"),
            *(c for c in groups.c if c.key != "campaign_id"),
        )
        .select_from(groups)
        .outerjoin(Campaign, Campaign.id == groups.c.campaign_id)
        .order_by(Campaign.name.asc().nulls_last(), groups.c.campaign_id, groups.c.platform)
    )


def _scoped(
    stmt: Select[Any],
    *,
    organization_id: uuid.UUID,
    since: datetime,
    until: datetime,
    platform: str | None,
    campaign_id: uuid.UUID | None,
) -> Select[Any]:
    """`stmt` over the organization's posts published in [since, until), of the platform and
    campaign if given."""
    stmt = stmt.select_from(Post).where(
        Post.organization_id == organization_id,
        Post.published_at >= since,
        Post.published_at < until,
    )
    if platform is not None:
        stmt = stmt.where(Post.platform == platform)
    if campaign_id is not None:
        stmt = stmt.where(Post.campaign_id == campaign_id)
    return stmt


def record_latest_reading(
    session: Session,
    post_id: uuid.UUID,
    *,
    offset_s: int,
    metrics: dict[str, Any],
    engagement_rate: float | None,
    read_at: datetime,
) -> None:
    """Keep a collected reading on its post, its whole numbers in the `latest_<name>` columns,
    unless the post already has a later one (an early snapshot collected late must not
    replace it)."""
    session.execute(
        update(Post)
        .where(
            Post.id == post_id,
            or_(Post.latest_offset_s.is_(None), Post.latest_offset_s <= offset_s),
        )
        .values(
            latest_offset_s=offset_s,
            latest_metrics=metrics,
            latest_engagement_rate=engagement_rate,
            latest_read_at=read_at,
            **{f"latest_{name}": _whole_number(metrics.get(name)) for name in STORED_NAMES},
        )
        .execution_options(synchronize_session=False)
    )


def backfill_latest_readings(connection: Connection | Session) -> None:
    """Give every post its latest collected reading from its snapshots (migration 0010), the
    rate computed in SQL by `_rate`, the same formula as `measures.engagement_rate`. The
    `latest_<name>` columns come later, from `latest_metrics` (`backfill_latest_values`)."""
    latest = (
        select(
            MetricSnapshot.post_id,
            MetricSnapshot.offset_s,
            MetricSnapshot.metrics,
            MetricSnapshot.collected_at,
        )
        .where(_collected())
        .ext(distinct_on(MetricSnapshot.post_id))
        .order_by(MetricSnapshot.post_id, MetricSnapshot.offset_s.desc())
        .subquery("latest")
    )
    connection.execute(
        update(Post)
        .where(Post.id == latest.c.post_id)
        .values(
            latest_offset_s=latest.c.offset_s,
            latest_metrics=latest.c.metrics,
            latest_engagement_rate=_rate(Post.platform, latest.c.metrics),
            latest_read_at=latest.c.collected_at,
        )
        .execution_options(synchronize_session=False)
    )


def backfill_latest_values(
    connection: Connection | Session, names: tuple[str, ...] = STORED_NAMES
) -> None:
    """Give every post with a kept reading its `latest_<name>` columns from `latest_metrics`
    (migration 0013, which passes the names that existed then), as `record_latest_reading`
    writes them."""
    connection.execute(
        update(Post)
        .where(Post.latest_metrics.is_not(None))
        .values(**{f"latest_{name}": _stored_value(Post.latest_metrics, name) for name in names})
        .execution_options(synchronize_session=False)
    )


def post_statement(organization_id: uuid.UUID, post_id: uuid.UUID) -> Select[Any]:
    """The post (if it is the organization's) and its collected readings, oldest first; a
    post without readings gives one row with NULL reading columns."""
    return (
        select(
            Post.id.label("post_id"),
            Post.platform,
            Post.published_at,
            Post.run_id,
            Post.campaign_id,
            MetricSnapshot.offset_s,
            MetricSnapshot.collected_at,
            MetricSnapshot.metrics,
        )
        .select_from(Post)
        .outerjoin(MetricSnapshot, and_(MetricSnapshot.post_id == Post.id, _collected()))
        .where(Post.id == post_id, Post.organization_id == organization_id)
        .order_by(MetricSnapshot.offset_s.asc())
    )


async def grouped_rows(session: AsyncSession, statement: Select[Any]) -> Result[Any]:
    """Execute a `grouped_statement` with the reading settings (`NO_JIT`) of its transaction."""
    await session.execute(NO_JIT)
    result: Result[Any] = await session.execute(statement)
    return result


def grouped_rows_sync(session: Session, statement: Select[Any]) -> Result[Any]:
    session.execute(NO_JIT)
    result: Result[Any] = session.execute(statement)
    return result


async def post_rows(
    session: AsyncSession, organization_id: uuid.UUID, post_id: uuid.UUID
) -> Sequence[Row[Any]]:
    """`post_statement`'s rows."""
    result = await session.execute(post_statement(organization_id, post_id))
    rows: Sequence[Row[Any]] = result.all()
    return rows


def post_rows_sync(
    session: Session, organization_id: uuid.UUID, post_id: uuid.UUID
) -> Sequence[Row[Any]]:
    rows: Sequence[Row[Any]] = session.execute(post_statement(organization_id, post_id)).all()
    return rows
