"""Schedule stage: every rendered post gets its due time in PostgreSQL.

The dispatcher (pipeline/publish/dispatch.py) claims posts when that time comes; nothing
waits in the broker for a future time (design invariant 4).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from briefcast.models.posts import PostStatus
from briefcast.models.repositories import briefs as briefs_repo
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.runs import Brief, RunStatus, StageOutcome
from briefcast.pipeline.analytics import best_time

STAGE = "schedule"


class ImagesPendingError(Exception):
    """Some post has no image yet; worth waiting for a little before failing the run."""


def schedule_run(session: Session, run_id: uuid.UUID) -> bool:
    """Give every rendered post its due time: the brief's publish_at, or now; for
    publish_at "best", each post the best time its own platform's engagement suggests."""
    run = runs_repo.get(session, run_id, lock=True)
    if run is None or run.status != RunStatus.RENDERING:
        return False
    brief = briefs_repo.get(session, run.brief_id)
    assert brief is not None
    runs_repo.start_stage(session, run_id, STAGE)
    now = datetime.now(UTC)
    due = brief.publish_at or now
    posts = posts_repo.of_run(session, run_id)
    missing = [post.platform for post in posts if not post.image_path]
    if missing:
        # The chord fires when its counter is full; a render redelivered after a lost worker
        # can count twice, so the other image may still be on its way. The task retries.
        raise ImagesPendingError(f"no image was rendered for {', '.join(missing)}")
    chosen = _best_times(session, brief, [p.platform for p in posts], now)
    detail: dict[str, Any] = {"due": due.isoformat()}
    if chosen:
        # Where the run view shows it: the timeline's schedule entry, per platform.
        due = min(best.at for best in chosen.values())
        detail = {
            "due": due.isoformat(),
            "best_time": {
                platform: {"at": best.at.isoformat(), "reason": best.reason}
                for platform, best in chosen.items()
            },
        }
    for post in posts:
        if post.status == PostStatus.PENDING:
            post.status = PostStatus.SCHEDULED
            post.scheduled_at = chosen[post.platform].at if chosen else due
    runs_repo.set_status(session, run_id, RunStatus.SCHEDULED)
    runs_repo.finish_stage(session, run_id, STAGE, StageOutcome.SUCCEEDED, detail)
    return True


def _best_times(
    session: Session, brief: Brief, platforms: list[str], now: datetime
) -> dict[str, best_time.BestTime]:
    """publish_at "best": each platform's own best time (its audience keeps its own hours),
    after the brief's publish_at (a campaign's occurrence) and never sooner than the lead
    time from now. Empty for a brief with a fixed time."""
    if brief.best_time_zone is None:
        return {}
    not_before = max(now + best_time.LEAD, brief.publish_at or now)
    return {
        platform: best_time.best_time(
            session, brief.organization_id, brief.best_time_zone, not_before, now, platform
        )
        for platform in platforms
    }
