"""Engines and sessions: async (asyncpg) for the API, sync (psycopg) for workers.

Workers get one engine per process, created lazily in that process, so a prefork child never
reuses a connection pool inherited from its parent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

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


def create_api_engine(url: str | None = None) -> AsyncEngine:
    return create_async_engine(async_url(url or _database_url()), pool_pre_ping=True)


def api_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_worker_engine: tuple[int, Engine] | None = None


def worker_engine() -> Engine:
    global _worker_engine
    if _worker_engine is None or _worker_engine[0] != os.getpid():
        engine = create_engine(
            sync_url(_database_url()),
            pool_pre_ping=True,
            pool_size=get_settings().worker_db_pool_size,
        )
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
