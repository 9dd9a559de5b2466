"""GET /api/v1/analytics: the organization's posts' latest readings grouped (JSON, or CSV
with `format=csv`); GET /api/v1/analytics/posts/{id}: one post's readings over time."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from briefcast.api.deps import PrincipalDep, SessionDep
from briefcast.api.errors import ApiError, error_responses
from briefcast.api.ratelimit import ANALYTICS_LIMIT
from briefcast.api.schemas.analytics import (
    AnalyticsOut,
    AnalyticsQuery,
    PostSeriesOut,
    row_out,
    series_out,
    to_csv,
)
from briefcast.pipeline.analytics import queries

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

_CSV = {
    "description": "The grouped rows (`format=json`), or the same rows as a CSV attachment "
    "(`format=csv`): the key fields, posts, each metric, engagement_rate, high_intent.",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


@router.get(
    "",
    response_model=AnalyticsOut,
    response_model_exclude_unset=True,  # a row carries only its grouping's key fields
    responses={200: _CSV, **error_responses({422: "validation_error"})},
    dependencies=[ANALYTICS_LIMIT],
)
async def analytics(
    query: Annotated[AnalyticsQuery, Query()], principal: PrincipalDep, session: SessionDep
) -> AnalyticsOut | Response:
    """Posts published in [since, until), each counted with its latest collected reading,
    grouped by day, post, campaign or weekday x hour (days and hours in `timezone`). By post,
    one page of `limit` posts after `offset`, newest first (the CSV holds the same page)."""
    assert query.since is not None and query.until is not None  # filled in by the schema
    where = queries.Filter(
        organization_id=principal.organization_id,
        since=query.since,
        until=query.until,
        platform=query.platform.value if query.platform else None,
        campaign_id=query.campaign_id,
        timezone=query.timezone,
    )
    # Only the post grouping pages; the others' bodies carry no page fields.
    page = (
        {"limit": query.limit, "offset": query.offset}
        if query.group_by == queries.Grouping.POST
        else {}
    )
    rows = await queries.grouped(
        session, where, query.group_by, limit=query.limit, offset=query.offset
    )
    if query.format == "csv":
        return Response(
            to_csv(rows, query.group_by, where.platform),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="analytics-{query.group_by}.csv"'
            },
        )
    return AnalyticsOut(
        group_by=query.group_by,
        since=query.since,
        until=query.until,
        timezone=query.timezone,
        rows=[row_out(row) for row in rows],
        **page,
    )


@router.get(
    "/posts/{post_id}",
    response_model=PostSeriesOut,
    responses=error_responses({404: "post_not_found"}),
    dependencies=[ANALYTICS_LIMIT],
)
async def post_readings(
    post_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> PostSeriesOut:
    """The post's collected readings, oldest first, each with what it gained since the one
    before and its engagement rate."""
    series = await queries.post_series(session, principal.organization_id, post_id)
    if series is None:
        # Another organization's post is indistinguishable from a missing one.
        raise ApiError(404, "post_not_found", f"No post {post_id}.")
    return series_out(series)
