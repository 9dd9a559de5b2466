"""Schedule stage: every rendered post gets its due time in PostgreSQL.

The dispatcher (pipeline/publish/dispatch.py) claims posts when that time comes; nothing
waits in the broker for a future time (design invariant 4).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from briefcast.models.posts import PostStatus
from briefcast.models.repositories import pipeline as repo
from briefcast.models.runs import RunStatus, StageOutcome

STAGE = "schedule"


class ImagesPendingError(Exception):
    """Some post has no image yet; worth waiting for a little before failing the run."""


def schedule_run(session: Session, run_id: uuid.UUID) -> bool:
    """Give every rendered post its due time: the brief's publish_at, or now."""
    run = repo.get_run(session, run_id, lock=True)
    if run is None or run.status != RunStatus.RENDERING:
        return False
    brief = repo.get_brief(session, run.brief_id)
    assert brief is not None
    repo.start_stage(session, run_id, STAGE)
    due = brief.publish_at or datetime.now(UTC)
    posts = repo.posts_of_run(session, run_id)
    missing = [post.platform for post in posts if not post.image_path]
    if missing:
        # The chord fires when its counter is full; a render redelivered after a lost worker
        # can count twice, so the other image may still be on its way. The task retries.
        raise ImagesPendingError(f"no image was rendered for {', '.join(missing)}")
    for post in posts:
        if post.status == PostStatus.PENDING:
            post.status = PostStatus.SCHEDULED
            post.scheduled_at = due
    repo.set_run_status(session, run_id, RunStatus.SCHEDULED)
    repo.finish_stage(session, run_id, STAGE, StageOutcome.SUCCEEDED, {"due": due.isoformat()})
    return True
