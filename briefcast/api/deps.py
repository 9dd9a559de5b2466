"""Typed dependencies, so routes read like their signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, TypeAlias

from fastapi import Depends, Header, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.api.auth import Principal, principal_from_header
from briefcast.api.intake import BriefIntake
from briefcast.api.relay import OutboxRelay
from briefcast.models.repositories import outbox
from briefcast.settings import Settings, get_settings

# Every dependency here is `async def`: FastAPI runs a plain `def` dependency in a worker
# thread, a hop per dependency per request (measured: about an eighth of the accept path's
# CPU). None of them blocks. And each dependency costs FastAPI some 20-50 us per request to
# resolve (measured in-process on the accept route), so the hot routes keep them few.


async def _settings() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the route returns, rolled back when it
    raises; then the outbox rows it wrote are relayed (commit, then send).

    Function scope: this runs between the route's return and the sending of its answer (a
    dependency's default scope runs it after the answer went out), so a commit that fails is
    the error the client gets, never a success for work that was rolled back.
    """
    async with request.app.state.sessionmaker() as session:
        yield session  # a route's exception comes back here and the `async with` rolls back
        await session.commit()
    events = outbox.to_relay(session)
    if events:
        relay: OutboxRelay = request.app.state.relay
        for event in events:
            relay.submit(event.outbox_id, event.topic, event.payload)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_probe_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for the probes (/health, /ready, /metrics): they only read, and must answer
    even when PostgreSQL does not, so it is never committed, only closed."""
    async with request.app.state.sessionmaker() as session:
        yield session


ProbeSessionDep = Annotated[AsyncSession, Depends(get_probe_session, scope="function")]


async def get_intake(request: Request) -> BriefIntake:
    intake: BriefIntake = request.app.state.intake
    return intake


IntakeDep = Annotated[BriefIntake, Depends(get_intake)]


if TYPE_CHECKING:
    # The stubs make Redis generic in its reply type (no `decode_responses`: bytes); the
    # class itself is not subscriptable, and FastAPI evaluates `RedisDep` at import.
    AsyncRedis: TypeAlias = Redis[bytes]
else:
    AsyncRedis = Redis


async def get_redis(request: Request) -> AsyncRedis:
    redis: AsyncRedis = request.app.state.redis
    return redis


RedisDep = Annotated[AsyncRedis, Depends(get_redis)]


async def get_principal(authorization: Annotated[str | None, Header()] = None) -> Principal:
    # get_settings() rather than SettingsDep: each sub-dependency costs FastAPI as much as a
    # verified-token lookup, on every request.
    return principal_from_header(get_settings(), authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
