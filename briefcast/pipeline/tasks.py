"""Thin Celery tasks: take ids, open a session scope, call a stage service.

Every task is idempotent (each service checks the state it expects before acting), so
`acks_late` redelivery after a killed worker is safe. Names are explicit and stable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import structlog

from briefcast.models.repositories import pipeline as repo
from briefcast.models.runs import RunStatus, StageOutcome
from briefcast.models.session import worker_session
from briefcast.pipeline.analytics import service as analytics
from briefcast.pipeline.canvas import build_run_canvas
from briefcast.pipeline.celery_app import app
from briefcast.pipeline.check import service as check
from briefcast.pipeline.copy import service as copy
from briefcast.pipeline.outbox import service as outbox
from briefcast.pipeline.publish import service as publish
from briefcast.pipeline.publish.registry import publisher_for
from briefcast.pipeline.render import service as render
from briefcast.pipeline.render.storage import LocalMediaStore
from briefcast.pipeline.schedule import service as schedule
from briefcast.settings import get_settings

log = structlog.get_logger(__name__)
T = TypeVar("T")


@contextmanager
def _stage_failure_recorded(run_id: uuid.UUID, stage: str, subject: str = "run") -> Iterator[None]:
    """A stage that raises leaves its run visibly failed with the reason, never half-written."""
    try:
        yield
    except Exception as exc:
        reason = f"{stage} failed: {type(exc).__name__}: {exc}"
        log.exception("stage.failed", run_id=str(run_id), stage=stage)
        with worker_session() as session:
            repo.finish_stage(
                session, run_id, stage, StageOutcome.FAILED, {"error": reason}, subject
            )
            repo.set_run_status(session, run_id, RunStatus.FAILED, reason)
        raise


def _in_session(fn: Callable[..., T], *args: Any) -> T:
    with worker_session() as session:
        return fn(session, *args)


@app.task(name="pipeline.runs.start", ignore_result=True)
def start_run(run_id: str, post_ids: list[str]) -> None:
    """The `run.submitted` event: launch the run's canvas (stages are idempotent)."""
    build_run_canvas(run_id, post_ids).apply_async()


@app.task(name="pipeline.copy.generate", ignore_result=True)
def generate_copy(run_id: str) -> bool:
    with _stage_failure_recorded(uuid.UUID(run_id), copy.STAGE):
        return _in_session(copy.generate_copy, uuid.UUID(run_id))


@app.task(name="pipeline.check.copy", ignore_result=True)
def check_copy(run_id: str) -> bool:
    with _stage_failure_recorded(uuid.UUID(run_id), check.STAGE):
        outcome = _in_session(check.check_copy, uuid.UUID(run_id), get_settings().sentiment_floor)
    return bool(outcome and outcome.passed)


def media_store() -> LocalMediaStore:
    return LocalMediaStore(get_settings().media_root)


@app.task(name="pipeline.render.image")
def render_image(post_id: str) -> str | None:
    with worker_session() as session:
        post = repo.get_post(session, uuid.UUID(post_id))
        run_id, platform = (post.run_id, post.platform) if post else (None, "run")
    if run_id is None:
        return None
    with _stage_failure_recorded(run_id, render.STAGE, platform):
        return _in_session(render.render_post_image, uuid.UUID(post_id), media_store())


@app.task(name="pipeline.schedule.run", ignore_result=True)
def schedule_run(run_id: str) -> bool:
    with _stage_failure_recorded(uuid.UUID(run_id), schedule.STAGE):
        return _in_session(schedule.schedule_run, uuid.UUID(run_id))


@app.task(name="pipeline.schedule.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Beat, every second: claim due posts, then (after commit) send their publish tasks."""
    post_ids = _in_session(schedule.claim_due_posts, get_settings().publish_lease_s)
    for post_id in post_ids:
        publish_post.delay(str(post_id))
    return len(post_ids)


def media_url(key: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/media/{key}"


@app.task(name="pipeline.publish.post", ignore_result=True, soft_time_limit=60, time_limit=90)
def publish_post(post_id: str) -> str:
    with worker_session() as session:
        post = repo.get_post(session, uuid.UUID(post_id))
        platform = post.platform if post else ""
    if not platform:
        return "missing"
    return publish.publish_post(
        worker_session,
        uuid.UUID(post_id),
        publisher_for(platform),
        media_url,
        lambda key: str(media_store().path(key)),
        get_settings().metric_offsets_s,
    )


@app.task(name="pipeline.analytics.collect_due", ignore_result=True)
def collect_due() -> int:
    snapshot_ids = _in_session(analytics.claim_due_snapshots)
    for snapshot_id in snapshot_ids:
        collect_metrics.delay(str(snapshot_id))
    return len(snapshot_ids)


@app.task(name="pipeline.analytics.collect", ignore_result=True, soft_time_limit=30, time_limit=45)
def collect_metrics(snapshot_id: str) -> dict[str, int] | None:
    return _in_session(analytics.collect_snapshot, uuid.UUID(snapshot_id), publisher_for)


@app.task(name="pipeline.outbox.sweep", ignore_result=True)
def sweep_outbox() -> int:
    return _in_session(outbox.sweep, app, get_settings().outbox_sweep_after_s)
