"""The API's engine: no ping per checkout, but a connection idle for a while is pinged, and
one that died meanwhile is replaced without the request noticing."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from briefcast.models.session import async_url, create_api_engine, ping_when_idle, sync_url

pytestmark = pytest.mark.integration


def _terminate(database_url: str, pid: int) -> None:
    plain = sync_url(database_url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_dead_idle_connection_is_replaced_at_checkout(services: dict[str, str]) -> None:
    url = services["database_url"]

    async def run() -> tuple[int, int, int]:
        engine = create_async_engine(async_url(url), pool_size=1, max_overflow=0)
        ping_when_idle(engine.sync_engine, 0.0)  # every checkout counts as idle here
        pings = _count_pings(engine)
        try:
            async with engine.connect() as conn:
                first = await conn.scalar(text("SELECT pg_backend_pid()"))
            await asyncio.to_thread(_terminate, url, first)
            await asyncio.sleep(0.2)
            async with engine.connect() as conn:
                second = await conn.scalar(text("SELECT pg_backend_pid()"))
        finally:
            await engine.dispose()
        return first, second, len(pings)

    first, second, pings = asyncio.run(run())
    assert second != first
    assert pings >= 1


def test_a_connection_used_moments_ago_is_not_pinged(services: dict[str, str]) -> None:
    async def run() -> int:
        engine = create_api_engine(services["database_url"])
        pings = _count_pings(engine)
        try:
            for _ in range(5):
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        finally:
            await engine.dispose()
        return len(pings)

    assert asyncio.run(run()) == 0


def _count_pings(engine: AsyncEngine) -> list[object]:
    """Record every ping the engine's dialect makes (one entry per ping)."""
    pings: list[object] = []
    do_ping = engine.dialect.do_ping

    def counting(dbapi_connection: DBAPIConnection) -> bool:
        pings.append(dbapi_connection)
        return do_ping(dbapi_connection)

    # Wrapping the dialect's own method is the point; mypy refuses method assignment.
    engine.dialect.do_ping = counting  # type: ignore[method-assign]
    return pings
