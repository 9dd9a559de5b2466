"""One trail of log lines per run, in every worker: the run's ids on each line of its tasks.

A run's ids travel with its tasks as Celery message headers (`trail_headers`): the event
from the outbox carries the submitting request's id, the canvas puts the run's request id,
run id and campaign id on every task it sends, and the dispatcher and the collector put them
on the publish and analytics tasks they send later. Custom headers are attributes of
`task.request` in the worker (Celery's message protocol 2: see "Message Protocol" in
https://docs.celeryq.dev/en/stable/internals/protocol.html).

At `task_prerun` these ids, the task's id and its name are bound into structlog's context
variables, so every line the task logs (standard-library records too: `briefcast.logs`
renders them with the context variables) carries them; at `task_postrun` the previous
values are put back, and a task of a run leaves one `task.finished` line with its state and
duration. Signals: https://docs.celeryq.dev/en/stable/userguide/signals.html
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import Token
from typing import Any

import structlog
from celery import Task
from celery.signals import after_setup_logger, after_setup_task_logger, task_postrun, task_prerun

from briefcast.logs import format_handlers

log = structlog.get_logger(__name__)

# The ids that travel as message headers, bound under the same names.
TRAIL_FIELDS = ("request_id", "run_id", "campaign_id")

# Per running task id: the context tokens to reset and when it started.
_running: dict[str, tuple[Mapping[str, Token[Any]], float]] = {}


def trail_headers(source: Mapping[str, Any]) -> dict[str, str]:
    """The trail ids found in `source` (a payload, a row's ids), as message headers."""
    return {key: str(source[key]) for key in TRAIL_FIELDS if source.get(key) is not None}


@task_prerun.connect
def bind_task(task_id: str, task: Task[Any, Any], **_: Any) -> None:
    request = task.request
    fields: dict[str, Any] = {"task_id": task_id, "task_name": task.name}
    for key in TRAIL_FIELDS:
        value = getattr(request, key, None)
        if value is not None:
            fields[key] = value
    _running[task_id] = (structlog.contextvars.bind_contextvars(**fields), time.monotonic())


@task_postrun.connect
def unbind_task(task_id: str, task: Task[Any, Any], state: str | None = None, **_: Any) -> None:
    entry = _running.pop(task_id, None)
    if entry is None:
        return
    tokens, started = entry
    # Beat's ticks (every second) stay quiet; a run's tasks leave a line each.
    if getattr(task.request, "run_id", None) is not None:
        log.info("task.finished", state=state, duration_s=round(time.monotonic() - started, 3))
    structlog.contextvars.reset_contextvars(**tokens)


@after_setup_logger.connect
@after_setup_task_logger.connect
def format_celery_handlers(logger: Any, **_: Any) -> None:
    """Celery's own handlers (worker, beat) render records as every other line."""
    format_handlers(logger)
