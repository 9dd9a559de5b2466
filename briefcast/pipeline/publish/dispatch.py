"""The dispatcher: claims due posts for publishing or reconciling.

Beat runs it every second, and a settled publish claims its account's next due posts at once,
so a backlog drains at the speed of the workers, not of the clock. Claims are fair across
organizations (every account's first due post before any account's second) and bounded per
account: its organization's connected account, so one tenant's burst neither uses up another's
limit nor pushes its posts back.

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from briefcast.models.posts import AttemptOutcome, Post, PostStatus
from briefcast.models.repositories import claims
from briefcast.models.repositories import posts as posts_repo
from briefcast.observability import metrics
from briefcast.pipeline.publish import run_status

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
    limit: int = 200,
    now: datetime | None = None,
    lookahead_s: float = 0.0,
) -> list[Claim]:
    """The beat tick: settle lapsed leases, then claim posts due by `now + lookahead_s`, fairly
    across organizations, at most `per_account` in flight per account. Runs in the caller's
    transaction; send the tasks only after it commits, each not before its `start_at`."""
    now = now or datetime.now(UTC)
    claims.hold_publish_claim_lock(session)
    claimed, touched_runs = _take_over_lapsed(session, now, lease_s)
    due_by = now + timedelta(seconds=lookahead_s)
    candidates = claims.due_candidates(session, due_by=due_by, per_account=per_account, limit=limit)
    claimed += _claim(session, candidates, per_account, lease_s, now, due_by, touched_runs)
    _refresh_runs(session, touched_runs)
    return claimed


def claim_next_for_account(
    session: Session,
    settled_post_id: uuid.UUID,
    lease_s: int,
    *,
    per_account: int = 4,
    now: datetime | None = None,
) -> list[Claim]:
    """A publish settled: claim the due posts its account has room for now, without waiting
    for the next tick (which stays the safety net). Same lock, fairness and limit as a tick."""
    now = now or datetime.now(UTC)
    claims.hold_publish_claim_lock(session)
    candidates = claims.due_candidates(
        session, due_by=now, per_account=per_account, limit=per_account,
        same_account_as=settled_post_id,
    )  # fmt: skip
    touched_runs: set[uuid.UUID] = set()
    claimed = _claim(session, candidates, per_account, lease_s, now, now, touched_runs)
    _refresh_runs(session, touched_runs)
    return claimed


def _refresh_runs(session: Session, run_ids: set[uuid.UUID]) -> None:
    """The runs whose posts a claim failed or parked: their status follows the posts."""
    session.flush()
    for run_id in run_ids:
        run_status.refresh(session, run_id)


def _take_over_lapsed(
    session: Session, now: datetime, lease_s: int
) -> tuple[list[Claim], set[uuid.UUID]]:
    """A lapsed claim that never reached the platform is claimed afresh (it still counts as
    in flight for its account); one that did may have posted, so it is parked as unknown."""
    claimed: list[Claim] = []
    touched_runs: set[uuid.UUID] = set()
    for post in claims.lock_lapsed_posts(session, now=now):
        if post.attempt_started_at is not None:
            _park_lapsed(session, post, now)
            touched_runs.add(post.run_id)
        else:
            claimed.append(_take(post, lease_s, now))
    return claimed, touched_runs


def _claim(
    session: Session,
    candidates: list[claims.DueCandidate],
    per_account: int,
    lease_s: int,
    now: datetime,
    due_by: datetime,
    touched_runs: set[uuid.UUID],
) -> list[Claim]:
    locked = {p.id: p for p in claims.lock_posts(session, [c.post_id for c in candidates],
                                                  due_by=due_by)}  # fmt: skip
    in_flight = {c.account: c.in_flight for c in candidates}
    claimed = []
    for candidate in candidates:  # in fair order: every account's first, then second, …
        post = locked.get(candidate.post_id)
        if post is None:
            continue  # another claim took it since the candidates were read
        if post.status == PostStatus.UNKNOWN and post.reconcile_attempts >= MAX_RECONCILES:
            post.status = PostStatus.FAILED
            post.status_reason = gave_up_reason(post.platform)
            metrics.record_publish_outcome(post.platform, "reconcile_gave_up", post.status)
            touched_runs.add(post.run_id)
            continue
        if in_flight[candidate.account] >= per_account:
            continue  # stays due (no reconcile check is used up waiting)
        in_flight[candidate.account] += 1
        if post.status == PostStatus.UNKNOWN:
            post.reconcile_attempts += 1
        claimed.append(_take(post, lease_s, now))
    return claimed


def _take(post: Post, lease_s: int, now: datetime) -> Claim:
    post.status = PostStatus.PUBLISHING
    post.claim_id = uuid.uuid4()
    post.lease_expires_at = now + timedelta(seconds=lease_s)
    due = post.scheduled_at
    return Claim(post.id, post.claim_id, due if due is not None and due > now else None)


def _park_lapsed(session: Session, post: Post, now: datetime) -> None:
    post.status = PostStatus.UNKNOWN
    post.status_reason = LAPSED_REASON
    post.claim_id = post.lease_expires_at = post.attempt_started_at = None
    post.scheduled_at = now + timedelta(seconds=RECONCILE_DELAY_S)
    posts_repo.close_running_attempt(session, post.id, AttemptOutcome.STALE, LAPSED_REASON)
    metrics.record_publish_outcome(post.platform, AttemptOutcome.STALE, post.status)
