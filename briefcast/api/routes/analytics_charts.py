"""Charts of the analytics readings as images: a post's metrics over time, a campaign's
engagement rate by occurrence, the best-time heatmap. `.png` or `.svg` at the end of the path
picks the format, so a chart's URL works as it is in an <img> tag.

The data is read on the event loop (async queries); drawing is CPU work, done in the thread
pool so it never holds the loop up. Another organization's post or campaign is a 404.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BeforeValidator
from starlette.concurrency import run_in_threadpool

from briefcast.api import campaigns as campaign_service
from briefcast.api.deps import PrincipalDep, SessionDep
from briefcast.api.errors import ApiError, error_responses
from briefcast.api.ratelimit import ANALYTICS_LIMIT
from briefcast.api.schemas.zones import known_zone, zone_enum
from briefcast.models.posts import Platform
from briefcast.pipeline.analytics import queries
from briefcast.pipeline.analytics.queries import Filter, Grouping
from briefcast.reports import charts

router = APIRouter(prefix="/api/v1/analytics/charts", tags=["analytics"])
# Without since/until a chart covers this many days up to now.
DEFAULT_DAYS = 30


class ChartFormat(enum.StrEnum):
    PNG = "png"
    SVG = "svg"


_IMAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The chart.",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in charts.MEDIA_TYPES.values()
        },
    }
}


def _rfc3339(value: object) -> object:
    """Only a date-time string, as the schema says: pydantic alone would also take a number
    ("0.5") as seconds since the epoch."""
    if isinstance(value, str):
        return datetime.fromisoformat(value.upper())  # ValueError: a 422 naming the field
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
Since = Annotated[
    IsoDatetime | None,
    Query(description=f"posts published at or after (default: {DEFAULT_DAYS} days before until)"),
]
Until = Annotated[IsoDatetime | None, Query(description="posts published before (default: now)")]


def _image(data: bytes, fmt: ChartFormat) -> Response:
    return Response(content=data, media_type=charts.MEDIA_TYPES[fmt])


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The posts' publishing window; one that ends before it starts holds no post (an empty
    chart, as for a period without posts: the schema cannot say "before until")."""
    end = until or datetime.now(UTC)
    return since or end - timedelta(days=DEFAULT_DAYS), end


@router.get(
    "/post/{post_id}.{fmt}",
    response_class=Response,
    responses={**_IMAGE, **error_responses({404: "post_not_found"})},
    dependencies=[ANALYTICS_LIMIT],
)
async def post_chart(
    post_id: uuid.UUID, fmt: ChartFormat, principal: PrincipalDep, session: SessionDep
) -> Response:
    """Each of the post's metrics over time since publishing, one line per metric."""
    series = await queries.post_series(session, principal.organization_id, post_id)
    if series is None:
        # Another organization's post is indistinguishable from a missing one.
        raise ApiError(404, "post_not_found", f"No post {post_id}.")
    return _image(await run_in_threadpool(charts.post_chart, series, fmt.value), fmt)


@router.get(
    "/campaign/{campaign_id}.{fmt}",
    response_class=Response,
    responses={**_IMAGE, **error_responses({404: "campaign_not_found"})},
    dependencies=[ANALYTICS_LIMIT],
)
async def campaign_chart(
    campaign_id: uuid.UUID,
    fmt: ChartFormat,
    principal: PrincipalDep,
    session: SessionDep,
    since: Since = None,
    until: Until = None,
) -> Response:
    """The engagement rate of each of the campaign's posts, by publishing time."""
    campaign = await campaign_service.load(session, principal.organization_id, campaign_id)
    start, end = _period(since, until)
    where = Filter(principal.organization_id, start, end, campaign_id=campaign.id)
    rows = await queries.grouped(session, where, Grouping.POST)
    chart = await run_in_threadpool(charts.campaign_chart, rows, fmt.value, campaign.name)
    return _image(chart, fmt)


@router.get(
    "/best-time.{fmt}",
    response_class=Response,
    responses=_IMAGE,
    dependencies=[ANALYTICS_LIMIT],
)
async def best_time_chart(
    fmt: ChartFormat,
    principal: PrincipalDep,
    session: SessionDep,
    timezone: Annotated[
        str,
        Query(
            max_length=64,
            description="IANA time zone the weekdays and hours are local to",
            json_schema_extra=lambda s: zone_enum(s),
        ),
    ] = "UTC",
    platform: Platform | None = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """Engagement rate by publishing weekday and hour; empty cells had no post, the best cell
    is outlined."""
    try:
        zone = known_zone(timezone)
    except ValueError as exc:
        raise ApiError(
            422,
            "validation_error",
            "The request is not valid.",
            {"fields": [{"field": "timezone", "problem": str(exc), "type": "value_error"}]},
        ) from exc
    start, end = _period(since, until)
    where = Filter(
        principal.organization_id,
        start,
        end,
        platform=platform.value if platform else None,
        timezone=zone,
    )
    rows = await queries.grouped(session, where, Grouping.WEEKDAY_HOUR)
    chart = await run_in_threadpool(charts.best_time_heatmap, rows, zone, fmt.value)
    return _image(chart, fmt)
