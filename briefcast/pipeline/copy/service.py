"""Copy stage: ask the copy model for one variant per platform and store it on the posts."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from briefcast.models.posts import PostStatus
from briefcast.models.repositories import pipeline as repo
from briefcast.models.runs import RunStatus, StageOutcome
from briefcast.pipeline.copy.model import CopyBrief, CopyModel
from briefcast.pipeline.copy.offline import OfflineCopywriter

STAGE = "copy"


def default_copy_model() -> CopyModel:
    # The OpenAI adapter arrives with the contract sandboxes; until then copy is offline.
    return OfflineCopywriter()


def generate_copy(session: Session, run_id: uuid.UUID, model: CopyModel | None = None) -> bool:
    """Write copy for every post of the run. Returns False when the run is not active."""
    run = repo.get_run(session, run_id, lock=True)
    if run is None or run.status not in (RunStatus.ACCEPTED, RunStatus.GENERATING):
        return False
    brief = repo.get_brief(session, run.brief_id)
    assert brief is not None  # a run always has its brief (FK, cascade)
    repo.start_stage(session, run_id, STAGE)
    repo.set_run_status(session, run_id, RunStatus.GENERATING)
    model = model or default_copy_model()
    result = model.write(
        CopyBrief(
            topic=brief.topic,
            key_points=list(brief.key_points),
            brand_voice=brief.brand_voice,
            audience=brief.audience,
            platforms=list(brief.platforms),
        )
    )
    by_platform = {variant.platform: variant for variant in result.variants}
    for post in repo.posts_of_run(session, run_id):
        variant = by_platform[post.platform]
        post.caption = variant.caption
        post.hashtags = variant.hashtags
        post.headline = variant.headline
        post.alt_text = variant.alt_text
        post.copy_source = result.source
        post.status = PostStatus.PENDING
    repo.set_run_status(session, run_id, RunStatus.CHECKING)
    repo.finish_stage(session, run_id, STAGE, StageOutcome.SUCCEEDED, {"source": result.source})
    return True
