"""Queries the pipeline's stage services run (sync, in workers)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from briefcast.models.outbox import OutboxMessage
from briefcast.models.posts import AttemptOutcome, MetricSnapshot, Post, PostAttempt, PostStatus
from briefcast.models.repositories.ingest import (
    RUN_SUBMITTED,
    AcceptedRun,
    NewBrief,
    run_event_payload,
)
from briefcast.models.runs import Brief, Run, RunStatus, StageEvent, StageOutcome


def get_run(session: Session, run_id: uuid.UUID, *, lock: bool = False) -> Run | None:
    stmt = select(Run).where(Run.id == run_id)
    if lock:
        # FOR NO KEY UPDATE: runs are locked to change their status, never their key, and
        # this lock, unlike FOR UPDATE, leaves the share locks that rows referencing the run
        # take (stage events, posts) alone, so two posts settling at once queue, not deadlock.
        stmt = stmt.with_for_update(key_share=True)
    return session.scalars(stmt).first()


# A run in one of these still has content or image work ahead of it.
_BEFORE_PUBLISHING = (
    RunStatus.ACCEPTED, RunStatus.GENERATING, RunStatus.CHECKING, RunStatus.RENDERING,
)  # fmt: skip


def organization_backlog(session: Session, run_id: uuid.UUID) -> int:
    """How many runs of this run's organization (this one included) are before publishing."""
    owner = select(Run.organization_id).where(Run.id == run_id).scalar_subquery()
    count = session.scalar(
        select(func.count()).where(Run.organization_id == owner, Run.status.in_(_BEFORE_PUBLISHING))
    )
    return count or 0


def get_brief(session: Session, brief_id: uuid.UUID) -> Brief | None:
    return session.get(Brief, brief_id)


def organization_of_post(session: Session, post_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(
        select(Run.organization_id).join(Post, Post.run_id == Run.id).where(Post.id == post_id)
    )


def save_publish_progress(
    session: Session,
    post_id: uuid.UUID,
    container_id: str | None,
    platform_post_id: str | None,
    permalink: str | None,
    progress: dict[str, str],
) -> None:
    """The platform ids known so far, in one statement (no read: the claim owns the row)."""
    session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(
            container_id=container_id,
            platform_post_id=platform_post_id,
            permalink=permalink,
            publish_progress=progress,
        )
    )


def get_post(session: Session, post_id: uuid.UUID, *, lock: bool = False) -> Post | None:
    stmt = select(Post).where(Post.id == post_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def posts_of_run(session: Session, run_id: uuid.UUID) -> list[Post]:
    return list(session.scalars(select(Post).where(Post.run_id == run_id).order_by(Post.platform)))


def set_run_status(
    session: Session, run_id: uuid.UUID, status: RunStatus, reason: str | None = None
) -> None:
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(status=status, status_reason=reason, updated_at=datetime.now(UTC))
    )


def start_stage(session: Session, run_id: uuid.UUID, stage: str, subject: str = "run") -> None:
    """Open (or, on a retry or redelivery, reopen and count) the timeline entry for a stage."""
    session.execute(
        insert(StageEvent)
        .values(
            id=uuid.uuid4(),
            run_id=run_id,
            stage=stage,
            subject=subject,
            outcome=StageOutcome.RUNNING,
            attempts=1,
            started_at=datetime.now(UTC),
            detail={},
        )
        .on_conflict_do_update(
            index_elements=["run_id", "stage", "subject"],
            set_={
                "attempts": StageEvent.attempts + 1,
                "outcome": StageOutcome.RUNNING,
                "finished_at": None,
            },
        )
    )


def finish_stage(
    session: Session,
    run_id: uuid.UUID,
    stage: str,
    outcome: StageOutcome,
    detail: dict[str, Any] | None = None,
    subject: str = "run",
) -> None:
    """Close the entry; an upsert, so a stage whose start was rolled back still shows up."""
    now = datetime.now(UTC)
    values = {"outcome": outcome, "finished_at": now, "detail": detail or {}}
    session.execute(
        insert(StageEvent)
        .values(
            id=uuid.uuid4(), run_id=run_id, stage=stage, subject=subject, attempts=1,
            started_at=now, **values,
        )
        .on_conflict_do_update(index_elements=["run_id", "stage", "subject"], set_=values)
    )  # fmt: skip


def refresh_run_status_from_posts(session: Session, run_id: uuid.UUID) -> RunStatus:
    """Once publishing starts, a run's status is derived from its posts.

    The run row is locked first, so two posts settling at once derive it one after the other
    (each seeing the other's committed status) instead of both from a stale view.
    """
    get_run(session, run_id, lock=True)
    posts = posts_of_run(session, run_id)
    statuses = {post.status for post in posts}
    reconnect = [p for p in posts if p.status == PostStatus.NEEDS_RECONNECT]
    if statuses == {PostStatus.PUBLISHED}:
        status, reason = RunStatus.PUBLISHED, None
    elif reconnect:
        status, reason = (
            RunStatus.NEEDS_RECONNECT,
            "; ".join(p.status_reason or "" for p in reconnect),
        )
    elif PostStatus.UNKNOWN in statuses:
        status, reason = RunStatus.PUBLISHING, "a post's outcome is unknown and needs reconciling"
    elif PostStatus.FAILED in statuses and not statuses & {
        PostStatus.SCHEDULED,
        PostStatus.PUBLISHING,
        PostStatus.PENDING,
    }:
        status, reason = RunStatus.FAILED, "one or more posts failed to publish"
    elif PostStatus.PUBLISHING in statuses or PostStatus.PUBLISHED in statuses:
        status, reason = RunStatus.PUBLISHING, None
    else:
        status, reason = RunStatus.SCHEDULED, None
    set_run_status(session, run_id, status, reason)
    return status


def add_metric_snapshots(
    session: Session, post_id: uuid.UUID, published_at: datetime, offsets_s: list[int]
) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "post_id": post_id,
            "offset_s": offset,
            "due_at": published_at + timedelta(seconds=offset),
            "metrics": {},
        }
        for offset in offsets_s
    ]
    if rows:
        session.execute(insert(MetricSnapshot).values(rows).on_conflict_do_nothing())


def get_snapshot(session: Session, snapshot_id: uuid.UUID) -> MetricSnapshot | None:
    return session.get(MetricSnapshot, snapshot_id)


def start_attempt(
    session: Session,
    post: Post,
    kind: str,
    request: dict[str, Any],
    previous: PostAttempt | None,
) -> PostAttempt:
    """The next attempt after `previous`, the post's last one (`last_attempt`), if any."""
    number = previous.number + 1 if previous is not None else 1
    attempt = PostAttempt(post_id=post.id, number=number, kind=kind, request=request)
    session.add(attempt)
    return attempt


def last_attempt(session: Session, post_id: uuid.UUID) -> PostAttempt | None:
    return session.scalars(
        select(PostAttempt)
        .where(PostAttempt.post_id == post_id)
        .order_by(PostAttempt.number.desc())
        .limit(1)
    ).first()


def close_running_attempt(
    session: Session,
    post_id: uuid.UUID,
    outcome: str,
    error: str | None = None,
    error_class: str | None = None,
) -> None:
    attempt = last_attempt(session, post_id)
    if attempt is None or attempt.outcome != AttemptOutcome.RUNNING:
        return
    post = session.get(Post, post_id)
    attempt.outcome = outcome
    attempt.finished_at = datetime.now(UTC)
    attempt.error = error
    attempt.error_class = error_class
    if post is not None:
        attempt.container_id = post.container_id
        attempt.platform_post_id = post.platform_post_id


def count_attempts(session: Session, post_id: uuid.UUID, outcome: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                PostAttempt.post_id == post_id, PostAttempt.outcome == outcome
            )
        )
        or 0
    )


def insert_runs(
    session: Session, new_runs: Sequence[tuple[NewBrief, uuid.UUID]]
) -> list[AcceptedRun]:
    """Briefs with their runs (ids chosen by the caller), posts and outbox rows, in four
    statements however many there are: the sync twin of `ingest.accept_brief` for work
    that starts in a worker (a campaign's occurrences)."""
    if not new_runs:
        return []
    posts = {run_id: [uuid.uuid4() for _ in brief.platforms] for brief, run_id in new_runs}
    session.execute(insert(Brief), [_brief_row(brief) for brief, _ in new_runs])
    session.execute(
        insert(Run),
        [
            {"id": run_id, "brief_id": brief.id, "organization_id": brief.organization_id,
             "status": RunStatus.ACCEPTED.value, "copy_feedback": [], "regenerations": 0}
            for brief, run_id in new_runs
        ],
    )  # fmt: skip
    session.execute(
        insert(Post),
        [
            {"id": post_id, "run_id": run_id, "organization_id": brief.organization_id,
             "campaign_id": brief.campaign_id, "platform": platform,
             "status": PostStatus.PENDING.value, "hashtags": [], "copy_variants": [],
             "publish_attempts": 0, "reconcile_attempts": 0, "publish_progress": {}}
            for brief, run_id in new_runs
            for post_id, platform in zip(posts[run_id], brief.platforms, strict=True)
        ],
    )  # fmt: skip
    payloads = [run_event_payload(run_id, posts[run_id]) for _, run_id in new_runs]
    outbox_ids = session.scalars(
        insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
        [{"topic": RUN_SUBMITTED, "payload": p, "send_attempts": 0} for p in payloads],
    ).all()
    return [
        AcceptedRun(
            brief_id=brief.id, run_id=run_id, outbox_id=outbox_id, post_ids=posts[run_id],
            topic=RUN_SUBMITTED, payload=payload,
        )
        for (brief, run_id), outbox_id, payload in zip(new_runs, outbox_ids, payloads, strict=True)
    ]  # fmt: skip


def _brief_row(brief: NewBrief) -> dict[str, Any]:
    return {
        "id": brief.id, "organization_id": brief.organization_id,
        "campaign_id": brief.campaign_id, "brand_voice_id": brief.brand_voice_id,
        "variants": brief.variants, "template": brief.template, "quote": brief.quote,
        "attribution": brief.attribution, "photo_upload_id": brief.photo_upload_id,
        "photo_url": brief.photo_url, "topic": brief.topic, "key_points": brief.key_points,
        "brand_voice": brief.brand_voice, "audience": brief.audience,
        "brand_color": brief.brand_color, "platforms": brief.platforms,
        "publish_at": brief.publish_at, "best_time_zone": brief.best_time_zone,
        "idempotency_key": brief.idempotency_key,
        "request_hash": brief.request_hash,
    }  # fmt: skip
