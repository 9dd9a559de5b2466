"""Queues from one enum, and the one routes table that maps task names to them."""

from __future__ import annotations

import enum

from kombu import Queue

from briefcast.pipeline.fairness import AMQP_MAX_PRIORITY


class TaskQueue(enum.StrEnum):
    CONTENT = "content"  # copy generation and checks: I/O-bound (model calls)
    IMAGES = "images"  # rendering: CPU-bound, prefork pool
    PUBLISHING = "publishing"  # platform calls: I/O-bound, prefetch 1
    ANALYTICS = "analytics"
    DEFAULT = "default"  # schedule, beat ticks, sweeps


# Durable (kombu's default, stated): on RabbitMQ the queues and their persistent messages
# outlive a broker restart. `x-max-priority` makes RabbitMQ order by priority (fair shares,
# see fairness.py); the Redis transport ignores it and orders by its `priority_steps`.
QUEUES = [
    Queue(q.value, routing_key=q.value, durable=True, max_priority=AMQP_MAX_PRIORITY)
    for q in TaskQueue
]

# Task names are `pipeline.<stage>.<verb>`; a glob routes a whole stage.
ROUTES: dict[str, dict[str, str]] = {
    "pipeline.runs.*": {"queue": TaskQueue.DEFAULT},
    "pipeline.copy.*": {"queue": TaskQueue.CONTENT},
    "pipeline.check.*": {"queue": TaskQueue.CONTENT},
    "pipeline.render.*": {"queue": TaskQueue.IMAGES},
    "pipeline.schedule.*": {"queue": TaskQueue.DEFAULT},
    "pipeline.publish.*": {"queue": TaskQueue.PUBLISHING},
    "pipeline.analytics.*": {"queue": TaskQueue.ANALYTICS},
    "pipeline.outbox.*": {"queue": TaskQueue.DEFAULT},
    "pipeline.campaigns.*": {"queue": TaskQueue.DEFAULT},
}


def routes_with_default_priority(priority: int) -> dict[str, dict[str, object]]:
    """ROUTES, each giving messages sent without a priority this one (a priority the sender
    names still wins: Celery merges a route under the call's own options)."""
    return {pattern: {**route, "priority": priority} for pattern, route in ROUTES.items()}
