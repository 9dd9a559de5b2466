"""Readiness (`GET /ready`): can this deployment take work and carry it to the end?

Liveness (`GET /health`) asks only whether the API process reaches PostgreSQL and Redis.
Readiness also asks whether the schema is at the migrations' head, whether beat is alive
(its heartbeat, `observability.heartbeat`) and whether every queue has a worker consuming it.
Each check answers "ok" or why not; the answer is ready only when all of them are "ok".

Which worker consumes which queue comes from Celery's remote control (`inspect().
active_queues()`, https://docs.celeryq.dev/en/stable/userguide/workers.html#inspecting-workers),
a broadcast that waits `INSPECT_TIMEOUT_S` for replies. It runs on a thread of its own, one
at a time, and its answer is kept for `QUEUES_TTL_S`, so however often /ready is called the
broker sees at most one broadcast per interval per API process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache

from alembic.script import ScriptDirectory
from celery import Celery
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.migrate import alembic_config
from briefcast.models.repositories import health, schema
from briefcast.observability import heartbeat
from briefcast.pipeline.queues import TaskQueue

OK = "ok"
CHECK_TIMEOUT_S = 2.0
INSPECT_TIMEOUT_S = 1.0
QUEUES_TTL_S = 5.0


@lru_cache
def head_revisions() -> frozenset[str]:
    """The migrations' head(s), read from migrations/ once per process."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


class QueueConsumers:
    """Which queues some worker consumes, asked of the workers at most once per `ttl_s`."""

    def __init__(self, ttl_s: float = QUEUES_TTL_S, timeout_s: float = INSPECT_TIMEOUT_S) -> None:
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ready-inspect")
        self._answer: tuple[float, frozenset[str] | Exception] | None = None
        self._asking: Future[frozenset[str]] | None = None

    async def consumed(self, app: Celery) -> frozenset[str] | Exception:
        """Names of the queues at least one worker consumes, or why they are unknown."""
        if self._answer is not None and time.monotonic() - self._answer[0] < self.ttl_s:
            return self._answer[1]
        if self._asking is None:  # one broadcast at a time; others wait for its answer
            self._asking = self._thread.submit(self._ask, app)
        asking = self._asking
        try:
            answer: frozenset[str] | Exception = await asyncio.wait_for(
                asyncio.wrap_future(asking), self.timeout_s + CHECK_TIMEOUT_S
            )
        except Exception as exc:
            answer = exc
        if self._asking is asking:
            self._asking = None
            self._answer = (time.monotonic(), answer)
        return answer

    def _ask(self, app: Celery) -> frozenset[str]:
        replies = app.control.inspect(timeout=self.timeout_s).active_queues() or {}
        return frozenset(queue["name"] for queues in replies.values() for queue in queues)

    def forget(self) -> None:
        """Drop the kept answer: the next call asks the workers."""
        self._answer = None


queue_consumers = QueueConsumers()


async def _timed(name: str, check: Callable[[], Awaitable[str]]) -> tuple[str, str]:
    try:
        return name, await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except Exception as exc:
        return name, f"down: {type(exc).__name__}"


async def _migrations(session: AsyncSession) -> str:
    applied = await schema.applied_revisions(session)
    head = await asyncio.to_thread(head_revisions)
    if applied == head:
        return OK
    return f"at {', '.join(sorted(applied)) or 'none'}, head is {', '.join(sorted(head))}"


async def _beat(redis: Redis[bytes]) -> str:
    if await redis.exists(heartbeat.KEY):
        return OK
    return f"no heartbeat from beat in the last {heartbeat.TTL_S} s"


async def check(session: AsyncSession, redis: Redis[bytes], app: Celery) -> dict[str, str]:
    """Every check by name: "ok", or what is wrong."""

    async def postgresql() -> str:
        await health.ping(session)
        return OK

    async def redis_ping() -> str:
        await redis.ping()
        return OK

    # One session: PostgreSQL's checks run one after the other, beside the rest.
    async def database() -> list[tuple[str, str]]:
        first = await _timed("postgresql", postgresql)
        if first[1] != OK:
            return [first, ("migrations", "unknown: PostgreSQL is down")]
        return [first, await _timed("migrations", lambda: _migrations(session))]

    database_checks, redis_check, beat_check, consumed = await asyncio.gather(
        database(),
        _timed("redis", redis_ping),
        _timed("beat", lambda: _beat(redis)),
        queue_consumers.consumed(app),
    )
    checks = dict([*database_checks, redis_check, beat_check])
    for queue in TaskQueue:
        if isinstance(consumed, Exception):
            state = f"unknown: workers did not answer ({type(consumed).__name__})"
        else:
            state = OK if queue.value in consumed else "no worker consumes it"
        checks[f"queue:{queue.value}"] = state
    return checks
