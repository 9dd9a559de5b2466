"""POST /api/v1/briefs: accept a brief and start its run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from briefcast.api.deps import PrincipalDep, SessionDep
from briefcast.api.errors import ApiError
from briefcast.api.intake import submit_brief
from briefcast.api.relay import relay_outbox
from briefcast.api.schemas import BriefIn, RunAccepted, RunLinks
from briefcast.models.repositories import ingest

router = APIRouter(prefix="/api/v1", tags=["briefs"])


@router.post("/briefs", status_code=202, response_model=RunAccepted)
async def create_brief(
    body: BriefIn,
    principal: PrincipalDep,
    session: SessionDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> RunAccepted:
    if await ingest.get_organization(session, principal.organization_id) is None:
        raise ApiError(403, "unknown_organization", "The token's organization does not exist.")
    intake = await submit_brief(session, principal.organization_id, body, idempotency_key)
    await session.commit()
    if intake.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    elif intake.outbox_id is not None:
        payload = {"run_id": str(intake.run_id), "post_ids": [str(p) for p in intake.post_ids]}
        await relay_outbox(
            request.app.state.sessionmaker, intake.outbox_id, ingest.RUN_SUBMITTED, payload
        )
    link = f"/api/v1/runs/{intake.run_id}"
    response.headers["Location"] = link
    return RunAccepted(
        run_id=intake.run_id,
        brief_id=intake.brief_id,
        status=intake.status,
        links=RunLinks(self=link),
    )
