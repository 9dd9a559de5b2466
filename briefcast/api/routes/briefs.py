"""POST /api/v1/briefs: accept a brief and start its run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from briefcast.api.deps import IntakeDep, PrincipalDep
from briefcast.api.errors import error_responses
from briefcast.api.ratelimit import BRIEF_LIMITS
from briefcast.api.roles import EDITOR
from briefcast.api.schemas import BriefIn, RunAccepted, RunLinks

router = APIRouter(prefix="/api/v1", tags=["briefs"])


@router.post(
    "/briefs",
    status_code=202,
    response_model=RunAccepted,
    dependencies=[EDITOR, BRIEF_LIMITS],
    responses=error_responses(
        {
            409: "idempotency_conflict",
            422: "validation_error, idempotency_key_reused, unknown_brand_voice, unknown_upload",
        }
    ),
)
async def create_brief(
    body: BriefIn,
    principal: PrincipalDep,
    intake: IntakeDep,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> RunAccepted:
    accepted = await intake.submit(principal.organization_id, body, idempotency_key)
    if accepted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    link = f"/api/v1/runs/{accepted.run_id}"
    response.headers["Location"] = link
    return RunAccepted(
        run_id=accepted.run_id,
        brief_id=accepted.brief_id,
        status=accepted.status,
        links=RunLinks(self=link),
    )
