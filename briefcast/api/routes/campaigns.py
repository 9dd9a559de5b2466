"""Campaigns: recurring and queued content. Another organization's campaign is a 404.

Each write's `campaign.changed` outbox row is relayed once the request commits (the session
dependency), so the materializer looks at the campaign at once rather than at its next beat
tick.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from briefcast.api import campaigns as service
from briefcast.api.deps import PrincipalDep, SessionDep
from briefcast.api.errors import ApiError
from briefcast.api.ratelimit import ANALYTICS_LIMIT, CONTENT_LIMIT
from briefcast.api.roles import EDITOR
from briefcast.api.schemas.campaigns import (
    MAX_ITEMS_PER_REQUEST,
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignPatch,
    CsvError,
    ErrorOut,
    ItemRow,
    ItemsAdded,
    ItemsIn,
    OnError,
    TooManyRowsError,
    csv_rows,
    json_rows,
)

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])
# Bodies that may hold up to MAX_ITEMS_PER_REQUEST items (or as many overrides): they get the
# upload allowance rather than the small default (see app.py).
BULK_PATHS = re.compile(r"/api/v1/campaigns(/[^/]+(/items)?)?")
_CSV_EXAMPLE = "topic,key_points,quote,attribution\nWhy we compost,Less waste|Better soil,,\n"


def _errors(by_status: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the error answers a route gives: status -> its error codes."""
    return {
        status: {"model": ErrorOut, "description": f"error_code: {codes}"}
        for status, codes in {401: "unauthorized", **by_status}.items()
    }


_NOT_FOUND = {404: "campaign_not_found"}
_SCHEDULE = "invalid_schedule, invalid_overrides, incomplete_template"
_REFS = "unknown_brand_voice, unknown_upload"


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "",
    status_code=201,
    dependencies=[EDITOR, CONTENT_LIMIT],
    response_model=CampaignOut,
    responses=_errors(
        {
            403: "unknown_organization",
            409: "campaign_name_taken",
            422: f"validation_error, invalid_items, {_SCHEDULE}, {_REFS}",
        }
    ),
)
async def create_campaign(
    body: CampaignIn, principal: PrincipalDep, session: SessionDep, response: Response
) -> CampaignOut:
    """A campaign from now on: occurrences before its creation never fire."""
    now = _now()
    campaign = await service.create(session, principal.organization_id, body, now)
    response.headers["Location"] = f"/api/v1/campaigns/{campaign.id}"
    return await service.view(session, campaign, now)


@router.get(
    "",
    response_model=CampaignList,
    responses=_errors({422: "validation_error"}),
    dependencies=[ANALYTICS_LIMIT],
)
async def list_campaigns(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CampaignList:
    found = await service.list_for(session, principal.organization_id, limit, offset)
    return CampaignList(items=found, limit=limit, offset=offset)


@router.get(
    "/{campaign_id}",
    response_model=CampaignOut,
    responses=_errors(_NOT_FOUND),
    dependencies=[ANALYTICS_LIMIT],
)
async def get_campaign(
    campaign_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> CampaignOut:
    """The campaign, its next 10 occurrences (local time), its latest 50 and its totals."""
    campaign = await service.load(session, principal.organization_id, campaign_id)
    return await service.view(session, campaign, _now())


@router.patch(
    "/{campaign_id}",
    response_model=CampaignOut,
    dependencies=[EDITOR],
    responses=_errors(
        {
            **_NOT_FOUND,
            409: "campaign_name_taken",
            422: f"validation_error, template_breaks_items, {_SCHEDULE}, {_REFS}",
        }
    ),
)
async def update_campaign(
    campaign_id: uuid.UUID, body: CampaignPatch, principal: PrincipalDep, session: SessionDep
) -> CampaignOut:
    """Changes only occurrences not materialized yet; the ones already created stay."""
    now = _now()
    campaign = await service.update(session, principal.organization_id, campaign_id, body, now)
    return await service.view(session, campaign, now)


@router.delete(
    "/{campaign_id}", status_code=204, responses=_errors(_NOT_FOUND), dependencies=[EDITOR]
)
async def delete_campaign(
    campaign_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> Response:
    """Its items and occurrences go with it; runs it already created stay (unlinked)."""
    await service.delete(session, principal.organization_id, campaign_id)
    return Response(status_code=204)


@router.post(
    "/{campaign_id}/pause",
    response_model=CampaignOut,
    dependencies=[EDITOR],
    responses=_errors({**_NOT_FOUND, 409: "campaign_completed"}),
)
async def pause_campaign(
    campaign_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> CampaignOut:
    now = _now()
    campaign = await service.pause(session, principal.organization_id, campaign_id, now)
    return await service.view(session, campaign, now)


@router.post(
    "/{campaign_id}/resume",
    response_model=CampaignOut,
    dependencies=[EDITOR],
    responses=_errors({**_NOT_FOUND, 409: "campaign_completed"}),
)
async def resume_campaign(
    campaign_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> CampaignOut:
    """Occurrences that fell while it was paused are recorded as skipped, never fired."""
    now = _now()
    campaign = await service.resume(session, principal.organization_id, campaign_id, now)
    return await service.view(session, campaign, now)


@router.post(
    "/{campaign_id}/items",
    status_code=201,
    dependencies=[EDITOR, CONTENT_LIMIT],
    response_model=ItemsAdded,
    responses=_errors(
        {
            **_NOT_FOUND,
            413: "payload_too_large",
            415: "unsupported_media_type",
            422: f"validation_error, invalid_items, invalid_csv, no_items, too_many_items "
            f"(over {MAX_ITEMS_PER_REQUEST})",
        }
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ItemsIn.model_json_schema()},
                "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
            },
        }
    },
)
async def add_items(
    campaign_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    on_error: Annotated[
        OnError | None, Query(description="For CSV; for JSON it overrides the body's.")
    ] = None,
) -> ItemsAdded:
    """Up to 500 items, as JSON or as CSV (a header row; key_points separated by "|"). A bad
    item is reported by its index (JSON) or its file line (CSV, the header is line 1)."""
    rows, mode = await _item_rows(request, on_error)
    now = _now()
    result = await service.add_items(
        session, principal.organization_id, campaign_id, rows, mode, now
    )
    return ItemsAdded(added=result.added, slots=result.slots, rejected=result.rejected)


async def _item_rows(request: Request, on_error: OnError | None) -> tuple[list[ItemRow], OnError]:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    data = await request.body()
    if media_type == "text/csv":
        try:
            return csv_rows(data, MAX_ITEMS_PER_REQUEST), on_error or "reject"
        except TooManyRowsError as exc:
            raise _too_many() from exc
        except CsvError as exc:
            raise ApiError(422, "invalid_csv", str(exc), {"reason": str(exc)}) from exc
    if media_type != "application/json":
        raise ApiError(
            415, "unsupported_media_type", "Send application/json or text/csv.",
            {"content_type": media_type},
        )  # fmt: skip
    try:
        body = ItemsIn.model_validate_json(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    if len(body.items) > MAX_ITEMS_PER_REQUEST:
        raise _too_many()
    return json_rows(body.items), on_error or body.on_error


def _too_many() -> ApiError:
    return ApiError(
        422, "too_many_items", f"At most {MAX_ITEMS_PER_REQUEST} items per request.",
        {"max_items": MAX_ITEMS_PER_REQUEST},
    )  # fmt: skip
