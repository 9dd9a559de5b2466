"""Claims for beat-driven work: due posts, due metric reads, unsent outbox rows.

Every claim is `SELECT … FOR UPDATE SKIP LOCKED`, so several beats (or a beat restarted
mid-tick) never hand the same row to two workers. Posts and metric reads also carry a lease:
a row whose worker went silent comes back once the lease runs out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, String, and_, cast, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from briefcast.models.accounts import PlatformAccount
from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import MetricSnapshot, Post, PostStatus
from briefcast.models.runs import Run

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])

# Every claim of posts for publishing holds this transaction-level advisory lock: the beat
# tick and the claims made when a publish settles queue on it, so the in-flight count an
# account's limit is checked against cannot change under a claim (two dispatchers, or a second
# beat, never exceed it). Claims are a few milliseconds; rows stay SKIP LOCKED for the rest.
PUBLISH_CLAIM_LOCK = 0x62726366_636C6D  # any fixed 64-bit key; "brcf clm"


def hold_publish_claim_lock(session: Session) -> None:
    session.execute(select(func.pg_advisory_xact_lock(PUBLISH_CLAIM_LOCK)))


def _account_key() -> ColumnElement[str]:
    # The account a post goes out through: its organization's connected account, or, where
    # settings allow it, the account configured in settings, shared by every organization
    # without one of its own (one key per platform).
    return func.coalesce(cast(PlatformAccount.id, String), literal("settings:") + Post.platform)


def _with_account(stmt: SelectT) -> SelectT:
    return stmt.join(Run, Run.id == Post.run_id).outerjoin(
        PlatformAccount,
        and_(
            PlatformAccount.organization_id == Run.organization_id,
            PlatformAccount.platform == Post.platform,
        ),
    )


@dataclass(frozen=True)
class DueCandidate:
    post_id: uuid.UUID
    account: str
    in_flight: int  # the account's posts already being published


def due_candidates(
    session: Session,
    *,
    due_by: datetime,
    per_account: int,
    limit: int,
    same_account_as: uuid.UUID | None = None,
) -> list[DueCandidate]:
    """Due posts, fairly: each organization's own posts on a platform are ranked by due time,
    and the list takes every account's first, then every account's second, … so one
    organization's backlog never pushes another's due post back. Accounts at their limit get
    none. `same_account_as` narrows it to that post's organization and platform.

    Hold the claim lock first; lock the chosen rows with `lock_posts` before changing them.
    """
    due = Post.status.in_([PostStatus.SCHEDULED, PostStatus.UNKNOWN]) & (
        Post.scheduled_at <= due_by
    )
    rank = func.row_number().over(
        partition_by=(Run.organization_id, Post.platform), order_by=(Post.scheduled_at, Post.id)
    )
    ranked = _with_account(
        select(
            Post.id,
            _account_key().label("account"),
            rank.label("rank"),
            Post.scheduled_at,
        ).select_from(Post)
    ).where(due)
    if same_account_as is not None:
        owner = (
            select(Run.organization_id, Post.platform)
            .join(Post, Post.run_id == Run.id)
            .where(Post.id == same_account_as)
        )
        ranked = ranked.where(tuple_(Run.organization_id, Post.platform).in_(owner))
    candidates = ranked.subquery()
    busy = (
        _with_account(select(_account_key().label("account"), func.count().label("n")))
        .select_from(Post)
        .where(Post.status == PostStatus.PUBLISHING)
        .group_by("account")
        .subquery()
    )
    in_flight = func.coalesce(busy.c.n, 0)
    rows = session.execute(
        select(candidates.c.id, candidates.c.account, in_flight)
        .outerjoin(busy, busy.c.account == candidates.c.account)
        .where(candidates.c.rank <= per_account - in_flight)
        .order_by(candidates.c.rank, candidates.c.scheduled_at)
        .limit(limit)
    )
    return [DueCandidate(post_id, account, n) for post_id, account, n in rows]


def lock_posts(session: Session, post_ids: list[uuid.UUID], *, due_by: datetime) -> list[Post]:
    """Those of `post_ids` still due and not locked by anyone else."""
    if not post_ids:
        return []
    return list(
        session.scalars(
            select(Post)
            .where(
                Post.id.in_(post_ids),
                Post.status.in_([PostStatus.SCHEDULED, PostStatus.UNKNOWN]),
                Post.scheduled_at <= due_by,
            )
            .with_for_update(skip_locked=True)
        )
    )


def lock_lapsed_posts(session: Session, *, now: datetime, limit: int = 100) -> list[Post]:
    """Posts whose publishing lease ran out: their worker went silent."""
    return list(
        session.scalars(
            select(Post)
            .where(Post.status == PostStatus.PUBLISHING, Post.lease_expires_at < now)
            .order_by(Post.lease_expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def claim_due_snapshots(
    session: Session, *, lease_s: int, limit: int = 100, now: datetime | None = None
) -> list[uuid.UUID]:
    now = now or datetime.now(UTC)
    rows = session.scalars(
        select(MetricSnapshot)
        .where(
            MetricSnapshot.collected_at.is_(None),
            MetricSnapshot.due_at <= now,
            or_(MetricSnapshot.lease_expires_at.is_(None), MetricSnapshot.lease_expires_at < now),
        )
        .order_by(MetricSnapshot.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.lease_expires_at = now + timedelta(seconds=lease_s)
    return [row.id for row in rows]


def claim_unsent_outbox(
    session: Session, *, older_than_s: int, limit: int = 100, now: datetime | None = None
) -> list[OutboxMessage]:
    now = now or datetime.now(UTC)
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.error.is_(None),
                OutboxMessage.created_at <= now - timedelta(seconds=older_than_s),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def lock_unsent_outbox(session: Session, outbox_ids: list[int]) -> list[OutboxMessage]:
    """These rows, if still unsent and not held by the sweep or another sender."""
    if not outbox_ids:
        return []
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.id.in_(outbox_ids),
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.error.is_(None),
            )
            .order_by(OutboxMessage.id)
            .with_for_update(skip_locked=True)
        )
    )


def lock_stuck_runs(
    session: Session, statuses: list[str], older_than_s: int, limit: int = 50
) -> list[tuple[Run, list[uuid.UUID]]]:
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    runs = session.scalars(
        select(Run)
        .where(Run.status.in_(statuses), Run.updated_at < cutoff)
        .order_by(Run.updated_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return [
        (run, list(session.scalars(select(Post.id).where(Post.run_id == run.id)))) for run in runs
    ]
