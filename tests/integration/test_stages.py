"""Stage services against real PostgreSQL: guards, halts, claims and leases."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from briefcast.models import OutboxMessage, Post, PostStatus, RunStatus, StageEvent
from briefcast.models.repositories import claims
from briefcast.models.repositories import pipeline as repo
from briefcast.models.session import worker_session
from briefcast.pipeline.check.service import check_copy
from briefcast.pipeline.copy.service import generate_copy
from briefcast.pipeline.outbox import service as outbox
from briefcast.pipeline.schedule.service import schedule_run
from tests.integration.factories import make_run

pytestmark = pytest.mark.integration


def _run_status(run_id: uuid.UUID) -> tuple[str, str | None]:
    with worker_session() as session:
        run = repo.get_run(session, run_id)
        assert run is not None
        return run.status, run.status_reason


def test_copy_stage_writes_every_post_and_is_idempotent(db: None) -> None:
    run_id, _ = make_run()
    with worker_session() as session:
        assert generate_copy(session, run_id) is True
    with worker_session() as session:
        first = {p.platform: p.caption for p in repo.posts_of_run(session, run_id)}
        # A redelivered task finds the run past this stage and changes nothing.
        assert generate_copy(session, run_id) is False
    with worker_session() as session:
        posts = repo.posts_of_run(session, run_id)
        assert {p.platform: p.caption for p in posts} == first
        assert all(p.copy_source == "offline-copywriter" for p in posts)
        event = session.scalars(select(StageEvent).where(StageEvent.run_id == run_id)).one()
        assert (event.stage, event.outcome, event.attempts) == ("copy", "succeeded", 1)
    assert _run_status(run_id)[0] == RunStatus.CHECKING


def test_negative_copy_halts_the_run_for_review(db: None) -> None:
    run_id, _ = make_run(
        status=RunStatus.CHECKING,
        captions={
            "instagram": "We love our community and this launch!",
            "linkedin": "This is a terrible, awful, hateful product. Disgusting.",
        },
    )
    with worker_session() as session:
        outcome = check_copy(session, run_id, floor=-0.25)
    assert outcome is not None and not outcome.passed
    status, reason = _run_status(run_id)
    assert status == RunStatus.NEEDS_REVIEW
    assert reason is not None and "linkedin" in reason and "instagram" not in reason
    # Nothing downstream acts on a halted run.
    with worker_session() as session:
        assert schedule_run(session, run_id) is False
        assert all(p.scheduled_at is None for p in repo.posts_of_run(session, run_id))


def test_schedule_fails_the_run_when_an_image_is_missing(db: None) -> None:
    run_id, _ = make_run(status=RunStatus.RENDERING)
    with worker_session() as session:
        assert schedule_run(session, run_id) is False
    status, reason = _run_status(run_id)
    assert status == RunStatus.FAILED
    assert reason == "no image was rendered for instagram, linkedin"


def test_only_due_posts_are_claimed(db: None) -> None:
    _, (due, later) = make_run(post_status=PostStatus.SCHEDULED, scheduled_in_s=-1)
    with worker_session() as session:
        session.get(Post, later).scheduled_at = datetime.now(UTC) + timedelta(hours=1)  # type: ignore[union-attr]
    with worker_session() as session:
        assert claims.claim_due_posts(session, lease_s=60) == [due]
    with worker_session() as session:
        post = session.get(Post, due)
        assert post is not None and post.status == PostStatus.PUBLISHING
        assert post.lease_expires_at is not None and post.lease_expires_at > datetime.now(UTC)


def test_two_dispatchers_never_claim_the_same_post(db: None) -> None:
    post_ids: list[uuid.UUID] = []
    for _ in range(20):
        post_ids += make_run(post_status=PostStatus.SCHEDULED, scheduled_in_s=-1)[1]
    barrier = threading.Barrier(2)
    claimed: list[list[uuid.UUID]] = [[], []]

    def dispatcher(index: int) -> None:
        with worker_session() as session:
            barrier.wait()
            claimed[index] = claims.claim_due_posts(session, lease_s=60, limit=25)
            barrier.wait()  # both hold their row locks at once before either commits

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not set(claimed[0]) & set(claimed[1])
    assert sorted(claimed[0] + claimed[1]) == sorted(post_ids)


def test_an_expired_lease_is_claimed_again(db: None) -> None:
    _, (post_id, other) = make_run(post_status=PostStatus.PUBLISHING, scheduled_in_s=-5)
    with worker_session() as session:
        dead = session.get(Post, post_id)
        alive = session.get(Post, other)
        assert dead is not None and alive is not None
        dead.lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)  # its worker died
        alive.lease_expires_at = datetime.now(UTC) + timedelta(seconds=60)
    with worker_session() as session:
        assert claims.claim_due_posts(session, lease_s=60) == [post_id]


class _RecordingCelery:
    """Stands in for the broker connection only: records what would be sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, kwargs: dict[str, Any], **_: Any) -> None:
        self.sent.append((name, kwargs))


def test_sweep_sends_only_old_unsent_rows_once(db: None) -> None:
    with worker_session() as session:
        session.add_all(
            [
                OutboxMessage(
                    topic="run.submitted",
                    payload={"run_id": "old", "post_ids": []},
                    created_at=datetime.now(UTC) - timedelta(seconds=30),
                ),
                OutboxMessage(topic="run.submitted", payload={"run_id": "new", "post_ids": []}),
            ]
        )
    recorder = _RecordingCelery()
    with worker_session() as session:
        assert outbox.sweep(session, recorder, older_than_s=5) == 1  # type: ignore[arg-type]
    with worker_session() as session:
        assert outbox.sweep(session, recorder, older_than_s=5) == 0  # type: ignore[arg-type]
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [r.sent_at is not None for r in rows] == [True, False]
    assert recorder.sent == [("pipeline.runs.start", {"run_id": "old", "post_ids": []})]


def test_unknown_outbox_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outbox topic"):
        outbox.send(_RecordingCelery(), "nope", {})  # type: ignore[arg-type]
