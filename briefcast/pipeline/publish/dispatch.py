"""The dispatcher: beat, every second, claims due posts for publishing or reconciling.

Nothing waits in the broker for a future time (design invariant 4): a post carries its due
time in PostgreSQL. The one exception is shorter than a tick: a post due before the next tick
is claimed on this one and its task sent with that due time as its ETA, so it starts on time
instead of up to a tick late (at most `DISPATCH_INTERVAL_S` in the broker, never far-future).

A claim sets a lease and a fresh claim id; the publish task acts only on the claim it was
sent for. A post whose lease lapsed after its attempt reached the platform may have been
posted, so it goes to `unknown`; an `unknown` post is claimed again to be reconciled (the
publishers check the platform before they send anything), a bounded number of times (design
invariant 5).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from briefcast.models.posts import AttemptOutcome, Post, PostStatus
from briefcast.models.repositories import claims
from briefcast.models.repositories import pipeline as repo

MAX_RECONCILES = 5
LAPSED_REASON = (
    "the worker publishing this post stopped answering after it contacted the platform; "
    "the post may exist there, so it is reconciled rather than sent again"
)
RECONCILE_DELAY_S = 5.0
#: Beat runs the dispatcher this often; posts due before the next run are claimed now.
DISPATCH_INTERVAL_S = 1.0


def gave_up_reason(platform: str) -> str:
    return (
        f"could not confirm with {platform} whether this post was published, after "
        f"{MAX_RECONCILES} checks; look at the {platform} account, and if the post is not "
        "there, submit the brief again"
    )


@dataclass(frozen=True)
class Claim:
    post_id: uuid.UUID
    claim_id: uuid.UUID
    # When to start: the post's due time if that is still ahead (within one tick), else None.
    start_at: datetime | None = None


def claim_due_posts(
    session: Session,
    lease_s: int,
    *,
    per_account: int = 4,
    limit: int = 100,
    now: datetime | None = None,
    lookahead_s: float = 0.0,
) -> list[Claim]:
    """Claim posts due by `now + lookahead_s` in the caller's transaction; send their tasks
    only after it commits, each not before its `start_at`."""
    now = now or datetime.now(UTC)
    claimed: list[Claim] = []
    touched_runs: set[uuid.UUID] = set()
    # One account per platform: at most `per_account` of its posts in flight at once.
    busy = Counter(claims.publishing_per_platform(session))
    for post in claims.lock_due_posts(session, limit=limit, now=now, lookahead_s=lookahead_s):
        if post.status == PostStatus.PUBLISHING and post.attempt_started_at is not None:
            _park_lapsed(session, post, now)
            touched_runs.add(post.run_id)
            continue
        if post.status == PostStatus.UNKNOWN and post.reconcile_attempts >= MAX_RECONCILES:
            post.status = PostStatus.FAILED
            post.status_reason = gave_up_reason(post.platform)
            touched_runs.add(post.run_id)
            continue
        if busy[post.platform] >= per_account and post.status != PostStatus.PUBLISHING:
            continue  # stays due; claimed on a later tick (no check is used up waiting)
        busy[post.platform] += post.status != PostStatus.PUBLISHING
        if post.status == PostStatus.UNKNOWN:
            post.reconcile_attempts += 1
        post.status = PostStatus.PUBLISHING
        post.claim_id = uuid.uuid4()
        post.lease_expires_at = now + timedelta(seconds=lease_s)
        due = post.scheduled_at
        claimed.append(
            Claim(post.id, post.claim_id, due if due is not None and due > now else None)
        )
    session.flush()
    for run_id in touched_runs:
        repo.refresh_run_status_from_posts(session, run_id)
    return claimed


def _park_lapsed(session: Session, post: Post, now: datetime) -> None:
    post.status = PostStatus.UNKNOWN
    post.status_reason = LAPSED_REASON
    post.claim_id = post.lease_expires_at = post.attempt_started_at = None
    post.scheduled_at = now + timedelta(seconds=RECONCILE_DELAY_S)
    repo.close_running_attempt(session, post.id, AttemptOutcome.STALE, LAPSED_REASON)
