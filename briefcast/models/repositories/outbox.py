"""Outbox rows: events written in the transaction of the data they belong to, sent after it
commits (the beat sweep's claims are in `claims`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.outbox import OutboxMessage
from briefcast.models.repositories.driver import invalidate_if_broken, raw_connection


@dataclass(frozen=True)
class OutboxEvent:
    outbox_id: int
    topic: str
    payload: Mapping[str, Any]


# Where a request's session keeps the events it wrote, for its owner to relay after commit.
_TO_RELAY = "briefcast.outbox.to_relay"


def add_many(session: Session, events: Sequence[tuple[str, dict[str, Any]]]) -> list[int]:
    """(topic, payload) rows in the worker's transaction, in one flush; their ids, to relay
    after the commit."""
    rows = [OutboxMessage(topic=topic, payload=payload) for topic, payload in events]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def add(session: Session, topic: str, payload: dict[str, Any]) -> int:
    return add_many(session, [(topic, payload)])[0]


async def add_to_relay(session: AsyncSession, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """A row in the API request's transaction, relayed by the session's owner (the session
    dependency) once that transaction commits: see `to_relay`."""
    row = OutboxMessage(topic=topic, payload=payload)
    session.add(row)
    await session.flush()
    event = OutboxEvent(row.id, topic, payload)
    session.info.setdefault(_TO_RELAY, []).append(event)
    return event


def to_relay(session: AsyncSession) -> list[OutboxEvent]:
    """The events `add_to_relay` wrote in this session, each handed out once."""
    events: list[OutboxEvent] = session.info.pop(_TO_RELAY, [])
    return events


def lock_unsent(session: Session, outbox_id: int) -> OutboxMessage | None:
    """The row, if still unsent and not held by the sweep or another sender."""
    return session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.error.is_(None),
        )
        .with_for_update(skip_locked=True)
    ).first()


async def mark_sent(conn: AsyncConnection, outbox_ids: Sequence[int]) -> int:
    """Mark rows sent (after their messages went out), in one statement; rows the sweep
    already marked are left as they are. Returns how many were marked here."""
    if not outbox_ids:
        return 0
    driver = await raw_connection(conn)
    try:
        status: str = await driver.execute(
            "UPDATE outbox SET sent_at = now(), send_attempts = send_attempts + 1 "
            "WHERE id = ANY($1::bigint[]) AND sent_at IS NULL",
            list(outbox_ids),
        )
    except BaseException as exc:
        await invalidate_if_broken(conn, exc)
        raise
    return int(status.rsplit(" ", 1)[-1])
