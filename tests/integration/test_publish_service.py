"""The publish service's bookkeeping for each outcome, with a scripted publisher.

The wire-level behaviour of the real publishers is covered against the sandboxes in
tests/contract; here the publisher only decides which outcome the service must record.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from briefcast.models import MetricSnapshot, Post, PostAttempt, PostStatus, RunStatus
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.session import worker_session
from briefcast.pipeline.adapters.publisher import (
    AmbiguousPublishError,
    AuthPublishError,
    HeldPublishError,
    PostMetrics,
    PublishProgress,
    PublishRequest,
    SaveProgress,
    TransientPublishError,
)
from briefcast.pipeline.publish.dispatch import MAX_RECONCILES, claim_due_posts, gave_up_reason
from briefcast.pipeline.publish.service import MAX_ATTEMPTS, MediaLocator, publish_post
from tests.integration.factories import make_run

pytestmark = pytest.mark.integration


class ScriptedPublisher:
    platform = "instagram"

    def __init__(self, *outcomes: Exception | None):
        self.outcomes = list(outcomes)
        self.seen: list[PublishProgress] = []

    def publish(
        self, request: PublishRequest, progress: PublishProgress, save: SaveProgress
    ) -> PublishProgress:
        self.seen.append(PublishProgress(progress.container_id, progress.platform_post_id))
        if progress.container_id is None:
            progress.container_id = "container-1"
            save(progress)  # known before the next call, as the real publishers do
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        progress.platform_post_id = "media-1"
        return progress

    def fetch_metrics(self, platform_post_id: str) -> PostMetrics:
        return PostMetrics(values={})


MEDIA = MediaLocator(url=lambda key: f"http://media.test/{key}", path=str)


def _claimed_post() -> tuple[uuid.UUID, uuid.UUID]:
    _, (post_id,) = make_run(
        status=RunStatus.SCHEDULED,
        platforms=("instagram",),
        post_status=PostStatus.SCHEDULED,
        scheduled_in_s=-1,
    )
    return post_id, _claim(post_id)


def _claim(post_id: uuid.UUID) -> uuid.UUID:
    """What the dispatcher does: a fresh claim id on a publishing post."""
    claim_id = uuid.uuid4()
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.status, post.claim_id = PostStatus.PUBLISHING, claim_id
    return claim_id


def _publish(post_id: uuid.UUID, claim_id: uuid.UUID, publisher: ScriptedPublisher) -> str | None:
    return publish_post(worker_session, post_id, claim_id, lambda *_: publisher, MEDIA, [0, 3600])


def _post(post_id: uuid.UUID) -> Post:
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        return post


def test_published_post_saves_ids_schedules_metrics_and_publishes_the_run(db: None) -> None:
    post_id, claim_id = _claimed_post()
    assert _publish(post_id, claim_id, ScriptedPublisher(None)) == PostStatus.PUBLISHED
    post = _post(post_id)
    assert (post.container_id, post.platform_post_id) == ("container-1", "media-1")
    assert post.published_at is not None and post.published_at <= datetime.now(UTC)
    assert (post.claim_id, post.attempt_started_at) == (None, None)
    with worker_session() as session:
        offsets = sorted(
            s.offset_s for s in session.query(MetricSnapshot).filter_by(post_id=post_id)
        )
        run = runs_repo.get(session, post.run_id)
        assert run is not None and run.status == RunStatus.PUBLISHED
    assert offsets == [0, 3600]
    # A redelivered message for the settled claim is stale and changes nothing.
    assert _publish(post_id, claim_id, ScriptedPublisher()) is None
    assert _post(post_id).status == PostStatus.PUBLISHED


def test_duplicate_messages_for_one_claim_publish_once(db: None) -> None:
    post_id, claim_id = _claimed_post()
    publisher = ScriptedPublisher(None, None)
    results: list[str | None] = []
    barrier = threading.Barrier(2)

    def deliver() -> None:
        barrier.wait()
        results.append(_publish(post_id, claim_id, publisher))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results, key=str) == [None, PostStatus.PUBLISHED]
    assert len(publisher.seen) == 1  # the platform was called once
    assert _post(post_id).publish_attempts == 1


def test_a_message_for_an_older_claim_is_ignored(db: None) -> None:
    post_id, stale_claim = _claimed_post()
    _claim(post_id)  # the dispatcher re-claimed it (the first message sat in the queue)
    publisher = ScriptedPublisher(None)
    assert _publish(post_id, stale_claim, publisher) is None
    assert publisher.seen == [] and _post(post_id).publish_attempts == 0


def test_transient_error_reschedules_and_the_retry_resumes_from_saved_ids(db: None) -> None:
    post_id, claim_id = _claimed_post()
    publisher = ScriptedPublisher(TransientPublishError("busy", status=503), None)
    assert _publish(post_id, claim_id, publisher) == PostStatus.SCHEDULED
    post = _post(post_id)
    assert post.scheduled_at is not None and post.scheduled_at > datetime.now(UTC)
    assert post.status_reason == "instagram said: busy"
    assert (post.claim_id, post.attempt_started_at) == (None, None)
    assert _publish(post_id, _claim(post_id), publisher) == PostStatus.PUBLISHED
    assert publisher.seen[1].container_id == "container-1"  # no second container
    assert _post(post_id).publish_attempts == 2


def test_transient_errors_give_up_after_the_bound(db: None) -> None:
    post_id, _ = _claimed_post()
    errors = [TransientPublishError("busy", status=503) for _ in range(MAX_ATTEMPTS)]
    publisher = ScriptedPublisher(*errors)
    statuses = [_publish(post_id, _claim(post_id), publisher) for _ in range(MAX_ATTEMPTS)]
    assert statuses == [PostStatus.SCHEDULED] * (MAX_ATTEMPTS - 1) + [PostStatus.FAILED]
    reason = _post(post_id).status_reason or ""
    assert reason.startswith(f"gave up after {MAX_ATTEMPTS} attempts")


def test_expired_token_asks_for_a_reconnect_with_the_platform_message(db: None) -> None:
    post_id, claim_id = _claimed_post()
    error = AuthPublishError("Error validating access token: Session has expired", code="190")
    assert _publish(post_id, claim_id, ScriptedPublisher(error)) == PostStatus.NEEDS_RECONNECT
    post = _post(post_id)
    assert post.status_reason == (
        "reconnect the instagram account: Error validating access token: Session has expired"
    )
    with worker_session() as session:
        run = runs_repo.get(session, post.run_id)
        assert run is not None and run.status == RunStatus.NEEDS_RECONNECT
        assert run.status_reason == post.status_reason


def test_a_held_post_waits_without_using_up_its_attempts(db: None) -> None:
    post_id, _ = _claimed_post()
    held = [
        HeldPublishError("limit used: 50 of 50", retry_after_s=900) for _ in range(MAX_ATTEMPTS)
    ]
    publisher = ScriptedPublisher(*held, None)
    for _ in range(MAX_ATTEMPTS):
        assert _publish(post_id, _claim(post_id), publisher) == PostStatus.SCHEDULED
        post = _post(post_id)
        assert post.status_reason is not None and post.status_reason.startswith("held until")
        assert post.scheduled_at is not None
        assert post.scheduled_at > datetime.now(UTC) + timedelta(seconds=800)
    assert _publish(post_id, _claim(post_id), publisher) == PostStatus.PUBLISHED
    with worker_session() as session:
        outcomes = [a.outcome for a in session.query(PostAttempt).filter_by(post_id=post_id)]
    assert sorted(outcomes) == sorted(["held"] * MAX_ATTEMPTS + ["published"])


def test_an_ambiguous_outcome_is_reconciled_by_the_next_claim(db: None) -> None:
    post_id, claim_id = _claimed_post()
    publisher = ScriptedPublisher(AmbiguousPublishError("connection dropped"), None)
    assert _publish(post_id, claim_id, publisher) == PostStatus.UNKNOWN
    post = _post(post_id)
    assert post.scheduled_at is not None  # when to check with the platform
    with worker_session() as session:
        row = session.get(Post, post_id)
        assert row is not None
        row.scheduled_at = datetime.now(UTC)
    with worker_session() as session:
        (claim,) = claim_due_posts(session, lease_s=60)
    assert _publish(post_id, claim.claim_id, publisher) == PostStatus.PUBLISHED
    assert publisher.seen[1].container_id == "container-1"  # checked, not created afresh
    post = _post(post_id)
    assert post.reconcile_attempts == 1
    with worker_session() as session:
        kinds = [
            (a.kind, a.outcome)
            for a in session.query(PostAttempt)
            .filter_by(post_id=post_id)
            .order_by(PostAttempt.number)
        ]
    assert kinds == [("publish", "ambiguous"), ("reconcile", "published")]


def test_reconciliation_gives_up_with_a_reason_a_person_can_act_on(db: None) -> None:
    post_id, _ = _claimed_post()
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.status, post.reconcile_attempts = PostStatus.UNKNOWN, MAX_RECONCILES
        post.scheduled_at = datetime.now(UTC)
    with worker_session() as session:
        assert claim_due_posts(session, lease_s=60) == []
    post = _post(post_id)
    assert post.status == PostStatus.FAILED
    assert post.status_reason == gave_up_reason("instagram")


def test_one_account_has_a_bounded_number_of_posts_in_flight(db: None) -> None:
    for _ in range(6):
        make_run(platforms=("linkedin",), post_status=PostStatus.SCHEDULED, scheduled_in_s=-1)
    with worker_session() as session:
        first = claim_due_posts(session, lease_s=60, per_account=4)
    with worker_session() as session:
        second = claim_due_posts(session, lease_s=60, per_account=4)
    assert (len(first), len(second)) == (4, 0)


def test_an_unexpected_error_is_never_resent_blindly(db: None) -> None:
    post_id, claim_id = _claimed_post()
    assert _publish(post_id, claim_id, ScriptedPublisher(RuntimeError("bug"))) == PostStatus.UNKNOWN
    assert "unexpected RuntimeError: bug" in (_post(post_id).status_reason or "")


def test_waiting_for_a_busy_account_uses_up_no_reconcile_checks(db: None) -> None:
    for _ in range(4):  # the account already has its limit in flight
        _, (busy,) = make_run(platforms=("instagram",), post_status=PostStatus.SCHEDULED,
                              scheduled_in_s=-1)  # fmt: skip
        _claim(busy)
    post_id, _ = _claimed_post()
    with worker_session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.status, post.claim_id, post.scheduled_at = PostStatus.UNKNOWN, None, datetime.now(UTC)
    for _ in range(MAX_RECONCILES + 1):
        with worker_session() as session:
            assert claim_due_posts(session, lease_s=60, per_account=4) == []
    post = _post(post_id)
    assert (post.status, post.reconcile_attempts) == (PostStatus.UNKNOWN, 0)
