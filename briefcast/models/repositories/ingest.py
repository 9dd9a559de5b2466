"""Queries the API runs (async): accepting a brief in one statement, reading a run back."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from briefcast.models.media import MediaUpload
from briefcast.models.posts import Post, PostAttempt, PostStatus
from briefcast.models.runs import Brief, Run, RunStatus, StageEvent
from briefcast.models.tenancy import Organization

RUN_SUBMITTED = "run.submitted"  # start (or restart) the run's canvas
RUN_APPROVED = "run.approved"  # a person approved the copy: render, schedule, publish


def run_event_payload(
    run_id: uuid.UUID, post_ids: Sequence[uuid.UUID | str], request_id: str | None = None
) -> dict[str, Any]:
    """The payload of both run events: the one shape every sender and task agrees on. The
    request id, when there is one, travels as a message header (`outbox.service.send`)."""
    payload: dict[str, Any] = {"run_id": str(run_id), "post_ids": [str(p) for p in post_ids]}
    if request_id is not None:
        payload["request_id"] = request_id
    return payload


@dataclass(frozen=True)
class NewBrief:
    """A brief as accepted: every column of its row, with the ids chosen by the caller."""

    id: uuid.UUID
    organization_id: uuid.UUID
    topic: str
    key_points: list[str]
    brand_voice: str
    audience: str
    brand_color: str
    platforms: list[str]
    request_hash: str
    brand_voice_id: uuid.UUID | None = None
    variants: int = 1
    template: str = "headline"
    quote: str | None = None
    attribution: str | None = None
    photo_upload_id: uuid.UUID | None = None
    photo_url: str | None = None
    publish_at: datetime | None = None
    # publish_at "best": the zone its weekday and hour are chosen in (publish_at then is the
    # earliest time, or None for as soon as ready).
    best_time_zone: str | None = None
    idempotency_key: str | None = None
    campaign_id: uuid.UUID | None = None  # set by the campaign materializer only


@dataclass(frozen=True)
class AcceptedRun:
    brief_id: uuid.UUID
    run_id: uuid.UUID
    outbox_id: int
    post_ids: list[uuid.UUID]
    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class KeyedRun:
    """What an Idempotency-Key already stands for."""

    brief_id: uuid.UUID
    run_id: uuid.UUID
    status: str
    request_hash: str


class UnknownOrganizationError(LookupError):
    """The brief names an organization that does not exist (its token outlived it)."""


# Brief, run, one post per platform and the outbox row in one statement, so in one implicit
# transaction and one round trip. Ids come from the caller, so nothing has to be read back
# between the inserts. A brief whose Idempotency-Key is taken inserts nothing (ON CONFLICT
# waits for a concurrent holder of the key to commit or roll back), and the statement returns
# no row. The organization check is the briefs -> organizations foreign key. Columns the
# models default in Python are given here: the ORM is not in the way to fill them in.
_ACCEPT_SQL = """
WITH brief AS (
    INSERT INTO briefs (
        id, organization_id, brand_voice_id, variants, template, quote, attribution,
        photo_upload_id, photo_url, topic, key_points, brand_voice, audience, brand_color,
        platforms, publish_at, idempotency_key, request_hash, best_time_zone
    )
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $27)
    ON CONFLICT (organization_id, idempotency_key) DO NOTHING
    RETURNING id, organization_id, campaign_id
), run AS (
    INSERT INTO runs (
        id, brief_id, organization_id, status, copy_feedback, regenerations, request_id
    )
    SELECT $19, brief.id, brief.organization_id, $20, '[]', 0, $26 FROM brief
    RETURNING id, organization_id
), post AS (
    INSERT INTO posts (
        id, run_id, organization_id, campaign_id, platform, status, hashtags, copy_variants,
        publish_attempts, reconcile_attempts, publish_progress
    )
    SELECT p.id, run.id, run.organization_id, brief.campaign_id, p.platform, $21, '[]', '[]',
        0, 0, '{}'
    FROM run, brief, unnest($22::uuid[], $23::varchar[]) AS p (id, platform)
)
INSERT INTO outbox (topic, payload, send_attempts)
SELECT $24, $25, 0 FROM run
RETURNING id
"""
_ORGANIZATION_FK = "fk_briefs_organization_id_organizations"
# Errors the server sends as it drops the connection, and errors of the connection itself.
_CONNECTION_GONE = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


async def get_organization(session: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, org_id)


async def accept_brief(
    conn: AsyncConnection, new: NewBrief, request_id: str | None = None
) -> AcceptedRun | None:
    """Store a brief with its run, posts and outbox row (one statement, one transaction).

    `conn` must be in autocommit (`session.autocommit_connection`): the statement commits by
    itself. Returns None, having written nothing, when the brief's Idempotency-Key is taken;
    raises UnknownOrganizationError when its organization does not exist. `request_id` (the
    submitting request's) is stored with the run and carried by its event.
    """
    run_id = uuid.uuid4()
    post_ids = [uuid.uuid4() for _ in new.platforms]
    payload = run_event_payload(run_id, post_ids, request_id)
    driver = await _driver(conn)
    if driver.is_in_transaction():
        # Inside a transaction the statement would commit (or roll back) with it, after the
        # caller answered and relayed: the caller must give an autocommit connection.
        raise RuntimeError("accept_brief needs a connection in autocommit")
    try:
        outbox_id = await driver.fetchval(
            _ACCEPT_SQL,
            new.id, new.organization_id, new.brand_voice_id, new.variants, new.template,
            new.quote, new.attribution, new.photo_upload_id, new.photo_url, new.topic,
            json.dumps(new.key_points), new.brand_voice, new.audience, new.brand_color,
            json.dumps(new.platforms), new.publish_at, new.idempotency_key, new.request_hash,
            run_id, RunStatus.ACCEPTED.value,
            PostStatus.PENDING.value, post_ids, new.platforms,
            RUN_SUBMITTED, json.dumps(payload), request_id, new.best_time_zone,
        )  # fmt: skip
    except asyncpg.ForeignKeyViolationError as exc:
        if exc.constraint_name == _ORGANIZATION_FK:
            raise UnknownOrganizationError(str(new.organization_id)) from exc
        raise
    except BaseException as exc:
        await _invalidate_if_broken(conn, exc)
        raise
    if outbox_id is None:
        return None
    return AcceptedRun(
        brief_id=new.id,
        run_id=run_id,
        outbox_id=outbox_id,
        post_ids=post_ids,
        topic=RUN_SUBMITTED,
        payload=payload,
    )


async def find_keyed_run(conn: AsyncConnection, org_id: uuid.UUID, key: str) -> KeyedRun | None:
    """The brief an organization already sent with this Idempotency-Key, and its first run."""
    row = (
        await conn.execute(
            select(Brief.id, Run.id, Run.status, Brief.request_hash)
            .join(Run, Run.brief_id == Brief.id)
            .where(Brief.organization_id == org_id, Brief.idempotency_key == key)
            .order_by(Run.created_at)
            .limit(1)
        )
    ).first()
    return None if row is None else KeyedRun(*row)


async def organization_exists(conn: AsyncConnection, org_id: uuid.UUID) -> bool:
    found = await conn.scalar(select(Organization.id).where(Organization.id == org_id))
    return found is not None


async def upload_owner(conn: AsyncConnection, upload_id: uuid.UUID) -> uuid.UUID | None:
    owner: uuid.UUID | None = await conn.scalar(
        select(MediaUpload.organization_id).where(MediaUpload.id == upload_id)
    )
    return owner


async def mark_outbox_sent(conn: AsyncConnection, outbox_ids: Sequence[int]) -> int:
    """Mark rows sent (after their messages went out), in one statement; rows the sweep
    already marked are left as they are. Returns how many were marked here."""
    if not outbox_ids:
        return 0
    driver = await _driver(conn)
    try:
        status: str = await driver.execute(
            "UPDATE outbox SET sent_at = now(), send_attempts = send_attempts + 1 "
            "WHERE id = ANY($1::bigint[]) AND sent_at IS NULL",
            list(outbox_ids),
        )
    except BaseException as exc:
        await _invalidate_if_broken(conn, exc)
        raise
    return int(status.rsplit(" ", 1)[-1])


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, for the hot statements: SQLAlchemy's execution
    layer costs about as much CPU as the statement itself there (measured in bench.ingress).
    The connection stays checked out from, and returned to, SQLAlchemy's pool."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def _invalidate_if_broken(conn: AsyncConnection, exc: BaseException) -> None:
    """What SQLAlchemy does for statements it runs itself: a connection that failed below
    the SQL level (dropped, cancelled mid-statement) must not go back to the pool."""
    if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, _CONNECTION_GONE):
        return  # the server answered an error: the connection is fine
    with contextlib.suppress(Exception):
        await conn.invalidate(exc if isinstance(exc, Exception) else None)


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
