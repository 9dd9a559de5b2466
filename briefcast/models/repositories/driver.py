"""The asyncpg connection under a SQLAlchemy one, for the API's hot statements (accepting a
brief, marking relayed outbox rows sent): SQLAlchemy's execution layer costs about as much CPU
as the statement itself there (measured in bench.ingress)."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

# Errors the server sends as it drops the connection, and errors of the connection itself.
_CONNECTION_GONE = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


async def raw_connection(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`; it stays checked out from, and returned to,
    SQLAlchemy's pool."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def invalidate_if_broken(conn: AsyncConnection, exc: BaseException) -> None:
    """What SQLAlchemy does for statements it runs itself: a connection that failed below
    the SQL level (dropped, cancelled mid-statement) must not go back to the pool."""
    if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, _CONNECTION_GONE):
        return  # the server answered an error: the connection is fine
    with contextlib.suppress(Exception):
        await conn.invalidate(exc if isinstance(exc, Exception) else None)
