"""Render stage: one image per post, stored by content hash."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from briefcast.models.repositories import pipeline as repo
from briefcast.models.runs import RunStatus, StageOutcome
from briefcast.pipeline.render.images import render_headline_card
from briefcast.pipeline.render.storage import LocalMediaStore

STAGE = "render"


def render_post_image(session: Session, post_id: uuid.UUID, store: LocalMediaStore) -> str | None:
    """Render and store the post's image; returns the media key, None if the run is halted."""
    post = repo.get_post(session, post_id, lock=True)
    if post is None:
        return None
    run = repo.get_run(session, post.run_id)
    assert run is not None
    if run.status != RunStatus.RENDERING:
        return None
    brief = repo.get_brief(session, run.brief_id)
    assert brief is not None
    repo.start_stage(session, run.id, STAGE, post.platform)
    image = render_headline_card(post.headline or brief.topic, post.platform, brief.brand_color)
    key = store.put(image.data)
    post.image_path = key
    repo.finish_stage(
        session,
        run.id,
        STAGE,
        StageOutcome.SUCCEEDED,
        {"image": key, "bytes": len(image.data), "size": f"{image.width}x{image.height}"},
        post.platform,
    )
    return key
