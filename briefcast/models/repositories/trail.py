"""The ids a run's log lines carry (its request id, run id, campaign id), read by workers.

Tasks sent long after the run started (publish, analytics) find them here, from their post
or metric snapshot, in one query for a whole batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from briefcast.models.posts import MetricSnapshot, Post
from briefcast.models.runs import Brief, Run

_TRAIL = (Run.request_id, Run.id.label("run_id"), Brief.campaign_id)


def _as_trail(row: Any) -> dict[str, str]:
    ids = {"request_id": row.request_id, "run_id": row.run_id, "campaign_id": row.campaign_id}
    return {key: str(value) for key, value in ids.items() if value is not None}


def of_run(session: Session, run_id: uuid.UUID) -> dict[str, str]:
    row = session.execute(
        select(*_TRAIL).join(Brief, Brief.id == Run.brief_id).where(Run.id == run_id)
    ).first()
    return {"run_id": str(run_id)} if row is None else _as_trail(row)


def of_posts(session: Session, post_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, str]]:
    if not post_ids:
        return {}
    rows = session.execute(
        select(Post.id.label("post_id"), *_TRAIL)
        .join(Run, Run.id == Post.run_id)
        .join(Brief, Brief.id == Run.brief_id)
        .where(Post.id.in_(post_ids))
    )
    return {row.post_id: _as_trail(row) for row in rows}


def of_snapshots(
    session: Session, snapshot_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    if not snapshot_ids:
        return {}
    rows = session.execute(
        select(MetricSnapshot.id.label("snapshot_id"), *_TRAIL)
        .join(Post, Post.id == MetricSnapshot.post_id)
        .join(Run, Run.id == Post.run_id)
        .join(Brief, Brief.id == Run.brief_id)
        .where(MetricSnapshot.id.in_(snapshot_ids))
    )
    return {row.snapshot_id: _as_trail(row) for row in rows}
