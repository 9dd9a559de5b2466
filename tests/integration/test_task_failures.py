"""Tasks run in-process (Celery's `apply`): transient errors retry, others fail the run visibly."""

from __future__ import annotations

import uuid

import httpx2
import openai
import pytest
from sqlalchemy import select

from briefcast.models import RunStatus, StageEvent
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.session import worker_session
from briefcast.pipeline import tasks
from briefcast.pipeline.schedule.service import ImagesPendingError
from tests.integration.factories import make_run

pytestmark = pytest.mark.integration


def _run_and_events(run_id: uuid.UUID) -> tuple[str, str | None, dict[tuple[str, str], StageEvent]]:
    with worker_session() as session:
        run = runs_repo.get(session, run_id)
        assert run is not None
        events = session.scalars(select(StageEvent).where(StageEvent.run_id == run_id)).all()
        return run.status, run.status_reason, {(e.stage, e.subject): e for e in events}


def test_schedule_retries_for_missing_images_then_fails_the_run(db: None) -> None:
    run_id, _ = make_run(status=RunStatus.RENDERING)
    result = tasks.schedule_run.apply(args=(str(run_id),))
    assert result.failed()
    assert isinstance(result.result, ImagesPendingError)
    status, reason, events = _run_and_events(run_id)
    assert status == RunStatus.FAILED
    assert (
        reason
        == "schedule failed: ImagesPendingError: no image was rendered for instagram, linkedin"
    )
    # The timeline keeps the failure even though each attempt's own writes rolled back.
    event = events[("schedule", "run")]
    assert event.outcome == "failed" and event.finished_at is not None


def test_a_render_bug_fails_the_run_with_the_stage_and_platform(db: None) -> None:
    run_id, (post_id,) = make_run(status=RunStatus.RENDERING, platforms=("myspace",))
    result = tasks.render_image.apply(args=(str(post_id),))
    assert result.failed() and isinstance(result.result, KeyError)
    status, reason, events = _run_and_events(run_id)
    assert status == RunStatus.FAILED and reason is not None
    assert reason.startswith("render failed: KeyError")
    assert events[("render", "myspace")].outcome == "failed"


def test_only_refillable_errors_count_as_transient() -> None:
    # The openai client is built on httpx2: its errors carry httpx2 responses.
    response = httpx2.Response(429, request=httpx2.Request("POST", "http://api.test/v1"))

    def rate_limit(code: str) -> openai.RateLimitError:
        return openai.RateLimitError("429", response=response, body={"code": code})

    assert tasks._is_transient(rate_limit("rate_limit_exceeded"))
    assert not tasks._is_transient(rate_limit("insufficient_quota"))
    assert tasks._is_transient(ImagesPendingError("later"))
    assert not tasks._is_transient(KeyError("bug"))
