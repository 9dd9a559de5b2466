"""Briefs as accepted: each brief with its run, one post per platform and the run's outbox
row, written together (in one statement for the API, in four for a batch of a campaign's)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session

from briefcast.models.events import RUN_SUBMITTED, run_event_payload
from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import Post, PostStatus
from briefcast.models.repositories.driver import invalidate_if_broken, raw_connection
from briefcast.models.runs import Brief, Run, RunStatus


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


def get(session: Session, brief_id: uuid.UUID) -> Brief | None:
    return session.get(Brief, brief_id)


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


async def accept(
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
    driver = await raw_connection(conn)
    if driver.is_in_transaction():
        # Inside a transaction the statement would commit (or roll back) with it, after the
        # caller answered and relayed: the caller must give an autocommit connection.
        raise RuntimeError("accept needs a connection in autocommit")
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
        await invalidate_if_broken(conn, exc)
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


def insert_many(
    session: Session, new_runs: Sequence[tuple[NewBrief, uuid.UUID]]
) -> list[AcceptedRun]:
    """Briefs with their runs (ids chosen by the caller), posts and outbox rows, in four
    statements however many there are: the sync twin of `accept` for work that starts in a
    worker (a campaign's occurrences)."""
    if not new_runs:
        return []
    posts = {run_id: [uuid.uuid4() for _ in brief.platforms] for brief, run_id in new_runs}
    session.execute(insert(Brief), [_brief_row(brief) for brief, _ in new_runs])
    session.execute(
        insert(Run),
        [
            {"id": run_id, "brief_id": brief.id, "organization_id": brief.organization_id,
             "status": RunStatus.ACCEPTED.value, "copy_feedback": [], "regenerations": 0}
            for brief, run_id in new_runs
        ],
    )  # fmt: skip
    session.execute(
        insert(Post),
        [
            {"id": post_id, "run_id": run_id, "organization_id": brief.organization_id,
             "campaign_id": brief.campaign_id, "platform": platform,
             "status": PostStatus.PENDING.value, "hashtags": [], "copy_variants": [],
             "publish_attempts": 0, "reconcile_attempts": 0, "publish_progress": {}}
            for brief, run_id in new_runs
            for post_id, platform in zip(posts[run_id], brief.platforms, strict=True)
        ],
    )  # fmt: skip
    payloads = [run_event_payload(run_id, posts[run_id]) for _, run_id in new_runs]
    outbox_ids = session.scalars(
        insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
        [{"topic": RUN_SUBMITTED, "payload": p, "send_attempts": 0} for p in payloads],
    ).all()
    return [
        AcceptedRun(
            brief_id=brief.id, run_id=run_id, outbox_id=outbox_id, post_ids=posts[run_id],
            topic=RUN_SUBMITTED, payload=payload,
        )
        for (brief, run_id), outbox_id, payload in zip(new_runs, outbox_ids, payloads, strict=True)
    ]  # fmt: skip


def _brief_row(brief: NewBrief) -> dict[str, Any]:
    return {
        "id": brief.id, "organization_id": brief.organization_id,
        "campaign_id": brief.campaign_id, "brand_voice_id": brief.brand_voice_id,
        "variants": brief.variants, "template": brief.template, "quote": brief.quote,
        "attribution": brief.attribution, "photo_upload_id": brief.photo_upload_id,
        "photo_url": brief.photo_url, "topic": brief.topic, "key_points": brief.key_points,
        "brand_voice": brief.brand_voice, "audience": brief.audience,
        "brand_color": brief.brand_color, "platforms": brief.platforms,
        "publish_at": brief.publish_at, "best_time_zone": brief.best_time_zone,
        "idempotency_key": brief.idempotency_key,
        "request_hash": brief.request_hash,
    }  # fmt: skip
