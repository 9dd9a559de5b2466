"""Once publishing starts, a run's status is derived from its posts'."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy.orm import Session

from briefcast.models.posts import Post, PostStatus
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.runs import RunStatus

# While one of these is left, a failed post does not fail the run yet.
_STILL_GOING = frozenset({PostStatus.SCHEDULED, PostStatus.PUBLISHING, PostStatus.PENDING})


def derive(posts: Collection[Post]) -> tuple[RunStatus, str | None]:
    """The run's status and reason, from its posts."""
    statuses = {post.status for post in posts}
    reconnect = [p for p in posts if p.status == PostStatus.NEEDS_RECONNECT]
    if statuses == {PostStatus.PUBLISHED}:
        return RunStatus.PUBLISHED, None
    if reconnect:
        return RunStatus.NEEDS_RECONNECT, "; ".join(p.status_reason or "" for p in reconnect)
    if PostStatus.UNKNOWN in statuses:
        return RunStatus.PUBLISHING, "a post's outcome is unknown and needs reconciling"
    if PostStatus.FAILED in statuses and not statuses & _STILL_GOING:
        return RunStatus.FAILED, "one or more posts failed to publish"
    if PostStatus.PUBLISHING in statuses or PostStatus.PUBLISHED in statuses:
        return RunStatus.PUBLISHING, None
    return RunStatus.SCHEDULED, None


def refresh(session: Session, run_id: uuid.UUID) -> RunStatus:
    """Derive the run's status again and store it.

    The run row is locked first, so two posts settling at once derive it one after the other
    (each seeing the other's committed status) instead of both from a stale view.
    """
    runs_repo.get(session, run_id, lock=True)
    status, reason = derive(posts_repo.of_run(session, run_id))
    runs_repo.set_status(session, run_id, status, reason)
    return status
