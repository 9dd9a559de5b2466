"""Analytics stage: read a published post's metrics from its platform when a snapshot is due."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from briefcast.models.repositories import claims
from briefcast.models.repositories import pipeline as repo
from briefcast.pipeline.adapters.publisher import Publisher


def claim_due_snapshots(session: Session, lease_s: int = 120) -> list[uuid.UUID]:
    return claims.claim_due_snapshots(session, lease_s=lease_s)


def collect_snapshot(
    session: Session, snapshot_id: uuid.UUID, publisher_for: Callable[[str], Publisher]
) -> dict[str, int] | None:
    """Fetch and store one snapshot; a collected snapshot is left as it is."""
    snapshot = repo.get_snapshot(session, snapshot_id)
    if snapshot is None or snapshot.collected_at is not None:
        return None
    post = repo.get_post(session, snapshot.post_id)
    if post is None or post.platform_post_id is None:
        return None
    metrics = publisher_for(post.platform).fetch_metrics(post.platform_post_id)
    snapshot.metrics = dict(metrics.values)
    snapshot.collected_at = datetime.now(UTC)
    snapshot.lease_expires_at = None
    return snapshot.metrics
