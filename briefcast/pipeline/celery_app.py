"""The Celery app: Redis db 1 (or RabbitMQ, `BROKER_URL`) as broker, Redis db 1 as result
backend, settings every task relies on."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from briefcast.logs import configure_logging
from briefcast.models.session import reset_worker_engine
from briefcast.observability import celery_metrics, heartbeat, trail  # noqa: F401 - signal handlers
from briefcast.pipeline.broker import celery_broker_url, is_amqp
from briefcast.pipeline.fairness import AMQP_MAX_PRIORITY, PRIORITY_STEPS, highest_priority
from briefcast.pipeline.publish.dispatch import DISPATCH_INTERVAL_S
from briefcast.pipeline.queues import QUEUES, ROUTES, TaskQueue, routes_with_default_priority
from briefcast.settings import get_settings

# How long Redis waits for an unacknowledged task before handing it to another worker: far
# longer than any task runs, so a slow task is not run twice while it is still going.
VISIBILITY_TIMEOUT_S = 3600
# RabbitMQ's counterpart: it closes the channel of a consumer that holds a delivery longer
# than its `consumer_timeout` (30 minutes unless the server sets another; RabbitMQ docs,
# "Delivery Acknowledgement Timeout"). Every hard time limit, and every ETA a worker holds
# (a dispatch tick at most), must stay far below it.
RABBITMQ_CONSUMER_TIMEOUT_S = 1800
REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT_S,
    # One list per priority level, so each organization's fair share is its own level.
    "priority_steps": PRIORITY_STEPS,
}
# Each publish waits for RabbitMQ's ack: a send that returned (the outbox relay's, which then
# marks its rows sent) is in a durable queue, not lost in a socket buffer.
AMQP_TRANSPORT_OPTIONS = {"confirm_publish": True}
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
    broker = celery_broker_url(settings)
    amqp = is_amqp(broker)
    app.conf.update(
        broker_url=broker,
        result_backend=settings.redis_celery_url if settings.redis_url else "cache+memory://",
        broker_transport_options=dict(AMQP_TRANSPORT_OPTIONS if amqp else REDIS_TRANSPORT_OPTIONS),
        broker_connection_retry_on_startup=True,
        task_queues=QUEUES,
        # Queues declared on the fly (none in the product) order by priority too.
        task_queue_max_priority=AMQP_MAX_PRIORITY,
        task_default_queue=TaskQueue.DEFAULT.value,
        # On RabbitMQ a message without a priority would come last; see fairness.py.
        task_routes=routes_with_default_priority(highest_priority(broker)) if amqp else ROUTES,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=24 * 3600,
        # Tasks are idempotent (design invariant 2), so a killed worker's task is redelivered.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # RabbitMQ hands a lost connection's unacknowledged tasks to another worker at once,
        # and the running ones could no longer acknowledge: stop them rather than run twice.
        worker_cancel_long_running_tasks_on_connection_loss=amqp,
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
