"""The dispatcher: beat, every second, claims due posts for publishing.

Nothing waits in the broker for a future time (design invariant 4): a post carries its due
time in PostgreSQL. A claim sets a lease and a fresh claim id; the publish task acts only on
the claim it was sent for. A post whose lease lapsed is claimed again only if its attempt
never reached the platform; one that did may have been posted, so it goes to `unknown` for
reconciliation instead of being sent again (design invariant 5).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from briefcast.models.posts import PostStatus
from briefcast.models.repositories import claims
from briefcast.models.repositories import pipeline as repo

LAPSED_REASON = (
    "the worker publishing this post stopped answering after it contacted the platform; "
    "the post may exist there, so it is reconciled rather than sent again"
)


@dataclass(frozen=True)
class Claim:
    post_id: uuid.UUID
    claim_id: uuid.UUID


def claim_due_posts(
    session: Session, lease_s: int, *, limit: int = 100, now: datetime | None = None
) -> list[Claim]:
    """Claim due posts in the caller's transaction; send their tasks only after it commits."""
    now = now or datetime.now(UTC)
    claimed: list[Claim] = []
    lapsed_runs: set[uuid.UUID] = set()
    for post in claims.lock_due_posts(session, limit=limit, now=now):
        if post.status == PostStatus.PUBLISHING and post.attempt_started_at is not None:
            post.status = PostStatus.UNKNOWN
            post.status_reason = LAPSED_REASON
            post.claim_id = post.lease_expires_at = post.attempt_started_at = None
            lapsed_runs.add(post.run_id)
            continue
        post.status = PostStatus.PUBLISHING
        post.claim_id = uuid.uuid4()
        post.lease_expires_at = now + timedelta(seconds=lease_s)
        claimed.append(Claim(post.id, post.claim_id))
    session.flush()
    for run_id in lapsed_runs:
        repo.refresh_run_status_from_posts(session, run_id)
    return claimed
