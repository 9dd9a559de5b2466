"""Gauges read when `/metrics` is scraped: states, taken from where the truth is.

- Queue depth: one pipelined LLEN over every queue's priority lists in the broker (Redis db 1;
  on RabbitMQ, a passive declare per queue).
  The Redis transport keeps a list per priority step, named `<queue>` for step 0 and
  `<queue>\\x06\\x16<step>` for the others (kombu.transport.redis.Channel._q_for_pri), so the
  depth of a queue is the sum of its lists; the gauge keeps the step, which shows whose
  backlog is waiting (see briefcast/pipeline/fairness.py).
- Workers: Celery's own remote control (`inspect().active_queues()`, a broadcast every worker
  answers from its consumer loop, busy or not), cached for a few seconds because it waits out
  its timeout. A worker that does not answer within it counts as down.
- Runs and posts by status: counted in PostgreSQL, the source of truth, so the gauges are right
  across every process, restart and redelivery without instrumenting each transition. That is
  one GROUP BY per table per scrape (every 15 s); if those tables grow to many millions of
  rows, an index on status is the next step.

Why not the Celery event exporter (`prometheus-exporter-celery`, danihodovic/celery-exporter):
it learns about tasks and workers from Celery's event stream, which these workers send only
while a monitor asks for it (celery_app.py: task events cost a seventh of an I/O worker's CPU
under a burst) and which the beat-driven housekeeping tasks do not send at all; it would also
be one more process to run. Its queue lengths would work with the Redis priority lists, but
that part alone is the few lines below. Task metrics come from the workers' own signals
instead (celery_metrics.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import amqp
import redis
import structlog
from kombu.transport.redis import Channel
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.models.repositories import observability as counts
from briefcast.observability.metrics import (
    POSTS,
    QUEUE_DEPTH,
    QUEUE_WORKERS,
    RUNS,
    SOURCE_UP,
    WORKER_UP,
    ScrapeGauge,
)
from briefcast.pipeline.broker import celery_broker_url, is_amqp
from briefcast.pipeline.celery_app import app as celery_app
from briefcast.pipeline.fairness import PRIORITY_STEPS
from briefcast.pipeline.queues import TaskQueue
from briefcast.settings import get_settings

log = structlog.get_logger(__name__)

SOURCE_TIMEOUT_S = 2.0
WORKER_CHECK_TIMEOUT_S = 0.5  # a live worker answers in milliseconds
WORKER_CHECK_CACHE_S = 10.0


def _family(gauge: ScrapeGauge) -> GaugeMetricFamily:
    return GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labels)


def priority_list_keys(queue: str) -> list[tuple[int, str]]:
    """The broker's list for each priority step of `queue`, as the Redis transport names it."""
    return [(step, f"{queue}{Channel.sep}{step}" if step else queue) for step in PRIORITY_STEPS]


@lru_cache(maxsize=4)
def _redis_broker(url: str) -> redis.Redis[bytes]:
    return redis.Redis.from_url(
        url, socket_timeout=SOURCE_TIMEOUT_S, socket_connect_timeout=SOURCE_TIMEOUT_S
    )


def _message_count(channel: amqp.Channel, queue: str) -> int:
    declared = channel.queue_declare(queue, passive=True)
    assert declared is not None  # None only with nowait
    _, message_count, _ = declared
    return message_count


def queue_depths() -> dict[tuple[str, str], int] | None:
    """Messages waiting per (queue, priority step); None with the in-memory broker.

    On RabbitMQ a priority queue is one queue: its depth is the passive declare's message
    count, under the priority label `all`.
    """
    url = celery_broker_url(get_settings())
    if is_amqp(url):
        with celery_app.connection_for_read() as connection:
            channel = connection.default_channel
            # kombu types it as the transports' common base; an amqp:// broker's is py-amqp's.
            assert isinstance(channel, amqp.Channel)
            return {(q.value, "all"): _message_count(channel, q.value) for q in TaskQueue}
    if not url.startswith(("redis://", "rediss://")):
        return None
    keys = [(q.value, step, key) for q in TaskQueue for step, key in priority_list_keys(q.value)]
    with _redis_broker(url).pipeline(transaction=False) as pipe:
        for _, _, key in keys:
            pipe.llen(key)
        sizes = pipe.execute()
    return {
        (queue, str(step)): int(size) for (queue, step, _), size in zip(keys, sizes, strict=True)
    }


@dataclass
class _WorkerCheck:
    at: float = float("-inf")
    queues_by_worker: dict[str, list[str]] | None = None


_worker_check = _WorkerCheck()
_worker_lock = threading.Lock()


def workers() -> dict[str, list[str]]:
    """Each worker that answered, with the queues it consumes (cached a few seconds)."""
    with _worker_lock:
        if time.monotonic() - _worker_check.at > WORKER_CHECK_CACHE_S:
            replies = celery_app.control.inspect(timeout=WORKER_CHECK_TIMEOUT_S).active_queues()
            _worker_check.queues_by_worker = {
                worker: sorted(q["name"] for q in queues)
                for worker, queues in (replies or {}).items()
            }
            _worker_check.at = time.monotonic()
        return dict(_worker_check.queues_by_worker or {})


def _broker_families(up: GaugeMetricFamily) -> list[Metric]:
    """Blocking (Redis and the broadcast): run in a thread."""
    families: list[Metric] = []
    try:
        depths = queue_depths()
        if depths is not None:
            depth = _family(QUEUE_DEPTH)
            for (queue, step), size in sorted(depths.items()):
                depth.add_metric([queue, step], size)
            families.append(depth)
        up.add_metric(["broker"], 1)
    except Exception as exc:  # Redis or AMQP errors alike: the rest of the scrape still counts
        log.warning("metrics.source_down", source="broker", error=repr(exc))
        up.add_metric(["broker"], 0)
    try:
        answered = workers()
    except Exception as exc:  # the broadcast goes through the broker: any transport error
        log.warning("metrics.source_down", source="workers", error=repr(exc))
        up.add_metric(["workers"], 0)
        return families
    worker_up, consumers = _family(WORKER_UP), _family(QUEUE_WORKERS)
    for worker in sorted(answered):
        worker_up.add_metric([worker], 1)
    for queue in TaskQueue:
        consumers.add_metric([queue.value], sum(queue.value in q for q in answered.values()))
    up.add_metric(["workers"], 1)
    return [*families, worker_up, consumers]


async def _database_families(session: AsyncSession) -> list[Metric]:
    runs, posts = _family(RUNS), _family(POSTS)
    for status, count in sorted((await counts.runs_by_status(session)).items()):
        runs.add_metric([status], count)
    for (platform, status), count in sorted(
        (await counts.posts_by_platform_and_status(session)).items()
    ):
        posts.add_metric([platform, status], count)
    return [runs, posts]


async def scrape_families(session: AsyncSession) -> list[Metric]:
    """Every scrape-time gauge; a source that cannot be read is reported down, not raised."""
    up = _family(SOURCE_UP)
    broker = asyncio.create_task(asyncio.to_thread(_broker_families, up))
    try:
        families = await asyncio.wait_for(_database_families(session), SOURCE_TIMEOUT_S)
        up.add_metric(["postgresql"], 1)
    except Exception as exc:  # down, slow or refusing: the rest of the scrape still counts
        log.warning("metrics.source_down", source="postgresql", error=repr(exc))
        families = []
        up.add_metric(["postgresql"], 0)
    families += await broker
    return [*families, up]
