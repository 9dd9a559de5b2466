"""After a commit, send an outbox row's event and mark it sent.

A failure here loses nothing: the row stays unsent and the beat sweep sends it a few seconds
later. Celery's client is synchronous, so sending runs in a worker thread.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.concurrency import run_in_threadpool

from briefcast.models.repositories import ingest
from briefcast.pipeline.celery_app import app as celery_app
from briefcast.pipeline.outbox import service as outbox

log = structlog.get_logger(__name__)


async def relay_outbox(
    sessionmaker: async_sessionmaker[AsyncSession],
    outbox_id: int,
    topic: str,
    payload: dict[str, Any],
) -> bool:
    try:
        await run_in_threadpool(outbox.send, celery_app, topic, payload)
        async with sessionmaker() as session:
            await ingest.mark_outbox_sent(session, outbox_id)
            await session.commit()
    except Exception:
        log.warning("relay.deferred_to_sweep", outbox_id=outbox_id, topic=topic, exc_info=True)
        return False
    return True
