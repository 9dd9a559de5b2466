"""GET /ready on the live stack: ready when every check is ok; each failure named by a 503.

Beat is played by this process: `beat_init` (what Celery sends in a beat process) turns the
heartbeat on, and `beat_ticking` sends beat's entries as beat would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from celery.signals import beat_init
from sqlalchemy import text

from briefcast.models.session import worker_engine
from briefcast.observability import heartbeat, readiness
from briefcast.pipeline.celery_app import app
from briefcast.pipeline.queues import TaskQueue
from briefcast.settings import get_settings
from tests.beat import beat_ticking
from tests.live import Live

pytestmark = pytest.mark.integration


def _heartbeat_key() -> redis.Redis[bytes]:
    return redis.Redis.from_url(get_settings().redis_sessions_url)


@pytest.fixture
def beat(live: Live) -> Iterator[None]:
    beat_init.send(sender=None)
    client = _heartbeat_key()
    try:
        with beat_ticking():
            deadline = time.monotonic() + 5
            while not client.exists(heartbeat.KEY):
                assert time.monotonic() < deadline, "beat's sends set no heartbeat"
                time.sleep(0.05)
            yield
    finally:
        heartbeat.stop()
        client.delete(heartbeat.KEY)
        client.close()


def _ready(live: Live) -> tuple[int, dict[str, Any]]:
    readiness.queue_consumers.forget()  # ask the workers now, not from a minute-old answer
    with httpx.Client(base_url=live.api_url, timeout=10) as http:
        response = http.get("/ready")
    return response.status_code, response.json()


def test_ready_when_every_check_is_ok(live: Live, beat: None) -> None:
    status, body = _ready(live)
    assert status == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    expected = {"postgresql", "redis", "migrations", "beat", *(f"queue:{q}" for q in TaskQueue)}
    assert body["checks"] == dict.fromkeys(expected, "ok")


def test_not_ready_when_the_schema_is_behind(live: Live, beat: None) -> None:
    with worker_engine().begin() as conn:
        head = conn.scalar(text("SELECT version_num FROM alembic_version"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    try:
        status, body = _ready(live)
    finally:
        with worker_engine().begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert status == 503
    assert body["failing"] == ["migrations"]
    assert body["checks"]["migrations"] == f"at 0005, head is {head}"
    assert _ready(live)[0] == 200  # put back: ready again


def test_not_ready_without_a_heartbeat_from_beat(live: Live) -> None:
    client = _heartbeat_key()
    client.delete(heartbeat.KEY)
    client.close()
    status, body = _ready(live)
    assert status == 503
    assert body["failing"] == ["beat"]
    assert body["checks"]["beat"].startswith("no heartbeat")


@pytest.mark.slow
def test_not_ready_when_a_queue_has_no_worker(live: Live, beat: None) -> None:
    cancelled = app.control.cancel_consumer(TaskQueue.ANALYTICS.value, reply=True, timeout=5)
    assert cancelled, "the worker did not answer"
    try:
        status, body = _ready(live)
    finally:
        app.control.add_consumer(TaskQueue.ANALYTICS.value, reply=True, timeout=5)
    assert status == 503
    assert body["failing"] == ["queue:analytics"]
    assert body["checks"]["queue:analytics"] == "no worker consumes it"
    assert _ready(live)[0] == 200  # consuming again: ready again


def test_ready_asks_the_workers_at_most_once_per_interval(
    live: Live, beat: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumers = readiness.queue_consumers
    asked = []
    ask = consumers._ask

    def counting(celery: Any) -> frozenset[str]:
        asked.append(time.monotonic())
        return ask(celery)

    monkeypatch.setattr(consumers, "_ask", counting)
    consumers.forget()
    with httpx.Client(base_url=live.api_url, timeout=10) as http:
        answers = [http.get("/ready") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    # Five answers within the interval, one broadcast: the others came from its answer.
    assert len(asked) == 1 or asked[1] - asked[0] >= consumers.ttl_s
