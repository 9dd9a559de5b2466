"""The FastAPI application factory."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from briefcast.api import schedule_worker
from briefcast.api.edge import SecureFastAPI, install_edge
from briefcast.api.errors import document_errors, install_error_handlers
from briefcast.api.intake import BriefIntake
from briefcast.api.limits import BodySizeLimit
from briefcast.api.media import MediaFiles
from briefcast.api.ratelimit import RateLimiter, check_settings, document_limits
from briefcast.api.relay import OutboxRelay
from briefcast.api.roles import document_roles
from briefcast.api.routes import (
    accounts,
    analytics,
    analytics_charts,
    brand_voices,
    briefs,
    campaigns,
    health,
    metrics,
    runs,
    uploads,
    usage,
)
from briefcast.api.routes.uploads import UPLOAD_PATHS
from briefcast.logs import configure_logging
from briefcast.models.session import api_sessionmaker, create_api_engine
from briefcast.pipeline.celery_app import app as celery_app
from briefcast.pipeline.render.storage import MEDIA_PATH
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
    app.state.limiter = RateLimiter(app.state.redis)
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
    configure_logging()
    settings = get_settings()
    check_settings(settings)
    app = SecureFastAPI(
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
    install_edge(app, settings)  # CORS, trusted hosts: outside the body limit
    app.include_router(briefs.router)
    app.include_router(brand_voices.router)
    app.include_router(campaigns.router)
    app.include_router(usage.router)
    app.include_router(uploads.router)
    app.include_router(accounts.router)
    app.include_router(runs.router)
    app.include_router(analytics_charts.router)
    app.include_router(analytics.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    document_limits(app.routes)
    document_roles(app.routes)
    document_errors(app.routes)  # last: the specific answers above win
    settings.media_root.mkdir(parents=True, exist_ok=True)
    # Rendered images and uploads at stable, content-addressed URLs (what the Instagram
    # sandbox fetches); nothing else under the media root is served.
    app.mount(MEDIA_PATH, MediaFiles(directory=settings.media_root), name="media")
    return app
