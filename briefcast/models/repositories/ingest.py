"""Queries the API runs (async): accepting a brief in one transaction, reading a run back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import Post, PostAttempt
from briefcast.models.runs import Brief, Run, StageEvent
from briefcast.models.tenancy import Organization

RUN_SUBMITTED = "run.submitted"  # start (or restart) the run's canvas
RUN_APPROVED = "run.approved"  # a person approved the copy: render, schedule, publish


@dataclass(frozen=True)
class AcceptedRun:
    brief_id: uuid.UUID
    run_id: uuid.UUID
    outbox_id: int
    post_ids: list[uuid.UUID]


async def get_organization(session: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, org_id)


async def find_by_idempotency_key(
    session: AsyncSession, org_id: uuid.UUID, key: str
) -> tuple[Brief, Run] | None:
    row = (
        await session.execute(
            select(Brief, Run)
            .join(Run, Run.brief_id == Brief.id)
            .where(Brief.organization_id == org_id, Brief.idempotency_key == key)
            .order_by(Run.created_at)
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def insert_brief_run(session: AsyncSession, brief: Brief) -> AcceptedRun:
    """Brief, run, one post per platform and the outbox row, all in the caller's transaction."""
    session.add(brief)
    await session.flush()
    run = Run(brief_id=brief.id, organization_id=brief.organization_id)
    session.add(run)
    await session.flush()
    posts = [Post(run_id=run.id, platform=platform) for platform in brief.platforms]
    session.add_all(posts)
    await session.flush()
    post_ids = [post.id for post in posts]
    message = OutboxMessage(
        topic=RUN_SUBMITTED,
        payload={"run_id": str(run.id), "post_ids": [str(p) for p in post_ids]},
    )
    session.add(message)
    await session.flush()
    return AcceptedRun(brief_id=brief.id, run_id=run.id, outbox_id=message.id, post_ids=post_ids)


async def mark_outbox_sent(session: AsyncSession, outbox_id: int) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.sent_at.is_(None))
        .values(sent_at=datetime.now(UTC), send_attempts=OutboxMessage.send_attempts + 1)
    )


@dataclass(frozen=True)
class RunView:
    run: Run
    brief: Brief
    posts: list[Post]
    events: list[StageEvent]
    attempts: dict[uuid.UUID, list[PostAttempt]]


async def get_run_view(
    session: AsyncSession, org_id: uuid.UUID, run_id: uuid.UUID
) -> RunView | None:
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


async def ping(session: AsyncSession) -> None:
    await session.execute(text("SELECT 1"))
