"""The API's outbox relay and accept statement, against the real PostgreSQL (and Redis).

The relay sends committed rows in batches off the request path and marks them sent in one
UPDATE per batch; whatever it cannot send stays unsent for the beat sweep, and the sweep
never resends what it marked.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import Celery
from sqlalchemy import select

from briefcast.api.relay import OutboxRelay, send_batch
from briefcast.models import OutboxMessage
from briefcast.models.events import RUN_SUBMITTED
from briefcast.models.repositories import briefs, tenancy
from briefcast.models.repositories import outbox as outbox_repo
from briefcast.models.repositories.outbox import OutboxEvent
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.session import autocommit_connection, create_api_engine, worker_session
from briefcast.pipeline.broker import delete_queues
from briefcast.pipeline.celery_app import app as product_app
from briefcast.pipeline.outbox import service as outbox

pytestmark = pytest.mark.integration


class FakeCelery:
    """What the relay uses of a Celery app; records each send, or fails them all."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.batches = 0

    @contextmanager
    def producer_or_acquire(self) -> Iterator[FakeCelery]:
        yield self

    @contextmanager
    def batch(self) -> Iterator[None]:
        self.batches += 1
        yield

    def send_task(self, name: str, kwargs: dict[str, Any], **_: Any) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((name, kwargs))


def _outbox_rows(n: int) -> list[int]:
    with worker_session() as session:
        rows = [
            OutboxMessage(
                topic=RUN_SUBMITTED, payload={"run_id": str(uuid.uuid4()), "post_ids": []}
            )
            for _ in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _sent() -> dict[int, int]:
    """send_attempts of the rows marked sent, by id."""
    with worker_session() as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.send_attempts).where(
                OutboxMessage.sent_at.is_not(None)
            )
        ).all()
    return {row_id: attempts for row_id, attempts in rows}


def _relay_all(app: Any, ids: list[int], *, close_first: bool = False) -> OutboxRelay:
    async def run() -> OutboxRelay:
        engine = create_api_engine()
        relay = OutboxRelay(engine, app)
        relay.start()
        try:
            if close_first:
                await relay.aclose()
            for row_id in ids:
                relay.submit(row_id, RUN_SUBMITTED, {"run_id": str(row_id), "post_ids": []})
            assert await relay.idle(10)
        finally:
            await relay.aclose()
            await engine.dispose()
        return relay

    return asyncio.run(run())


def test_the_relay_sends_rows_in_batches_and_marks_them_sent(db: None) -> None:
    ids = _outbox_rows(60)
    app = FakeCelery()
    relay = _relay_all(app, ids)
    assert [kwargs["run_id"] for _, kwargs in app.sent] == [str(i) for i in ids]  # in order
    assert {name for name, _ in app.sent} == {"pipeline.runs.start"}
    assert _sent() == dict.fromkeys(ids, 1)
    assert (relay.sent, relay.marked, relay.deferred) == (60, 60, 0)
    assert app.batches < 60  # rows that waited together went out together


def test_a_failed_send_leaves_the_rows_for_the_sweep(db: None) -> None:
    ids = _outbox_rows(5)
    relay = _relay_all(FakeCelery(fail=True), ids)
    assert _sent() == {}
    assert (relay.sent, relay.deferred) == (0, 5)
    # The sweep sends them later (here at once: older_than_s=0), exactly once each.
    sweeper = FakeCelery()
    with worker_session() as session:
        assert outbox.sweep(session, sweeper, older_than_s=0) == 5
    assert _sent() == dict.fromkeys(ids, 1)


def test_the_sweep_does_not_resend_what_the_relay_marked(db: None) -> None:
    ids = _outbox_rows(10)
    _relay_all(FakeCelery(), ids)
    sweeper = FakeCelery()
    with worker_session() as session:
        assert outbox.sweep(session, sweeper, older_than_s=0) == 0
    assert sweeper.sent == []


def test_rows_handed_to_a_closed_relay_are_left_to_the_sweep(db: None) -> None:
    ids = _outbox_rows(3)
    app = FakeCelery()
    relay = _relay_all(app, ids, close_first=True)
    assert app.sent == [] and _sent() == {}
    assert relay.deferred == 3


def test_marking_skips_rows_the_sweep_already_marked(db: None) -> None:
    ids = _outbox_rows(3)
    with worker_session() as session:
        outbox.sweep(session, FakeCelery(), older_than_s=0)

    async def mark() -> int:
        engine = create_api_engine()
        try:
            async with autocommit_connection(engine) as conn:
                return await outbox_repo.mark_sent(conn, ids)
        finally:
            await engine.dispose()

    assert asyncio.run(mark()) == 0
    assert _sent() == dict.fromkeys(ids, 1)


def test_send_batch_publishes_real_celery_messages(services: dict[str, str]) -> None:
    """Through Celery's own send_task and a kombu publish batch: one message per row, on the
    suite's broker (Redis db 1, or RabbitMQ with publisher confirms)."""
    broker = services["broker_url"]
    queue = f"relay-test-{uuid.uuid4().hex[:8]}"
    app = Celery("relay-test", broker=broker)
    app.conf.broker_transport_options = product_app.conf.broker_transport_options
    app.conf.task_default_queue = queue
    events = [
        OutboxEvent(
            i, RUN_SUBMITTED, {"run_id": str(uuid.uuid4()), "post_ids": [str(uuid.uuid4())]}
        )
        for i in range(3)
    ]
    try:
        assert send_batch(app, events) == [0, 1, 2]
        with app.connection_for_read() as connection:
            # kombu takes a Queue here as well as a name; its stubs say str only.
            reader = connection.SimpleQueue(app.amqp.queues[queue])  # type: ignore[arg-type]
            messages = [reader.get(timeout=5) for _ in events]
            for message in messages:
                message.ack()
            reader.close()
    finally:
        delete_queues(broker, [queue])
        app.close()
    assert [m.headers["task"] for m in messages] == ["pipeline.runs.start"] * 3
    assert [m.decode()[1] for m in messages] == [dict(e.payload) for e in events]


def _new_brief(org_id: uuid.UUID, key: str | None) -> briefs.NewBrief:
    return briefs.NewBrief(
        id=uuid.uuid4(),
        organization_id=org_id,
        topic="Accepted in one statement",
        key_points=["one round trip"],
        brand_voice="plain",
        audience="engineers",
        brand_color="#112233",
        platforms=["instagram", "linkedin"],
        request_hash="0" * 64,
        idempotency_key=key,
    )


def test_accept_brief_writes_everything_or_nothing(db: None) -> None:
    with worker_session() as session:
        org_id = ensure_organization(session, "relay-org")

    async def run() -> tuple[Any, Any, Any]:
        engine = create_api_engine()
        try:
            async with autocommit_connection(engine) as conn:
                first = await briefs.accept(conn, _new_brief(org_id, "k"))
                again = await briefs.accept(conn, _new_brief(org_id, "k"))
                keyed = await briefs.find_keyed_run(conn, org_id, "k")
                with pytest.raises(briefs.UnknownOrganizationError):
                    await briefs.accept(conn, _new_brief(uuid.uuid4(), None))
                # The connection is still good after the refused statement.
                assert await tenancy.exists(conn, org_id)
                return first, again, keyed
        finally:
            await engine.dispose()

    first, again, keyed = asyncio.run(run())
    assert first is not None and again is None
    assert keyed is not None and (keyed.run_id, keyed.brief_id) == (first.run_id, first.brief_id)
    assert first.payload == {
        "run_id": str(first.run_id),
        "post_ids": [str(p) for p in first.post_ids],
    }
    with worker_session() as session:
        row = session.get(OutboxMessage, first.outbox_id)
        assert row is not None and row.payload == first.payload and row.sent_at is None


def test_accept_brief_refuses_a_connection_inside_a_transaction(db: None) -> None:
    """Its commit would then be the caller's, after the answer and the relay."""
    with worker_session() as session:
        org_id = ensure_organization(session, "relay-org")

    async def run() -> None:
        engine = create_api_engine()
        try:
            async with engine.connect() as conn:
                await conn.execute(select(1))  # SQLAlchemy began a transaction
                with pytest.raises(RuntimeError, match="autocommit"):
                    await briefs.accept(conn, _new_brief(org_id, None))
        finally:
            await engine.dispose()

    asyncio.run(run())
    assert _sent() == {}
