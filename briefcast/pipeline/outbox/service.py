"""The outbox relay: turn committed outbox rows into Celery messages.

The API sends a row right after its commit; the beat sweep sends any row still unsent a few
seconds later (the process died between commit and send). Sending twice is harmless: every
task is idempotent.

A message is one small event task by name (`pipeline.runs.start`); the worker that takes it
builds the run's canvas. So the API needs no task code, and never holds canvas results.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from celery import Celery
from kombu import Producer
from sqlalchemy.orm import Session

from briefcast.models.events import (
    CAMPAIGN_CHANGED,
    RUN_APPROVED,
    RUN_SUBMITTED,
    run_event_payload,
)
from briefcast.models.repositories import claims
from briefcast.models.repositories import outbox as outbox_repo
from briefcast.models.runs import RunStatus
from briefcast.observability.trail import trail_headers

log = structlog.get_logger(__name__)
EVENT_TASKS = {
    RUN_SUBMITTED: "pipeline.runs.start",
    RUN_APPROVED: "pipeline.runs.resume",
    CAMPAIGN_CHANGED: "pipeline.campaigns.materialize",
}


class UnknownTopicError(ValueError):
    pass


class TaskSender(Protocol):
    """What sending an event needs of a Celery app."""

    def send_task(
        self,
        name: str,
        *,
        kwargs: dict[str, Any],
        ignore_result: bool,
        producer: Producer | None,
        headers: dict[str, str],
    ) -> object: ...


def send(
    app: TaskSender, topic: str, payload: Mapping[str, Any], producer: Producer | None = None
) -> None:
    """Send one event; with `producer` (e.g. inside `producer.batch()`), through it. The
    payload's request id goes as a message header (the trail's), not as an argument."""
    task = EVENT_TASKS.get(topic)
    if task is None:
        raise UnknownTopicError(f"unknown outbox topic {topic!r}")
    kwargs = {key: value for key, value in payload.items() if key != "request_id"}
    app.send_task(
        task,
        kwargs=kwargs,
        ignore_result=True,
        producer=producer,
        headers=trail_headers(payload),
    )


def relay(session: Session, app: TaskSender, outbox_id: int) -> bool:
    """Send one committed row now (a worker's own event); the sweep covers a failure here."""
    row = outbox_repo.lock_unsent(session, outbox_id)
    if row is None:
        return False
    row.send_attempts += 1
    send(app, row.topic, row.payload)
    row.sent_at = datetime.now(UTC)
    return True


def relay_many(session: Session, app: Celery, outbox_ids: list[int]) -> int:
    """Send committed rows in one publish batch (a worker's own events, e.g. a campaign's
    new runs); rows the sweep holds or already sent are left to it."""
    rows = claims.lock_unsent_outbox(session, outbox_ids)
    with app.producer_or_acquire() as producer, producer.batch():
        for row in rows:
            row.send_attempts += 1
            send(app, row.topic, row.payload, producer=producer)
    now = datetime.now(UTC)
    for row in rows:
        row.sent_at = now
    return len(rows)


def sweep(session: Session, app: TaskSender, older_than_s: int) -> int:
    """Send old unsent rows; a row that can never be sent is parked, not retried forever."""
    sent = 0
    for row in claims.claim_unsent_outbox(session, older_than_s=older_than_s):
        row.send_attempts += 1
        try:
            send(app, row.topic, row.payload)
        except UnknownTopicError as exc:
            row.error = str(exc)
            log.error("outbox.parked", outbox_id=row.id, error=row.error)
            continue
        row.sent_at = datetime.now(UTC)
        sent += 1
    return sent


# The stages before publishing, and the event that picks a run up again in each.
_RESTART = {
    RunStatus.ACCEPTED: RUN_SUBMITTED,
    RunStatus.GENERATING: RUN_SUBMITTED,
    RunStatus.CHECKING: RUN_SUBMITTED,
    RunStatus.RENDERING: RUN_APPROVED,
}


def nudge_stuck_runs(session: Session, older_than_s: int) -> list[int]:
    """Outbox rows re-sending the event for runs idle in a pre-publish stage.

    A lost message (a broker restart before the task was acknowledged and persisted) would
    otherwise leave the run where it is; every stage is idempotent, so a duplicate is harmless.
    """
    events = []
    for run, post_ids in claims.lock_stuck_runs(session, list(_RESTART), older_than_s):
        topic = _RESTART[RunStatus(run.status)]
        events.append((topic, run_event_payload(run.id, post_ids, run.request_id)))
        run.updated_at = datetime.now(UTC)  # not nudged again before another full wait
    return outbox_repo.add_many(session, events)
