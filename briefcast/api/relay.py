"""After a commit, send the run's canvas and mark its outbox row sent.

A failure here loses nothing: the row stays unsent and the beat sweep sends it a few seconds
later. Celery's client is synchronous, so sending runs in a worker thread.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.concurrency import run_in_threadpool

from briefcast.api.intake import Intake
from briefcast.models.repositories import ingest
from briefcast.pipeline.celery_app import app as celery_app
from briefcast.pipeline.outbox import service as outbox

log = structlog.get_logger(__name__)


async def relay_intake(sessionmaker: async_sessionmaker[AsyncSession], intake: Intake) -> bool:
    if intake.outbox_id is None:
        return False
    payload = {"run_id": str(intake.run_id), "post_ids": [str(p) for p in intake.post_ids]}
    try:
        await run_in_threadpool(outbox.send, celery_app, ingest.RUN_SUBMITTED, payload)
        async with sessionmaker() as session:
            await ingest.mark_outbox_sent(session, intake.outbox_id)
            await session.commit()
    except Exception:
        log.warning("relay.deferred_to_sweep", run_id=str(intake.run_id), exc_info=True)
        return False
    return True
