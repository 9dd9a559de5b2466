"""GET /health: PostgreSQL and Redis reachable, else 503."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from briefcast.api.deps import RedisDep, SessionDep
from briefcast.models.repositories import ingest

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 2.0


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, str]


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "PostgreSQL or Redis is down"}},
)
async def health(session: SessionDep, redis: RedisDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(ingest.ping(session), CHECK_TIMEOUT_S)
        checks["postgresql"] = "ok"
    except Exception as exc:
        checks["postgresql"] = f"down: {type(exc).__name__}"
    try:
        await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT_S)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )
