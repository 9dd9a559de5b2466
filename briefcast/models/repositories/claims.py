"""Claims for beat-driven work: due posts, due metric reads, unsent outbox rows.

Every claim is `SELECT … FOR UPDATE SKIP LOCKED`, so several beats (or a beat restarted
mid-tick) never hand the same row to two workers. Posts and metric reads also carry a lease:
a row whose worker went silent comes back once the lease runs out.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import MetricSnapshot, Post, PostStatus
from briefcast.models.runs import Run


def lock_due_posts(
    session: Session,
    *,
    limit: int = 100,
    now: datetime | None = None,
    lookahead_s: float = 0.0,
) -> list[Post]:
    """Posts due by `now + lookahead_s`, and posts whose publishing lease lapsed, locked for
    the caller to decide."""
    now = now or datetime.now(UTC)
    due_by = now + timedelta(seconds=lookahead_s)
    due = or_(
        (Post.status.in_([PostStatus.SCHEDULED, PostStatus.UNKNOWN]))
        & (Post.scheduled_at <= due_by),
        (Post.status == PostStatus.PUBLISHING) & (Post.lease_expires_at < now),
    )
    return list(
        session.scalars(
            select(Post)
            .where(due)
            .order_by(Post.scheduled_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def publishing_per_platform(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Post.platform, func.count())
        .where(Post.status == PostStatus.PUBLISHING)
        .group_by(Post.platform)
    )
    return {platform: count for platform, count in rows}


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
