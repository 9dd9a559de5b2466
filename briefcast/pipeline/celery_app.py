"""The Celery app: Redis db 1 as broker and result backend, settings every task relies on."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from briefcast.logs import configure_logging
from briefcast.models.session import reset_worker_engine
from briefcast.pipeline.fairness import PRIORITY_STEPS
from briefcast.pipeline.publish.dispatch import DISPATCH_INTERVAL_S
from briefcast.pipeline.queues import QUEUES, ROUTES, TaskQueue
from briefcast.settings import get_settings

# How long Redis waits for an unacknowledged task before handing it to another worker: far
# longer than any task runs, so a slow task is not run twice while it is still going.
VISIBILITY_TIMEOUT_S = 3600
BEAT_INTERVALS_S = {
    "pipeline.publish.dispatch_due": DISPATCH_INTERVAL_S,
    "pipeline.outbox.sweep": 5.0,
    "pipeline.analytics.collect_due": 10.0,
    "pipeline.runs.sweep_stuck": 60.0,
    "pipeline.campaigns.materialize": 60.0,
    "pipeline.publish.refresh_tokens": 3600.0,
}


def beat_schedule() -> dict[str, dict[str, Any]]:
    # A tick not taken before the next one is due is dropped, so a backlog never piles up.
    return {
        name: {"task": name, "schedule": every, "options": {"expires": every}}
        for name, every in BEAT_INTERVALS_S.items()
    }


def configure(app: Celery) -> None:
    settings = get_settings()
    url = settings.redis_celery_url if settings.redis_url else "memory://"
    app.conf.update(
        broker_url=url,
        result_backend=url if settings.redis_url else "cache+memory://",
        # One list per priority level, so each organization's fair share is its own level.
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
            "priority_steps": PRIORITY_STEPS,
        },
        broker_connection_retry_on_startup=True,
        task_queues=QUEUES,
        task_default_queue=TaskQueue.DEFAULT.value,
        task_routes=ROUTES,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=24 * 3600,
        # Tasks are idempotent (design invariant 2), so a killed worker's task is redelivered.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=60,
        task_time_limit=90,
        # Task events (received, started, done: three Redis publishes per task, a seventh of
        # an I/O worker's CPU under a burst) are sent only while a monitor asks for them:
        # Flower turns them on when it starts and every few seconds after (its
        # --enable_events), so Flower sees every task and nobody pays when nobody watches.
        # A "sent" event too would be one more publish per task, from the sender.
        worker_send_task_events=False,
        task_send_sent_event=False,
        beat_schedule=beat_schedule(),
        timezone="UTC",
    )


app = Celery("briefcast", include=["briefcast.pipeline.tasks"])
configure(app)
# Workers, beat and Flower import this module first: their logging (secrets redacted, httpx
# kept at WARNING, whose INFO lines carry full URLs) is set up here.
configure_logging()


@worker_process_init.connect
def _fresh_engine_per_child(**_: Any) -> None:
    reset_worker_engine()
