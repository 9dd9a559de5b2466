"""Engines and sessions: async (asyncpg) for the API, sync (psycopg) for workers.

Workers get one engine per process, created lazily in that process, so a prefork child never
reuses a connection pool inherited from its parent.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from briefcast.settings import get_settings


def _with_driver(url: str, driver: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    return _with_driver(url, "psycopg")


def async_url(url: str) -> str:
    return _with_driver(url, "asyncpg")


def _database_url() -> str:
    url = get_settings().database_url
    if url is None:
        raise RuntimeError("DATABASE_URL is not set and no embedded PostgreSQL was started")
    return url


# Connections each API process may hold; a request holds one for about one statement. No
# overflow: an overflow connection is closed as soon as it is checked in, so a load just past
# the pool size opened and closed a connection (a new PostgreSQL backend, a fork and its
# start-up) several times a second. Past the pool, a request waits for a connection.
API_DB_POOL_SIZE = 20
API_DB_POOL_TIMEOUT_S = 10.0
# A connection that sat in the pool longer than this is pinged before use. Pinging on every
# checkout (pool_pre_ping) costs a round trip per request or task session; a connection used
# moments ago is alive, and after a restart of PostgreSQL the first idle checkout finds out
# and reconnects (a task that meets a dropped connection retries: OperationalError).
DB_PING_IDLE_S = 5.0


def create_api_engine(url: str | None = None) -> AsyncEngine:
    engine = create_async_engine(
        async_url(url or _database_url()),
        pool_size=API_DB_POOL_SIZE,
        max_overflow=0,
        pool_timeout=API_DB_POOL_TIMEOUT_S,
        pool_pre_ping=False,
    )
    ping_when_idle(engine.sync_engine, DB_PING_IDLE_S)
    return engine


def ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection at checkout only when it has been idle for `idle_s`.

    A failed ping raises DisconnectionError, on which the pool drops the connection and
    checks out (or opens) another, as pool_pre_ping does.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < idle_s:
            return
        try:
            dialect.do_ping(dbapi)
        except Exception as exc:
            raise DisconnectionError(f"connection idle {idle_s:.0f}+ s failed its ping") from exc


_IDLE_SINCE = "briefcast_idle_since"


@asynccontextmanager
async def autocommit_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit: each statement is its own transaction, with no
    BEGIN/COMMIT round trips (for work that is one statement, like accepting a brief)."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


def api_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_worker_engine: tuple[int, Engine] | None = None


def worker_engine() -> Engine:
    global _worker_engine
    if _worker_engine is None or _worker_engine[0] != os.getpid():
        engine = create_engine(
            sync_url(_database_url()), pool_size=get_settings().worker_db_pool_size
        )
        ping_when_idle(engine, DB_PING_IDLE_S)
        _worker_engine = (os.getpid(), engine)
    return _worker_engine[1]


def reset_worker_engine() -> None:
    """Forget the engine (settings changed, tests switched databases, or a fork happened).

    In a forked child the pool's connections belong to the parent: let go of them without
    closing (`close=False`), or the child would close sockets the parent still uses.
    """
    global _worker_engine
    if _worker_engine is not None:
        pid, engine = _worker_engine
        engine.dispose(close=pid == os.getpid())
    _worker_engine = None


# What a stage service opens its own short transactions with (`worker_session` in the
# workers), so that no platform or model call sits inside one.
SessionScope = Callable[[], AbstractContextManager[Session]]


@contextmanager
def worker_session() -> Iterator[Session]:
    """The task's unit of work: commits on success, rolls back on error. Services never commit."""
    session = sessionmaker(worker_engine(), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
