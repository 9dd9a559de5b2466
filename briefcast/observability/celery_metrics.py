"""Task metrics from Celery's signals, in the process that runs the task.

Signals fire for every task whether or not the worker sends task events (which it does only
while a monitor asks, and the beat-driven housekeeping tasks never), so the health of every
task, `pipeline.publish.dispatch_due` and the sweeps included, shows in `briefcast_tasks_total`
and its runtime histogram (https://docs.celeryq.dev/en/stable/userguide/signals.html).

Queue wait: the sender stamps the time into the message headers (`before_task_publish`), and
the worker measures from it, or from the task's ETA when that is later, to the task's start.
The stamp is the sender's clock: across hosts, their clocks must agree (NTP) for the wait to.

Worker containers each serve their own `/metrics` on `WORKER_METRICS_PORT` when it is set,
from the worker's main process (`worker_init`). A prefork worker's tasks run in child
processes, so such a worker also needs `PROMETHEUS_MULTIPROC_DIR` (an empty directory of its
own) for the main process to serve the children's metrics.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import structlog
from celery import Task
from celery.signals import (
    before_task_publish,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
)

from briefcast.observability.exposition import multiproc_dir, start_exporter
from briefcast.observability.metrics import (
    TASK_FAILURES,
    TASK_QUEUE_WAIT_SECONDS,
    TASK_RETRIES,
    TASK_RUNTIME_SECONDS,
    TASKS,
)
from briefcast.settings import get_settings

log = structlog.get_logger(__name__)

SENT_AT_HEADER = "briefcast_sent_at"
# Start times by task id: a threads pool runs several tasks at once in one process.
_started: dict[str, float] = {}


@before_task_publish.connect
def _stamp_sent_at(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None:  # a retry is a new message: it gets a new stamp
        headers[SENT_AT_HEADER] = time.time()


def queue_wait_s(sent_at: float, eta: str | None, now: float) -> float:
    """From sending (or the ETA, when later: an ETA is a wait asked for) to `now`."""
    ready = sent_at
    if eta:
        ready = max(ready, datetime.fromisoformat(eta).timestamp())
    return max(0.0, now - ready)


@task_prerun.connect
def _task_started(task_id: str, task: Task[Any, Any], **_: Any) -> None:
    now = time.time()
    _started[task_id] = time.perf_counter()
    sent_at = task.request.get(SENT_AT_HEADER)
    if isinstance(sent_at, int | float):
        eta = task.request.eta
        TASK_QUEUE_WAIT_SECONDS.labels(task.name).observe(
            queue_wait_s(sent_at, eta if isinstance(eta, str) else None, now)
        )


@task_postrun.connect
def _task_ended(task_id: str, task: Task[Any, Any], state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_RUNTIME_SECONDS.labels(task.name).observe(time.perf_counter() - started)
    TASKS.labels(task.name, (state or "unknown").lower()).inc()


@task_retry.connect
def _task_retried(sender: Task[Any, Any] | None = None, **_: Any) -> None:
    if sender is not None:
        TASK_RETRIES.labels(sender.name).inc()


@task_failure.connect
def _task_failed(
    sender: Task[Any, Any] | None = None, exception: BaseException | None = None, **_: Any
) -> None:
    if sender is not None:
        TASK_FAILURES.labels(sender.name, type(exception).__name__).inc()


@worker_init.connect
def _serve_worker_metrics(sender: Any = None, **_: Any) -> None:
    port = get_settings().worker_metrics_port
    if port is None:
        return
    pool = str(getattr(sender, "pool_cls", ""))
    if multiproc_dir() is None and "prefork" in pool:
        log.warning(
            "metrics.prefork_without_multiproc_dir",
            hint="set PROMETHEUS_MULTIPROC_DIR to an empty directory, or the port shows only "
            "the main process and none of the tasks",
        )
    start_exporter(port)
    log.info("metrics.serving", port=port)
