"""Publish stage: one claimed post to its platform, ids saved the moment they are known.

Each step commits on its own (begin the attempt, saved ids, outcome), because a platform call
must never sit inside an open transaction and an id the platform returned must survive a
crash. The attempt is marked started before the first platform call, so a worker that dies
mid-call leaves a post the dispatcher reconciles instead of resending.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from briefcast.models.posts import AttemptOutcome, Post, PostStatus
from briefcast.models.repositories import accounts as accounts_repo
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.repositories import runs as runs_repo
from briefcast.models.runs import StageOutcome
from briefcast.models.session import SessionScope
from briefcast.observability import metrics
from briefcast.pipeline.adapters.publisher import (
    AmbiguousPublishError,
    AuthPublishError,
    HeldPublishError,
    PermanentPublishError,
    Publisher,
    PublishError,
    PublishProgress,
    PublishRequest,
    TransientPublishError,
)
from briefcast.pipeline.backoff import backoff_s
from briefcast.pipeline.publish import run_status

STAGE = "publish"
MAX_ATTEMPTS = 5  # transient failures; held (quota, throttle) attempts do not count
# An attempt after one of these is a reconciliation: the publisher checks the platform first.
RECONCILE_AFTER = frozenset({AttemptOutcome.AMBIGUOUS, AttemptOutcome.STALE})
MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class MediaLocator:
    """Where a post's image is: the public URL Instagram fetches, the file LinkedIn uploads."""

    url: Callable[[str], str]
    path: Callable[[str], str]


def retry_in_s(attempt: int, retry_after_s: float | None = None) -> float:
    """Exponential with jitter, never sooner than the platform asked (Retry-After)."""
    computed = backoff_s(attempt, cap_s=MAX_BACKOFF_S, jitter=(0.75, 1.0))
    return max(retry_after_s or 0.0, computed)


def _begin_attempt(
    session: Session, post_id: uuid.UUID, claim_id: uuid.UUID, media: MediaLocator
) -> tuple[Post, PublishRequest, PublishProgress] | None:
    post = posts_repo.get(session, post_id, lock=True)
    if (
        post is None
        or post.status != PostStatus.PUBLISHING
        or post.claim_id != claim_id
        or post.attempt_started_at is not None
    ):
        return None  # a stale or duplicate message: another claim owns this post, or none
    post.attempt_started_at = datetime.now(UTC)
    post.publish_attempts += 1
    runs_repo.start_stage(session, post.run_id, STAGE, post.platform)
    previous = posts_repo.last_attempt(session, post.id)
    reconciling = previous is not None and previous.outcome in RECONCILE_AFTER
    metrics.record_publish_attempt(post, reconciling)
    posts_repo.start_attempt(
        session,
        post,
        "reconcile" if reconciling else "publish",
        {
            "image": post.image_path,
            "caption_chars": len(post.caption or ""),
            "resumed_from": {"container_id": post.container_id,
                             "platform_post_id": post.platform_post_id},
        },
        previous,
    )  # fmt: skip
    request = PublishRequest(
        post_id=str(post.id),
        caption=post.caption or "",
        image_url=media.url(post.image_path or ""),
        image_path=media.path(post.image_path or ""),
        alt_text=post.alt_text or "",
    )
    progress = PublishProgress(
        container_id=post.container_id,
        platform_post_id=post.platform_post_id,
        permalink=post.permalink,
        extra=dict(post.publish_progress),
    )
    return post, request, progress


def publish_post(
    session_scope: SessionScope,
    post_id: uuid.UUID,
    claim_id: uuid.UUID,
    publisher_for: Callable[[Session, Post], Publisher],
    media: MediaLocator,
    metric_offsets_s: list[int],
) -> str | None:
    """Publish a claimed post; returns its status afterwards, None for a stale message.

    `publisher_for` finds the post's account in the session that begins the attempt; an
    account that must be reconnected fails the attempt like a platform's refusal would.
    """
    refused: AuthPublishError | None = None
    with session_scope() as session:
        begun = _begin_attempt(session, post_id, claim_id, media)
        if begun is None:
            metrics.PUBLISH_STALE_MESSAGES.inc()
            return None
        post, request, progress = begun
        platform, attempt = post.platform, post.publish_attempts
        try:
            publisher = publisher_for(session, post)
        except AuthPublishError as exc:
            refused = exc

    def save(known: PublishProgress) -> None:
        with session_scope() as s:
            _store_progress(s, post_id, known)

    try:
        if refused is not None:
            raise refused
        result = publisher.publish(request, progress, save)
    except PublishError as exc:
        return _settle_failure(session_scope, post_id, claim_id, attempt, exc)
    except Exception as exc:
        # A bug, not a platform answer: whether the request went out is not known, so the
        # post waits for reconciliation instead of being sent again.
        ambiguous = AmbiguousPublishError(f"unexpected {type(exc).__name__}: {exc}")
        return _settle_failure(session_scope, post_id, claim_id, attempt, ambiguous)
    with session_scope() as session:
        # The ids the publisher returned commit with the outcome (it saved the earlier ones).
        _store_progress(session, post_id, result)
        post = _settled_post(session, post_id)
        now = datetime.now(UTC)
        post.status = PostStatus.PUBLISHED
        post.published_at = now
        post.status_reason = None
        posts_repo.close_running_attempt(session, post_id, AttemptOutcome.PUBLISHED)
        posts_repo.add_metric_snapshots(session, post_id, now, metric_offsets_s)
        runs_repo.finish_stage(
            session,
            post.run_id,
            STAGE,
            StageOutcome.SUCCEEDED,
            {"platform_post_id": result.platform_post_id, "attempts": attempt},
            platform,
        )
        run_status.refresh(session, post.run_id)
    metrics.record_publish_outcome(platform, AttemptOutcome.PUBLISHED, PostStatus.PUBLISHED)
    return PostStatus.PUBLISHED


def _store_progress(session: Session, post_id: uuid.UUID, known: PublishProgress) -> None:
    posts_repo.save_publish_progress(
        session,
        post_id,
        known.container_id,
        known.platform_post_id,
        known.permalink,
        dict(known.extra),
    )


def _settled_post(session: Session, post_id: uuid.UUID) -> Post:
    """The post, locked, with its attempt closed (claim, lease and start cleared)."""
    post = posts_repo.get(session, post_id, lock=True)
    assert post is not None
    post.claim_id = post.lease_expires_at = post.attempt_started_at = None
    return post


def _settle_failure(
    session_scope: SessionScope,
    post_id: uuid.UUID,
    claim_id: uuid.UUID,
    attempt: int,
    exc: PublishError,
) -> str:
    """Transient: reschedule with backoff (bounded). Ambiguous: unknown. Permanent: failed."""
    with session_scope() as session:
        current = posts_repo.get(session, post_id, lock=True)
        assert current is not None
        # The dispatcher already parked it as unknown (our lease lapsed mid-call): only a
        # success may overrule that; a failure here proves nothing about the platform.
        if current.claim_id != claim_id:
            return current.status
        post = _settled_post(session, post_id)
        reason = f"{post.platform} said: {exc.message}"
        outcome, attempt_outcome = StageOutcome.FAILED, AttemptOutcome.PERMANENT
        now = datetime.now(UTC)
        if isinstance(exc, AmbiguousPublishError):
            post.status = PostStatus.UNKNOWN
            reason = f"outcome unknown, to be reconciled with {post.platform}: {exc.message}"
            post.scheduled_at = now + timedelta(seconds=retry_in_s(post.reconcile_attempts + 1))
            outcome, attempt_outcome = StageOutcome.RETRYING, AttemptOutcome.AMBIGUOUS
        elif isinstance(exc, HeldPublishError):
            post.status = PostStatus.SCHEDULED
            post.scheduled_at = now + timedelta(seconds=exc.retry_after_s or 300.0)
            reason = f"held until {post.scheduled_at:%Y-%m-%d %H:%M} UTC: {exc.message}"
            outcome, attempt_outcome = StageOutcome.RETRYING, AttemptOutcome.HELD
        elif isinstance(exc, TransientPublishError):
            failures = posts_repo.count_attempts(session, post_id, AttemptOutcome.TRANSIENT) + 1
            attempt_outcome = AttemptOutcome.TRANSIENT
            if failures < MAX_ATTEMPTS:
                post.status = PostStatus.SCHEDULED
                delay = retry_in_s(failures, exc.retry_after_s)
                post.scheduled_at = now + timedelta(seconds=delay)
                outcome = StageOutcome.RETRYING  # the dispatcher will claim it again when due
            else:
                post.status = PostStatus.FAILED
                reason = f"gave up after {failures} attempts; last error: {reason}"
        elif isinstance(exc, AuthPublishError):
            post.status = PostStatus.NEEDS_RECONNECT
            reason = exc.reason(post.platform)
            attempt_outcome = AttemptOutcome.AUTH
            run = runs_repo.get(session, post.run_id)
            if run is not None:  # every post of this account waits, not just this one
                accounts_repo.mark_needs_reconnect(
                    session, run.organization_id, post.platform, reason
                )
        else:
            assert isinstance(exc, PermanentPublishError)
            post.status = PostStatus.FAILED
        posts_repo.close_running_attempt(
            session, post_id, attempt_outcome, exc.message, type(exc).__name__
        )
        post.status_reason = reason
        detail = {"error": reason, "attempts": attempt, "class": type(exc).__name__}
        runs_repo.finish_stage(session, post.run_id, STAGE, outcome, detail, post.platform)
        run_status.refresh(session, post.run_id)
        metrics.record_publish_outcome(post.platform, attempt_outcome, post.status)
        return post.status
