"""The FastAPI application factory."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis

from briefcast.api import schedule_worker
from briefcast.api.errors import install_error_handlers
from briefcast.api.intake import BriefIntake
from briefcast.api.limits import BodySizeLimit
from briefcast.api.relay import OutboxRelay
from briefcast.api.routes import (
    accounts,
    brand_voices,
    briefs,
    campaigns,
    health,
    runs,
    uploads,
    usage,
)
from briefcast.api.routes.uploads import UPLOAD_PATHS
from briefcast.models.session import api_sessionmaker, create_api_engine
from briefcast.pipeline.celery_app import app as celery_app
from briefcast.settings import get_settings

# Request bodies allowed the larger limit: images, and campaigns' bulk items.
LARGE_BODY_PATHS = re.compile(f"{UPLOAD_PATHS.pattern}|{campaigns.BULK_PATHS.pattern}")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Per API process (each uvicorn worker runs its own): the engine, Redis, the relay."""
    settings = get_settings()
    engine = create_api_engine()
    app.state.sessionmaker = api_sessionmaker(engine)
    app.state.redis = Redis.from_url(
        settings.redis_sessions_url, socket_timeout=2, socket_connect_timeout=2
    )
    app.state.relay = OutboxRelay(engine, celery_app)
    app.state.relay.start()
    app.state.intake = BriefIntake(engine, app.state.relay)
    try:
        yield
    finally:
        await app.state.relay.aclose()
        schedule_worker.shutdown()
        await app.state.redis.aclose()
        await engine.dispose()


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Briefcast",
        version="0.1.0",
        summary="Content briefs in; checked, rendered, published and measured posts out.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes,
        upload_paths=LARGE_BODY_PATHS,
    )
    app.include_router(briefs.router)
    app.include_router(brand_voices.router)
    app.include_router(campaigns.router)
    app.include_router(usage.router)
    app.include_router(uploads.router)
    app.include_router(accounts.router)
    app.include_router(runs.router)
    app.include_router(health.router)
    settings.media_root.mkdir(parents=True, exist_ok=True)
    # Rendered images at stable, content-addressed URLs (what the Instagram sandbox fetches).
    app.mount("/media", StaticFiles(directory=settings.media_root), name="media")
    return app
