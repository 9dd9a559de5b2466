"""Stage services against real PostgreSQL: guards, halts, claims and leases."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from briefcast.models import OutboxMessage, Post, PostStatus, RunStatus, StageEvent, StageOutcome
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.session import worker_session
from briefcast.pipeline.check.service import check_copy
from briefcast.pipeline.copy.offline import OfflineCopywriter
from briefcast.pipeline.copy.service import generate_copy
from briefcast.pipeline.outbox import service as outbox
from briefcast.pipeline.publish import run_status
from briefcast.pipeline.publish.dispatch import LAPSED_REASON, claim_due_posts
from briefcast.pipeline.schedule.service import ImagesPendingError, schedule_run
from tests.integration.factories import make_run

pytestmark = pytest.mark.integration


def _run_status(run_id: uuid.UUID) -> tuple[str, str | None]:
    with worker_session() as session:
        run = runs_repo.get(session, run_id)
        assert run is not None
        return run.status, run.status_reason


def test_copy_stage_writes_every_post_and_is_idempotent(db: None) -> None:
    run_id, _ = make_run()
    assert generate_copy(worker_session, run_id, OfflineCopywriter()) is True
    with worker_session() as session:
        first = {p.platform: p.caption for p in posts_repo.of_run(session, run_id)}
    # A redelivered task finds the run past this stage and changes nothing.
    assert generate_copy(worker_session, run_id, OfflineCopywriter()) is False
    with worker_session() as session:
        posts = posts_repo.of_run(session, run_id)
        assert {p.platform: p.caption for p in posts} == first
        assert all(p.copy_source == "offline-copywriter" for p in posts)
        event = session.scalars(select(StageEvent).where(StageEvent.run_id == run_id)).one()
        assert (event.stage, event.outcome, event.attempts) == ("copy", "succeeded", 1)
    assert _run_status(run_id)[0] == RunStatus.CHECKING


NEGATIVE = {
    "instagram": "We love our community and this launch!",
    "linkedin": "This is a terrible, awful, hateful product. Disgusting.",
}


def test_failing_copy_is_sent_back_with_the_reasons(db: None) -> None:
    run_id, _ = make_run(status=RunStatus.CHECKING, captions=NEGATIVE)
    outcome = check_copy(worker_session, run_id, floor=-0.25, max_regenerations=2)
    assert outcome is not None and outcome.decision == "regenerate"
    assert outcome.outbox_id is not None
    with worker_session() as session:
        run = runs_repo.get(session, run_id)
        assert run is not None
        assert (run.status, run.regenerations) == (RunStatus.GENERATING, 1)
        assert len(run.copy_feedback) == 1 and run.copy_feedback[0].startswith(
            "linkedin: sentiment"
        )
        event = session.get(OutboxMessage, outcome.outbox_id)
        assert event is not None and event.topic == "run.submitted" and event.sent_at is None


def test_failing_copy_past_the_bound_waits_for_review(db: None) -> None:
    run_id, _ = make_run(status=RunStatus.CHECKING, captions=NEGATIVE)
    outcome = check_copy(worker_session, run_id, floor=-0.25, max_regenerations=0)
    assert outcome is not None and outcome.decision == "needs_review"
    status, reason = _run_status(run_id)
    assert status == RunStatus.NEEDS_REVIEW
    assert reason is not None and reason.startswith("linkedin: sentiment")
    assert "instagram" not in reason
    # Nothing downstream acts on a halted run.
    with worker_session() as session:
        assert schedule_run(session, run_id) is False
        assert all(p.scheduled_at is None for p in posts_repo.of_run(session, run_id))


def test_schedule_waits_for_missing_images_without_scheduling_anything(db: None) -> None:
    run_id, _ = make_run(status=RunStatus.RENDERING)
    expected = "no image was rendered for instagram, linkedin"
    with pytest.raises(ImagesPendingError, match=expected), worker_session() as session:
        schedule_run(session, run_id)
    assert _run_status(run_id)[0] == RunStatus.RENDERING
    with worker_session() as session:
        assert all(p.scheduled_at is None for p in posts_repo.of_run(session, run_id))


def test_only_due_posts_are_claimed(db: None) -> None:
    _, (due, later) = make_run(post_status=PostStatus.SCHEDULED, scheduled_in_s=-1)
    with worker_session() as session:
        post = session.get(Post, later)
        assert post is not None
        post.scheduled_at = datetime.now(UTC) + timedelta(hours=1)
    with worker_session() as session:
        claimed = claim_due_posts(session, lease_s=60)
    assert [c.post_id for c in claimed] == [due]
    with worker_session() as session:
        post = session.get(Post, due)
        assert post is not None and post.status == PostStatus.PUBLISHING
        assert post.claim_id == claimed[0].claim_id
        assert post.lease_expires_at is not None and post.lease_expires_at > datetime.now(UTC)


def test_posts_due_before_the_next_tick_are_claimed_to_start_at_their_due_time(db: None) -> None:
    _, (overdue, soon) = make_run(post_status=PostStatus.SCHEDULED, scheduled_in_s=-1)
    _, (later, _other) = make_run(post_status=PostStatus.SCHEDULED, scheduled_in_s=5)
    now = datetime.now(UTC)
    with worker_session() as session:
        soon_post = session.get(Post, soon)
        assert soon_post is not None
        soon_post.scheduled_at = now + timedelta(seconds=0.5)
        due_soon = soon_post.scheduled_at
    with worker_session() as session:
        claimed = claim_due_posts(session, lease_s=60, per_account=10, now=now, lookahead_s=1.0)
    by_post = {c.post_id: c for c in claimed}
    assert set(by_post) == {overdue, soon}  # `later` is due after the next tick: left alone
    assert later not in by_post
    assert by_post[overdue].start_at is None  # already due: start at once
    assert by_post[soon].start_at == due_soon  # sent with its due time as the ETA, not earlier


def test_two_posts_of_one_run_settling_at_once_do_not_deadlock(db: None) -> None:
    # Each settle first inserts rows that reference the run (a foreign-key share lock on it),
    # then locks the run to derive its status: both orders at once must queue, not deadlock.
    run_id, _ = make_run(post_status=PostStatus.PUBLISHING, scheduled_in_s=-1)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def settle(platform: str) -> None:
        try:
            with worker_session() as session:
                runs_repo.finish_stage(
                    session, run_id, "publish", StageOutcome.SUCCEEDED, {}, platform
                )
                session.flush()
                barrier.wait(5)  # both hold their share lock on the run
                run_status.refresh(session, run_id)
        except BaseException as exc:  # reported below, from the main thread
            errors.append(exc)

    threads = [threading.Thread(target=settle, args=(p,)) for p in ("instagram", "linkedin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []


def _lapse(post_id: uuid.UUID, *, attempt_started: bool) -> uuid.UUID:
    """Make the post look claimed by a worker that went silent; returns the old claim id."""
    old_claim = uuid.uuid4()
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.status = PostStatus.PUBLISHING
        post.claim_id = old_claim
        post.lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        post.attempt_started_at = (
            datetime.now(UTC) - timedelta(minutes=3) if attempt_started else None
        )
    return old_claim


def test_a_lapsed_claim_that_never_reached_the_platform_is_claimed_afresh(db: None) -> None:
    _, (post_id, other) = make_run(post_status=PostStatus.PUBLISHING, scheduled_in_s=-5)
    old_claim = _lapse(post_id, attempt_started=False)
    with worker_session() as session:
        alive = session.get(Post, other)
        assert alive is not None
        alive.lease_expires_at = datetime.now(UTC) + timedelta(seconds=60)  # still working
    with worker_session() as session:
        claimed = claim_due_posts(session, lease_s=60)
    assert [c.post_id for c in claimed] == [post_id]
    assert claimed[0].claim_id != old_claim  # the stale message can no longer act


def test_a_lapsed_attempt_that_may_have_posted_is_reconciled_not_resent(db: None) -> None:
    run_id, (post_id, _) = make_run(post_status=PostStatus.SCHEDULED, scheduled_in_s=3600)
    _lapse(post_id, attempt_started=True)
    with worker_session() as session:
        assert claim_due_posts(session, lease_s=60) == []
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None and post.status == PostStatus.UNKNOWN
        assert post.status_reason == LAPSED_REASON and post.claim_id is None
    assert _run_status(run_id) == (
        RunStatus.PUBLISHING,
        "a post's outcome is unknown and needs reconciling",
    )


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
        assert outbox.sweep(session, recorder, older_than_s=5) == 1
    with worker_session() as session:
        assert outbox.sweep(session, recorder, older_than_s=5) == 0
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [r.sent_at is not None for r in rows] == [True, False]
    assert recorder.sent == [("pipeline.runs.start", {"run_id": "old", "post_ids": []})]


def test_an_unsendable_outbox_row_is_parked_and_does_not_block_the_rest(db: None) -> None:
    old = datetime.now(UTC) - timedelta(seconds=30)
    with worker_session() as session:
        session.add_all(
            [
                OutboxMessage(topic="nope", payload={}, created_at=old),
                OutboxMessage(topic="run.submitted", payload={"run_id": "r"}, created_at=old),
            ]
        )
    recorder = _RecordingCelery()
    with worker_session() as session:
        assert outbox.sweep(session, recorder, older_than_s=5) == 1
    with worker_session() as session:
        parked, sent = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert parked.error == "unknown outbox topic 'nope'" and parked.sent_at is None
    assert sent.sent_at is not None
    assert recorder.sent == [("pipeline.runs.start", {"run_id": "r"})]


def test_runs_idle_in_a_stage_are_nudged_with_the_right_event(db: None) -> None:
    stuck_check, _ = make_run(status=RunStatus.CHECKING)
    stuck_render, _ = make_run(status=RunStatus.RENDERING)
    fresh, _ = make_run(status=RunStatus.CHECKING)
    with worker_session() as session:
        for run_id in (stuck_check, stuck_render):
            run = runs_repo.get(session, run_id)
            assert run is not None
            run.updated_at = datetime.now(UTC) - timedelta(minutes=30)
    with worker_session() as session:
        ids = outbox.nudge_stuck_runs(session, older_than_s=600)
    with worker_session() as session:
        rows = [session.get(OutboxMessage, i) for i in ids]
        by_run = {row.payload["run_id"]: row.topic for row in rows if row is not None}
    assert by_run == {str(stuck_check): "run.submitted", str(stuck_render): "run.approved"}
    with worker_session() as session:  # nudged runs wait a full period before the next nudge
        assert outbox.nudge_stuck_runs(session, older_than_s=600) == []
    assert str(fresh) not in by_run
