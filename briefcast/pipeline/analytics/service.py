"""Analytics stage: read a published post's metrics from its platform when a snapshot is due.

The platform read happens outside any transaction; the snapshot's lease keeps other workers
off it meanwhile. A failed read backs off and, after MAX_ATTEMPTS, closes the snapshot with
the reason, so nothing is retried forever.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from briefcast.models.repositories import analytics, claims
from briefcast.models.repositories import posts as posts_repo
from briefcast.models.session import SessionScope
from briefcast.pipeline.adapters.publisher import Publisher, PublishError
from briefcast.pipeline.analytics import measures
from briefcast.pipeline.backoff import backoff_s

MAX_ATTEMPTS = 5
RETRY_BASE_S = 60.0  # a failed read waits 2, 4, 8, … minutes


def claim_due_snapshots(session: Session, lease_s: int = 120) -> list[uuid.UUID]:
    return claims.claim_due_snapshots(session, lease_s=lease_s)


def collect_snapshot(
    session_scope: SessionScope,
    snapshot_id: uuid.UUID,
    publisher_for: Callable[[str], Publisher],
) -> dict[str, int] | None:
    """Fetch and store one snapshot; a closed snapshot is left as it is."""
    with session_scope() as session:
        snapshot = posts_repo.get_snapshot(session, snapshot_id)
        if snapshot is None or snapshot.collected_at is not None:
            return None
        post = posts_repo.get(session, snapshot.post_id)
        if post is None or post.platform_post_id is None:
            return None
        platform, platform_post_id = post.platform, post.platform_post_id
    try:
        metrics = publisher_for(platform).fetch_metrics(platform_post_id)
    except PublishError as exc:
        _record_failure(session_scope, snapshot_id, f"{platform} said: {exc.message}")
        return None
    with session_scope() as session:
        snapshot = posts_repo.get_snapshot(session, snapshot_id)
        assert snapshot is not None
        snapshot.metrics = dict(metrics.values)
        snapshot.collected_at = datetime.now(UTC)
        snapshot.lease_expires_at = None
        snapshot.error = None
        # The post keeps its latest reading for the grouped reads, in the same transaction.
        analytics.record_latest_reading(
            session,
            snapshot.post_id,
            offset_s=snapshot.offset_s,
            metrics=snapshot.metrics,
            engagement_rate=measures.engagement_rate(
                platform, measures.normalise(platform, snapshot.metrics)
            ),
            read_at=snapshot.collected_at,
        )
        return snapshot.metrics


def _record_failure(session_scope: SessionScope, snapshot_id: uuid.UUID, reason: str) -> None:
    with session_scope() as session:
        snapshot = posts_repo.get_snapshot(session, snapshot_id)
        assert snapshot is not None
        snapshot.attempts += 1
        snapshot.error = reason
        now = datetime.now(UTC)
        if snapshot.attempts >= MAX_ATTEMPTS:
            snapshot.collected_at = now  # closed, with the reason kept in `error`
        else:  # the lease doubles as the backoff: it is claimable again when it lapses
            delay_s = backoff_s(snapshot.attempts, base_s=RETRY_BASE_S)
            snapshot.lease_expires_at = now + timedelta(seconds=delay_s)
