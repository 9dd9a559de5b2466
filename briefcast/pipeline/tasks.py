"""Thin Celery tasks: take ids, call a stage service, record the outcome.

Every task is idempotent (each service checks the state it expects before acting), so
`acks_late` redelivery after a killed worker is safe. Names are explicit and stable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, TypeVar

import openai
import psycopg  # noqa: F401 - see below
import structlog
from celery import Task
from PIL import JpegImagePlugin  # noqa: F401 - see below
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from briefcast.models.posts import Post
from briefcast.models.repositories import campaigns as campaigns_repo
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.repositories import trail as trail_repo
from briefcast.models.runs import RunStatus, StageOutcome
from briefcast.models.session import worker_session
from briefcast.pipeline import fairness
from briefcast.pipeline.adapters.publisher import Publisher
from briefcast.pipeline.analytics import service as analytics
from briefcast.pipeline.backoff import backoff_s
from briefcast.pipeline.campaigns import materialize as campaigns
from briefcast.pipeline.canvas import build_render_canvas, build_run_canvas
from briefcast.pipeline.celery_app import app
from briefcast.pipeline.check import service as check
from briefcast.pipeline.check.moderation import moderator
from briefcast.pipeline.copy import service as copy
from briefcast.pipeline.copy.factory import copy_chain
from briefcast.pipeline.outbox import service as outbox
from briefcast.pipeline.publish import dispatch, tokens
from briefcast.pipeline.publish import service as publish
from briefcast.pipeline.publish.registry import account_publisher, publisher_for_org
from briefcast.pipeline.render import service as render
from briefcast.pipeline.render.safe_fetch import AllowList
from briefcast.pipeline.render.storage import LocalMediaStore, media_url
from briefcast.pipeline.schedule import service as schedule
from briefcast.redaction import scrub_text
from briefcast.settings import get_settings

# The worker imports this module before its prefork pool forks, so the modules every task
# needs but loads lazily (the PostgreSQL driver, Pillow's JPEG plugin) are imported here once,
# not in each child at its first task (half a second of CPU per child).

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Worth another try: the database or a model API blinked, or an image is still on its way.
# Anything else fails the run. (Copy generation has its own retries and fallbacks inside.)
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    schedule.ImagesPendingError,
    OperationalError,
    openai.APIConnectionError,  # includes timeouts
    openai.InternalServerError,
    openai.RateLimitError,
)
STAGE_RETRIES = 3


def _is_transient(exc: Exception) -> bool:
    # A spent quota is a 429 too, but waiting will not refill it (docs/contracts §1.7).
    if isinstance(exc, openai.RateLimitError) and exc.code == "insufficient_quota":
        return False
    return isinstance(exc, TRANSIENT_ERRORS)


@contextmanager
def _stage(
    task: Task[Any, Any], run_id: uuid.UUID, stage: str, subject: str = "run"
) -> Iterator[None]:
    """Retry a transient failure with backoff; otherwise leave the run visibly failed."""
    try:
        yield
    except Exception as exc:
        if _is_transient(exc) and task.request.retries < STAGE_RETRIES:
            countdown = backoff_s(task.request.retries, jitter=(1.0, 2.0))
            log.warning("stage.retry", run_id=str(run_id), stage=stage, error=repr(exc))
            raise task.retry(exc=exc, countdown=countdown) from exc
        # Stored and shown by the API: an exception's text may name a URL with a credential.
        reason = scrub_text(f"{stage} failed: {type(exc).__name__}: {exc}")
        log.exception("stage.failed", run_id=str(run_id), stage=stage)
        with worker_session() as session:
            runs_repo.finish_stage(
                session, run_id, stage, StageOutcome.FAILED, {"error": reason}, subject
            )
            runs_repo.set_status(session, run_id, RunStatus.FAILED, reason)
        raise


def _in_session(fn: Callable[..., T], *args: Any) -> T:
    with worker_session() as session:
        return fn(session, *args)


@app.task(name="pipeline.runs.start", ignore_result=True)
def start_run(run_id: str, post_ids: list[str]) -> None:
    """The `run.submitted` event: launch the run's canvas (stages are idempotent)."""
    options = _canvas_options(run_id, getattr(start_run.request, "request_id", None))
    build_run_canvas(run_id, post_ids, *options).apply_async()


@app.task(name="pipeline.runs.resume", ignore_result=True)
def resume_run(run_id: str, post_ids: list[str]) -> None:
    """The `run.approved` event: a person approved the copy; render, schedule, publish."""
    options = _canvas_options(run_id, getattr(resume_run.request, "request_id", None))
    build_render_canvas(run_id, post_ids, *options).apply_async()


def _canvas_options(
    run_id: str, event_request_id: str | None = None
) -> tuple[int, str | None, dict[str, str]]:
    """The run's fair-share priority, for a campaign's run the campaign's name, and the ids
    its tasks log under (the request id stored with the run, else the event's)."""
    with worker_session() as session:
        backlog = runs_repo.organization_backlog(session, uuid.UUID(run_id))
        campaign = campaigns_repo.campaign_name_of_run(session, uuid.UUID(run_id))
        trail = trail_repo.of_run(session, uuid.UUID(run_id))
    if event_request_id is not None:
        trail.setdefault("request_id", event_request_id)
    rank = fairness.priority_for_backlog(backlog)
    return fairness.message_priority(rank, app.conf.broker_url), campaign, trail


@app.task(name="pipeline.copy.generate", bind=True, ignore_result=True)
def generate_copy(self: Task[Any, Any], run_id: str) -> bool:
    settings = get_settings()
    with _stage(self, uuid.UUID(run_id), copy.STAGE):
        return copy.generate_copy(
            worker_session,
            uuid.UUID(run_id),
            copy_chain(settings),
            on_budget_spent=settings.budget_exhausted_action,
        )


@app.task(name="pipeline.check.copy", bind=True, ignore_result=True)
def check_copy(self: Task[Any, Any], run_id: str) -> bool:
    settings = get_settings()
    with _stage(self, uuid.UUID(run_id), check.STAGE):
        outcome = check.check_copy(
            worker_session,
            uuid.UUID(run_id),
            floor=settings.sentiment_floor,
            max_regenerations=settings.max_regenerations,
            moderator=moderator(settings),
        )
    if outcome is not None and outcome.outbox_id is not None:
        _in_session(outbox.relay, app, outcome.outbox_id)  # the rewrite, after commit
    return bool(outcome and outcome.passed)


def media_store() -> LocalMediaStore:
    return LocalMediaStore(get_settings().media_root)


@app.task(name="pipeline.render.image", bind=True)
def render_image(self: Task[Any, Any], post_id: str, run_id: str | None = None) -> str | None:
    """`run_id` is for monitors (see `_monitor_kwargs`); the post names its run."""
    with worker_session() as session:
        post = posts_repo.get(session, uuid.UUID(post_id))
        if post is None:
            return None
        owner, platform = post.run_id, post.platform
    settings = get_settings()
    limits = render.PhotoLimits(
        settings.max_upload_bytes,
        settings.max_upload_pixels,
        settings.http_timeout_s,
        AllowList.parse(settings.photo_fetch_allowed_hosts),
    )
    with _stage(self, owner, render.STAGE, platform):
        return _in_session(render.render_post_image, uuid.UUID(post_id), media_store(), limits)


@app.task(name="pipeline.schedule.run", bind=True, ignore_result=True)
def schedule_run(self: Task[Any, Any], run_id: str) -> bool:
    with _stage(self, uuid.UUID(run_id), schedule.STAGE):
        return _in_session(schedule.schedule_run, uuid.UUID(run_id))


# Beat's housekeeping (every second, every few seconds, …) sends no task events: Flower's list
# is left to the tasks of runs, and these report through metrics instead. Celery checks a
# task's `send_events` before each task event (`celery/worker/request.py`, `strategy.py`).
class _TaskOptions(TypedDict):
    ignore_result: bool
    send_events: bool


HOUSEKEEPING: _TaskOptions = {"ignore_result": True, "send_events": False}


@app.task(name="pipeline.publish.dispatch_due", **HOUSEKEEPING)
def dispatch_due() -> int:
    """Beat, every second: claim due posts, then (after commit) send their publish tasks."""
    settings = get_settings()
    with worker_session() as session:
        claimed = dispatch.claim_due_posts(
            session,
            settings.publish_lease_s,
            per_account=settings.publish_concurrency_per_account,
            lookahead_s=dispatch.DISPATCH_INTERVAL_S,
        )
    _send_publish_tasks(claimed)
    return len(claimed)


def _send_publish_tasks(claimed: list[dispatch.Claim]) -> None:
    if not claimed:
        return
    trails = _in_session(trail_repo.of_posts, [claim.post_id for claim in claimed])
    for claim in claimed:
        # A post due before the next tick starts at its due time, not up to a tick late.
        publish_post.apply_async(
            (str(claim.post_id), str(claim.claim_id)),
            kwargs=_monitor_kwargs(trails.get(claim.post_id)),
            # celery-types types `eta` as datetime; Celery's default is None (send at once).
            eta=claim.start_at,  # type: ignore[arg-type]
            headers=trails.get(claim.post_id, {}),
        )


def _monitor_kwargs(trail: dict[str, str] | None) -> dict[str, str]:
    """The run's and campaign's ids as keyword arguments of a task sent after the canvas:
    Flower's search reads a task's name, arguments and result, not its headers."""
    return {key: trail[key] for key in ("run_id", "campaign_id") if trail and key in trail}


def _media() -> publish.MediaLocator:
    base_url = get_settings().public_base_url
    return publish.MediaLocator(
        url=lambda key: media_url(base_url, key), path=lambda key: str(media_store().path(key))
    )


def _organization_of(post_id: uuid.UUID) -> uuid.UUID | None:
    with worker_session() as session:
        return posts_repo.organization_of(session, post_id)


def _post_publisher(session: Session, post: Post) -> Publisher:
    """The account of the organization that owns the post, in the attempt's session."""
    org_id = posts_repo.organization_of(session, post.id)
    assert org_id is not None  # a post always belongs to a run of an organization
    return account_publisher(session, org_id, post.platform)


@app.task(name="pipeline.publish.post", ignore_result=True, soft_time_limit=60, time_limit=90)
def publish_post(
    post_id: str, claim_id: str, run_id: str | None = None, campaign_id: str | None = None
) -> str | None:
    """`run_id` and `campaign_id` are for monitors; the claim decides what is done."""
    settings = get_settings()
    status = publish.publish_post(
        worker_session,
        uuid.UUID(post_id),
        uuid.UUID(claim_id),
        _post_publisher,
        _media(),
        settings.metric_offsets_s,
    )
    if status is not None:  # this attempt settled: its account has room for the next post
        with worker_session() as session:
            claimed = dispatch.claim_next_for_account(
                session,
                uuid.UUID(post_id),
                settings.publish_lease_s,
                per_account=settings.publish_concurrency_per_account,
            )
        _send_publish_tasks(claimed)
    return status


@app.task(name="pipeline.analytics.collect_due", **HOUSEKEEPING)
def collect_due() -> int:
    snapshot_ids = _in_session(analytics.claim_due_snapshots)
    trails = _in_session(trail_repo.of_snapshots, snapshot_ids) if snapshot_ids else {}
    for snapshot_id in snapshot_ids:
        collect_metrics.apply_async(
            (str(snapshot_id),),
            kwargs=_monitor_kwargs(trails.get(snapshot_id)),
            headers=trails.get(snapshot_id, {}),
        )
    return len(snapshot_ids)


@app.task(name="pipeline.analytics.collect", ignore_result=True, soft_time_limit=30, time_limit=45)
def collect_metrics(
    snapshot_id: str, run_id: str | None = None, campaign_id: str | None = None
) -> dict[str, int] | None:
    """`run_id` and `campaign_id` are for monitors; the snapshot names its post."""
    with worker_session() as session:
        snapshot = posts_repo.get_snapshot(session, uuid.UUID(snapshot_id))
        post_id = snapshot.post_id if snapshot else None
    org_id = _organization_of(post_id) if post_id else None
    if org_id is None:
        return None
    # Read through the account that published the post (its own token), as publishing does.
    return analytics.collect_snapshot(
        worker_session, uuid.UUID(snapshot_id), lambda platform: publisher_for_org(org_id, platform)
    )


@app.task(name="pipeline.outbox.sweep", **HOUSEKEEPING)
def sweep_outbox() -> int:
    return _in_session(outbox.sweep, app, get_settings().outbox_sweep_after_s)


@app.task(name="pipeline.publish.refresh_tokens", **HOUSEKEEPING)
def refresh_tokens() -> int:
    """Beat, hourly: refresh platform tokens close to expiry."""
    return tokens.refresh_due_tokens(worker_session)


@app.task(name="pipeline.runs.sweep_stuck", **HOUSEKEEPING)
def sweep_stuck_runs() -> int:
    """Beat: re-send the event for runs that made no progress in a stage (lost messages)."""
    nudged = _in_session(outbox.nudge_stuck_runs, get_settings().stuck_run_after_s)
    for outbox_id in nudged:
        _in_session(outbox.relay, app, outbox_id)
    return len(nudged)


@app.task(name="pipeline.campaigns.materialize", **HOUSEKEEPING)
def materialize_campaigns(campaign_id: str | None = None) -> int:
    """Beat, every minute, and at once when a campaign changes: turn the occurrences due
    within the horizon into runs (each exactly once), then send their events."""
    horizon = timedelta(seconds=get_settings().campaign_horizon_s)
    only = uuid.UUID(campaign_id) if campaign_id else None
    created = 0
    while True:
        with worker_session() as session:
            report = campaigns.materialize(
                session, datetime.now(UTC), horizon=horizon, campaign_id=only
            )
        created += report.created
        if report.runs:
            _in_session(outbox.relay_many, app, [run.outbox_id for run in report.runs])
        if report.campaigns < campaigns.BATCH:
            return created
