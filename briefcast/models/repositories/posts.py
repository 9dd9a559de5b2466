"""Posts with their publish attempts and metric snapshots (the claims on them are in
`claims`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.posts import AttemptOutcome, MetricSnapshot, Post, PostAttempt
from briefcast.models.runs import Run


def get(session: Session, post_id: uuid.UUID, *, lock: bool = False) -> Post | None:
    stmt = select(Post).where(Post.id == post_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def of_run(session: Session, run_id: uuid.UUID) -> list[Post]:
    return list(session.scalars(select(Post).where(Post.run_id == run_id).order_by(Post.platform)))


async def of_run_async(session: AsyncSession, run_id: uuid.UUID) -> list[Post]:
    rows = await session.scalars(select(Post).where(Post.run_id == run_id).order_by(Post.platform))
    return list(rows)


def organization_of(session: Session, post_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(
        select(Run.organization_id).join(Post, Post.run_id == Run.id).where(Post.id == post_id)
    )


def save_publish_progress(
    session: Session,
    post_id: uuid.UUID,
    container_id: str | None,
    platform_post_id: str | None,
    permalink: str | None,
    progress: dict[str, str],
) -> None:
    """The platform ids known so far, in one statement (no read: the claim owns the row)."""
    session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(
            container_id=container_id,
            platform_post_id=platform_post_id,
            permalink=permalink,
            publish_progress=progress,
        )
    )


# ---- attempts --------------------------------------------------------------------------------


def start_attempt(
    session: Session,
    post: Post,
    kind: str,
    request: dict[str, Any],
    previous: PostAttempt | None,
) -> PostAttempt:
    """The next attempt after `previous`, the post's last one (`last_attempt`), if any."""
    number = previous.number + 1 if previous is not None else 1
    attempt = PostAttempt(post_id=post.id, number=number, kind=kind, request=request)
    session.add(attempt)
    return attempt


def last_attempt(session: Session, post_id: uuid.UUID) -> PostAttempt | None:
    return session.scalars(
        select(PostAttempt)
        .where(PostAttempt.post_id == post_id)
        .order_by(PostAttempt.number.desc())
        .limit(1)
    ).first()


def close_running_attempt(
    session: Session,
    post_id: uuid.UUID,
    outcome: str,
    error: str | None = None,
    error_class: str | None = None,
) -> None:
    attempt = last_attempt(session, post_id)
    if attempt is None or attempt.outcome != AttemptOutcome.RUNNING:
        return
    post = session.get(Post, post_id)
    attempt.outcome = outcome
    attempt.finished_at = datetime.now(UTC)
    attempt.error = error
    attempt.error_class = error_class
    if post is not None:
        attempt.container_id = post.container_id
        attempt.platform_post_id = post.platform_post_id


def count_attempts(session: Session, post_id: uuid.UUID, outcome: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                PostAttempt.post_id == post_id, PostAttempt.outcome == outcome
            )
        )
        or 0
    )


# ---- metric snapshots ------------------------------------------------------------------------


def add_metric_snapshots(
    session: Session, post_id: uuid.UUID, published_at: datetime, offsets_s: list[int]
) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "post_id": post_id,
            "offset_s": offset,
            "due_at": published_at + timedelta(seconds=offset),
            "metrics": {},
        }
        for offset in offsets_s
    ]
    if rows:
        session.execute(insert(MetricSnapshot).values(rows).on_conflict_do_nothing())


def get_snapshot(session: Session, snapshot_id: uuid.UUID) -> MetricSnapshot | None:
    return session.get(MetricSnapshot, snapshot_id)
