"""Typed dependencies, so routes read like their signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.api.auth import Principal, principal_from_header
from briefcast.api.intake import BriefIntake
from briefcast.api.relay import OutboxRelay
from briefcast.settings import Settings, get_settings

# Every dependency here is `async def`: FastAPI runs a plain `def` dependency in a worker
# thread, a hop per dependency per request (measured: about an eighth of the accept path's
# CPU). None of them blocks. And each dependency costs FastAPI some 20-50 us per request to
# resolve (measured in-process on the accept route), so the hot routes keep them few.


async def _settings() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session. The route commits what it means to keep; the rest rolls back."""
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_intake(request: Request) -> BriefIntake:
    intake: BriefIntake = request.app.state.intake
    return intake


IntakeDep = Annotated[BriefIntake, Depends(get_intake)]


async def get_relay(request: Request) -> OutboxRelay:
    relay: OutboxRelay = request.app.state.relay
    return relay


RelayDep = Annotated[OutboxRelay, Depends(get_relay)]


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


RedisDep = Annotated[Redis, Depends(get_redis)]


async def get_principal(authorization: Annotated[str | None, Header()] = None) -> Principal:
    # get_settings() rather than SettingsDep: each sub-dependency costs FastAPI as much as a
    # verified-token lookup, on every request.
    return principal_from_header(get_settings(), authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
