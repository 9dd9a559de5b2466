"""Publish stage: one claimed post to its platform, ids saved the moment they are known.

Each step commits on its own (claim check, saved ids, outcome), because a platform call must
never sit inside an open transaction and an id the platform returned must survive a crash.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from briefcast.models.posts import PostStatus
from briefcast.models.repositories import pipeline as repo
from briefcast.models.runs import StageOutcome
from briefcast.pipeline.adapters.publisher import (
    AmbiguousPublishError,
    PermanentPublishError,
    Publisher,
    PublishProgress,
    PublishRequest,
    TransientPublishError,
)

STAGE = "publish"
MAX_ATTEMPTS = 5
SessionScope = Callable[[], AbstractContextManager[Session]]


def _backoff_s(attempt: int, retry_after_s: float | None) -> float:
    return max(retry_after_s or 0.0, min(2.0**attempt, 300.0))


def publish_post(
    session_scope: SessionScope,
    post_id: uuid.UUID,
    publisher: Publisher,
    media_url: Callable[[str], str],
    media_path: Callable[[str], str],
    metric_offsets_s: list[int],
) -> str:
    """Publish a claimed post. Returns the post's status afterwards."""
    with session_scope() as session:
        post = repo.get_post(session, post_id, lock=True)
        if post is None or post.status != PostStatus.PUBLISHING:
            # Not claimed, or already done: a redelivered task changes nothing.
            return post.status if post else "missing"
        post.publish_attempts += 1
        attempt = post.publish_attempts
        run_id = post.run_id
        request = PublishRequest(
            post_id=str(post.id),
            caption=post.caption or "",
            image_url=media_url(post.image_path or ""),
            image_path=media_path(post.image_path or ""),
            alt_text=post.alt_text or "",
        )
        progress = PublishProgress(
            container_id=post.container_id,
            platform_post_id=post.platform_post_id,
            permalink=post.permalink,
        )
        repo.start_stage(session, run_id, STAGE, post.platform)

    def save(known: PublishProgress) -> None:
        with session_scope() as s:
            saved = repo.get_post(s, post_id, lock=True)
            assert saved is not None
            saved.container_id = known.container_id
            saved.platform_post_id = known.platform_post_id
            saved.permalink = known.permalink

    try:
        result = publisher.publish(request, progress, save)
    except TransientPublishError as exc:
        return _settle(session_scope, post_id, attempt, exc=exc)
    except AmbiguousPublishError as exc:
        return _settle(session_scope, post_id, attempt, exc=exc, status=PostStatus.UNKNOWN)
    except PermanentPublishError as exc:
        return _settle(session_scope, post_id, attempt, exc=exc, status=PostStatus.FAILED)
    except Exception as exc:
        # A bug, not a platform answer: whether the request went out is not known, so the
        # post waits for reconciliation instead of being sent again on the next lease.
        ambiguous = AmbiguousPublishError(f"unexpected {type(exc).__name__}: {exc}")
        return _settle(session_scope, post_id, attempt, exc=ambiguous, status=PostStatus.UNKNOWN)
    save(result)
    with session_scope() as session:
        post = repo.get_post(session, post_id, lock=True)
        assert post is not None
        now = datetime.now(UTC)
        post.status = PostStatus.PUBLISHED
        post.published_at = now
        post.lease_expires_at = None
        post.status_reason = None
        repo.add_metric_snapshots(session, post_id, now, metric_offsets_s)
        repo.finish_stage(
            session,
            run_id,
            STAGE,
            StageOutcome.SUCCEEDED,
            {"platform_post_id": result.platform_post_id, "attempts": attempt},
            post.platform,
        )
        repo.refresh_run_status_from_posts(session, run_id)
    return PostStatus.PUBLISHED


def _settle(
    session_scope: SessionScope,
    post_id: uuid.UUID,
    attempt: int,
    *,
    exc: TransientPublishError | AmbiguousPublishError | PermanentPublishError,
    status: PostStatus | None = None,
) -> str:
    """Record a failed attempt: reschedule a transient error, else park or fail the post."""
    with session_scope() as session:
        post = repo.get_post(session, post_id, lock=True)
        assert post is not None
        reason = f"{post.platform} said: {exc.message}"
        if status is None:  # transient
            if attempt >= MAX_ATTEMPTS:
                status = PostStatus.FAILED
                reason = f"gave up after {attempt} attempts; last error: {reason}"
            else:
                retry_after = getattr(exc, "retry_after_s", None)
                status = PostStatus.SCHEDULED
                post.scheduled_at = datetime.now(UTC) + timedelta(
                    seconds=_backoff_s(attempt, retry_after)
                )
        post.status = status
        post.status_reason = reason
        post.lease_expires_at = None
        outcome = StageOutcome.RUNNING if status == PostStatus.SCHEDULED else StageOutcome.FAILED
        repo.finish_stage(
            session,
            post.run_id,
            STAGE,
            outcome,
            {"error": reason, "attempts": attempt, "class": type(exc).__name__},
            post.platform,
        )
        repo.refresh_run_status_from_posts(session, post.run_id)
        return status
