"""GET /health (liveness): PostgreSQL and Redis reachable, else 503. GET /ready (readiness):
also the schema at head, beat alive, a worker on every queue (`observability.readiness`)."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from briefcast.api.deps import ProbeSessionDep, RedisDep
from briefcast.models.repositories import health as health_repo
from briefcast.observability import readiness
from briefcast.pipeline.celery_app import app as celery_app

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
async def health(session: ProbeSessionDep, redis: RedisDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(health_repo.ping(session), CHECK_TIMEOUT_S)
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


class ReadyOut(BaseModel):
    status: Literal["ok", "unready"]
    # postgresql, redis, migrations, beat and queue:<name> for each queue: "ok" or why not.
    checks: dict[str, str]
    failing: list[str]


@router.get(
    "/ready",
    response_model=ReadyOut,
    responses={
        503: {
            "model": ReadyOut,
            "description": "A check failed (named in `failing`): PostgreSQL, Redis, migrations "
            "not at head, no heartbeat from beat, or a queue without a worker",
        }
    },
)
async def ready(session: ProbeSessionDep, redis: RedisDep) -> JSONResponse:
    checks = await readiness.check(session, redis, celery_app)
    failing = [name for name, state in checks.items() if state != readiness.OK]
    return JSONResponse(
        {"status": "unready" if failing else "ok", "checks": checks, "failing": failing},
        status_code=503 if failing else 200,
    )
