"""Typed dependencies, so routes read like their signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.api.auth import Principal, principal_from_header
from briefcast.settings import Settings, get_settings


def _settings() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session. The route commits what it means to keep; the rest rolls back."""
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


RedisDep = Annotated[Redis, Depends(get_redis)]


def get_principal(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    return principal_from_header(settings, authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
