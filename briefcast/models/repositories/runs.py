"""Runs and their stages: status changes and the timeline (sync, in workers), and what the
API reads back or locks for a review (async)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.posts import Post, PostAttempt
from briefcast.models.runs import Brief, Run, RunStatus, StageEvent, StageOutcome


def get(session: Session, run_id: uuid.UUID, *, lock: bool = False) -> Run | None:
    stmt = select(Run).where(Run.id == run_id)
    if lock:
        # FOR NO KEY UPDATE: runs are locked to change their status, never their key, and
        # this lock, unlike FOR UPDATE, leaves the share locks that rows referencing the run
        # take (stage events, posts) alone, so two posts settling at once queue, not deadlock.
        stmt = stmt.with_for_update(key_share=True)
    return session.scalars(stmt).first()


# A run in one of these still has content or image work ahead of it.
_BEFORE_PUBLISHING = (
    RunStatus.ACCEPTED, RunStatus.GENERATING, RunStatus.CHECKING, RunStatus.RENDERING,
)  # fmt: skip


def organization_backlog(session: Session, run_id: uuid.UUID) -> int:
    """How many runs of this run's organization (this one included) are before publishing."""
    owner = select(Run.organization_id).where(Run.id == run_id).scalar_subquery()
    count = session.scalar(
        select(func.count()).where(Run.organization_id == owner, Run.status.in_(_BEFORE_PUBLISHING))
    )
    return count or 0


def set_status(
    session: Session, run_id: uuid.UUID, status: RunStatus, reason: str | None = None
) -> None:
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(status=status, status_reason=reason, updated_at=datetime.now(UTC))
    )


def start_stage(session: Session, run_id: uuid.UUID, stage: str, subject: str = "run") -> None:
    """Open (or, on a retry or redelivery, reopen and count) the timeline entry for a stage."""
    session.execute(
        insert(StageEvent)
        .values(
            id=uuid.uuid4(),
            run_id=run_id,
            stage=stage,
            subject=subject,
            outcome=StageOutcome.RUNNING,
            attempts=1,
            started_at=datetime.now(UTC),
            detail={},
        )
        .on_conflict_do_update(
            index_elements=["run_id", "stage", "subject"],
            set_={
                "attempts": StageEvent.attempts + 1,
                "outcome": StageOutcome.RUNNING,
                "finished_at": None,
            },
        )
    )


def finish_stage(
    session: Session,
    run_id: uuid.UUID,
    stage: str,
    outcome: StageOutcome,
    detail: dict[str, Any] | None = None,
    subject: str = "run",
) -> None:
    """Close the entry; an upsert, so a stage whose start was rolled back still shows up."""
    now = datetime.now(UTC)
    values = {"outcome": outcome, "finished_at": now, "detail": detail or {}}
    session.execute(
        insert(StageEvent)
        .values(
            id=uuid.uuid4(), run_id=run_id, stage=stage, subject=subject, attempts=1,
            started_at=now, **values,
        )
        .on_conflict_do_update(index_elements=["run_id", "stage", "subject"], set_=values)
    )  # fmt: skip


# ---- the API (async) ------------------------------------------------------------------------


async def lock_for_review(
    session: AsyncSession, org_id: uuid.UUID, run_id: uuid.UUID
) -> Run | None:
    """The organization's run, locked while a review changes it and its posts."""
    stmt = select(Run).where(Run.id == run_id, Run.organization_id == org_id).with_for_update()
    return (await session.scalars(stmt)).first()


@dataclass(frozen=True)
class RunView:
    run: Run
    brief: Brief
    posts: list[Post]
    events: list[StageEvent]
    attempts: dict[uuid.UUID, list[PostAttempt]]


async def get_view(session: AsyncSession, org_id: uuid.UUID, run_id: uuid.UUID) -> RunView | None:
    row = (
        await session.execute(
            select(Run, Brief)
            .join(Brief, Brief.id == Run.brief_id)
            .where(Run.id == run_id, Run.organization_id == org_id)
        )
    ).first()
    if row is None:
        return None
    posts = (
        await session.scalars(select(Post).where(Post.run_id == run_id).order_by(Post.platform))
    ).all()
    events = (
        await session.scalars(
            select(StageEvent)
            .where(StageEvent.run_id == run_id)
            .order_by(StageEvent.started_at, StageEvent.stage, StageEvent.subject)
        )
    ).all()
    attempts: dict[uuid.UUID, list[PostAttempt]] = {post.id: [] for post in posts}
    for attempt in await session.scalars(
        select(PostAttempt)
        .where(PostAttempt.post_id.in_(list(attempts)))
        .order_by(PostAttempt.number)
    ):
        attempts[attempt.post_id].append(attempt)
    return RunView(
        run=row[0], brief=row[1], posts=list(posts), events=list(events), attempts=attempts
    )
