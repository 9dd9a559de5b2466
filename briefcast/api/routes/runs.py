"""GET /api/v1/runs/{id}: a run's status, its posts and its timeline."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from briefcast.api.deps import PrincipalDep, SessionDep, SettingsDep
from briefcast.api.errors import ApiError
from briefcast.api.schemas import BriefSummary, PostOut, RunOut, StageOut
from briefcast.models.repositories import ingest

router = APIRouter(prefix="/api/v1", tags=["runs"])


@router.get("/runs/{run_id}", response_model=RunOut)
async def get_run(
    run_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> RunOut:
    view = await ingest.get_run_view(session, principal.organization_id, run_id)
    if view is None:
        # Another organization's run is indistinguishable from a missing one.
        raise ApiError(404, "run_not_found", f"No run {run_id}.")
    media_base = settings.public_base_url.rstrip("/") + "/media/"
    return RunOut(
        id=view.run.id,
        status=view.run.status,
        status_reason=view.run.status_reason,
        created_at=view.run.created_at,
        updated_at=view.run.updated_at,
        brief=BriefSummary(
            id=view.brief.id,
            topic=view.brief.topic,
            platforms=list(view.brief.platforms),
            publish_at=view.brief.publish_at,
        ),
        posts=[
            PostOut.model_validate(post).model_copy(
                update={"image_url": media_base + post.image_path if post.image_path else None}
            )
            for post in view.posts
        ],
        timeline=[
            StageOut(
                stage=event.stage,
                subject=event.subject,
                outcome=event.outcome,
                attempts=event.attempts,
                started_at=event.started_at,
                finished_at=event.finished_at,
                detail=event.detail,
            )
            for event in view.events
        ],
    )
