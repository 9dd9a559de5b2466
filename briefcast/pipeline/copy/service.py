"""Copy stage: ask the copy model for one variant per platform and store it on the posts.

Three short transactions around the model call, so no row lock is held while a remote
model thinks: claim the stage, write (no transaction open), store the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import lru_cache

from sqlalchemy.orm import Session

from briefcast.models.posts import PostStatus
from briefcast.models.repositories import pipeline as repo
from briefcast.models.runs import RunStatus, StageOutcome
from briefcast.pipeline.copy.model import CopyBrief, CopyModel
from briefcast.pipeline.copy.offline import OfflineCopywriter
from briefcast.pipeline.copy.openai_model import OpenAICopyModel
from briefcast.settings import get_settings

STAGE = "copy"
SessionScope = Callable[[], AbstractContextManager[Session]]


def default_copy_model() -> CopyModel:
    """OpenAI when a key is configured (the local sandbox in dev and tests), else offline."""
    settings = get_settings()
    if settings.openai_api_key is None:
        return OfflineCopywriter()
    return _openai_model(
        settings.openai_api_key.get_secret_value(), settings.openai_base_url, settings.openai_model
    )


@lru_cache(maxsize=4)
def _openai_model(key: str, base_url: str | None, model: str) -> CopyModel:
    # One SDK client (and its connection pool) per process and configuration.
    return OpenAICopyModel.from_settings(get_settings())


def _claim(session: Session, run_id: uuid.UUID) -> CopyBrief | None:
    run = repo.get_run(session, run_id, lock=True)
    if run is None or run.status not in (RunStatus.ACCEPTED, RunStatus.GENERATING):
        return None
    brief = repo.get_brief(session, run.brief_id)
    assert brief is not None  # a run always has its brief (FK, cascade)
    repo.start_stage(session, run_id, STAGE)
    repo.set_run_status(session, run_id, RunStatus.GENERATING)
    return CopyBrief(
        topic=brief.topic,
        key_points=list(brief.key_points),
        brand_voice=brief.brand_voice,
        audience=brief.audience,
        platforms=list(brief.platforms),
    )


def generate_copy(session_scope: SessionScope, run_id: uuid.UUID, model: CopyModel) -> bool:
    """Write copy for every post of the run. Returns False when the run is not at this stage."""
    with session_scope() as session:
        brief = _claim(session, run_id)
    if brief is None:
        return False
    result = model.write(brief)
    with session_scope() as session:
        run = repo.get_run(session, run_id, lock=True)
        if run is None or run.status != RunStatus.GENERATING:
            return False  # a duplicate delivery finished first
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
        detail = {"source": result.source, "usage": result.usage}
        repo.finish_stage(session, run_id, STAGE, StageOutcome.SUCCEEDED, detail)
    return True
