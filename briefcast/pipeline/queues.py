"""Queues from one enum, and the one routes table that maps task names to them."""

from __future__ import annotations

import enum

from kombu import Queue


class TaskQueue(enum.StrEnum):
    CONTENT = "content"  # copy generation and checks: I/O-bound (model calls)
    IMAGES = "images"  # rendering: CPU-bound, prefork pool
    PUBLISHING = "publishing"  # platform calls: I/O-bound, prefetch 1
    ANALYTICS = "analytics"
    DEFAULT = "default"  # schedule, beat ticks, sweeps


QUEUES = [Queue(q.value, routing_key=q.value) for q in TaskQueue]

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
