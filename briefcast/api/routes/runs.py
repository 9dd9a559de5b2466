"""GET /api/v1/runs/{id}: a run's status, its posts and its timeline; and the review of copy
the gate stopped."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from briefcast.api.deps import PrincipalDep, SessionDep, SettingsDep
from briefcast.api.errors import ApiError, error_responses
from briefcast.api.ratelimit import ANALYTICS_LIMIT, PUBLISHING_LIMIT
from briefcast.api.roles import EDITOR
from briefcast.api.schemas import BriefSummary, PostOut, RunOut, StageOut
from briefcast.api.schemas.runs import AttemptOut, CopyInfo, ReviewIn, ReviewOut, UsageOut
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.repositories import usage as usage_repo
from briefcast.pipeline.check import review as review_service
from briefcast.pipeline.render.storage import media_url

router = APIRouter(prefix="/api/v1", tags=["runs"])
# The answer each refusal of a review gets.
_REVIEW_REFUSALS = {
    "run_not_found": 404,
    "run_not_in_review": 409,
    "unknown_platform": 422,
    "edited_copy_rejected": 422,
}


@router.get("/runs/{run_id}", response_model=RunOut, dependencies=[ANALYTICS_LIMIT])
async def get_run(
    run_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> RunOut:
    view = await runs_repo.get_view(session, principal.organization_id, run_id)
    if view is None:
        # Another organization's run is indistinguishable from a missing one.
        raise ApiError(404, "run_not_found", f"No run {run_id}.")
    usage = await usage_repo.summary(
        session, principal.organization_id, view.run.created_at, run_id=run_id
    )
    return RunOut(
        id=view.run.id,
        status=view.run.status,
        status_reason=view.run.status_reason,
        copy_info=CopyInfo(
            source=view.run.copy_source,
            fallback_reason=view.run.copy_fallback_reason,
            regenerations=view.run.regenerations,
            feedback=list(view.run.copy_feedback),
        ),
        usage=UsageOut(**{k: v for k, v in vars(usage).items() if k != "budget_usd"}),
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
                update={
                    "image_url": (
                        media_url(settings.public_base_url, post.image_path)
                        if post.image_path
                        else None
                    ),
                    "attempts": [AttemptOut.model_validate(a) for a in view.attempts[post.id]],
                }
            )
            for post in view.posts
        ],
        timeline=[StageOut.model_validate(event) for event in view.events],
    )


@router.post(
    "/runs/{run_id}/review",
    response_model=ReviewOut,
    dependencies=[EDITOR, PUBLISHING_LIMIT],
    responses=error_responses(
        {
            404: "run_not_found",
            409: "run_not_in_review",
            422: "validation_error, unknown_platform, edited_copy_rejected",
        }
    ),
)
async def review(
    run_id: uuid.UUID,
    body: ReviewIn,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> ReviewOut:
    """Approve (with optional edits, checked again) or reject copy the gate stopped."""
    edits = {p.value: edit.model_dump(exclude_none=True) for p, edit in body.edits.items()}
    try:
        status = await review_service.review_run(
            session,
            principal.organization_id,
            run_id,
            approve=body.decision == "approve",
            edits=edits,
            note=body.note,
            floor=settings.sentiment_floor,
        )
    except review_service.ReviewRefusedError as exc:
        status_code = _REVIEW_REFUSALS[exc.code]
        raise ApiError(status_code, exc.code, exc.message, exc.details) from exc
    return ReviewOut(run_id=run_id, status=status)
