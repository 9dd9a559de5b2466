"""GET /metrics: the Prometheus text exposition (not in the OpenAPI schema).

Unauthenticated, like /health, for the scraper: serve it on the internal network only.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from briefcast.api.deps import ProbeSessionDep
from briefcast.observability import exposition, scrape

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(session: ProbeSessionDep) -> Response:
    families = await scrape.scrape_families(session)
    # Summing the processes' files is blocking file I/O: off the event loop.
    body = await asyncio.to_thread(exposition.render, families)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
