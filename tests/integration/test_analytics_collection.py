"""Snapshots collected through the live stack equal the sandboxes' own numbers at each age,
and their deltas and engagement rates are right."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from briefcast.models import MetricSnapshot
from briefcast.models.session import worker_session
from briefcast.pipeline import tasks
from briefcast.pipeline.adapters.instagram import METRICS as INSTAGRAM_METRICS
from briefcast.pipeline.adapters.linkedin import SHARE_STATS
from briefcast.pipeline.analytics import measures
from briefcast.sandbox.instagram_rules import insight_values
from briefcast.sandbox.linkedin_rules import share_statistics
from briefcast.settings import get_settings
from tests.integration.live import posts_by_platform, submit, wait_for
from tests.live import Live

pytestmark = pytest.mark.integration


def _published_at(live: Live, platform: str, platform_post_id: str) -> float:
    """When the sandbox published the post, on its own clock (epoch seconds)."""
    held = {str(p["id"]): p for p in live.sandbox_posts(platform)}[platform_post_id]
    if platform == "instagram":
        return float(str(held["published_at"]))
    return int(str(held["createdAt"])) / 1000


def _sandbox_says(
    platform: str, platform_post_id: str, published: float, now: float
) -> dict[str, Any]:
    """What the sandbox's own functions give at `now`, under the names a snapshot stores."""
    if platform == "instagram":
        values = insight_values(platform_post_id, published, now)
        return {name: values[name] for name in INSTAGRAM_METRICS}
    stats = share_statistics(platform_post_id, published, now)
    return {ours: stats[theirs] for ours, theirs in SHARE_STATS} | {
        "engagement": stats["engagement"]
    }


def test_snapshots_deltas_and_rates_match_the_sandbox(live: Live, client: httpx.Client) -> None:
    view = wait_for(client, submit(client))
    assert view["status"] == "published"
    posts = posts_by_platform(view)
    assert set(posts) == {"instagram", "linkedin"}
    base_url = {"instagram": live.instagram_url, "linkedin": live.linkedin_url}
    published = {
        platform: _published_at(live, platform, post["platform_post_id"])
        for platform, post in posts.items()
    }
    with worker_session() as session:
        due = session.execute(
            select(MetricSnapshot.offset_s, MetricSnapshot.id).order_by(MetricSnapshot.offset_s)
        ).all()
    offsets = sorted({offset for offset, _ in due})
    assert offsets == get_settings().metric_offsets_s == [900, 3600, 21600, 86400, 259200, 604800]

    expected: dict[str, list[dict[str, Any]]] = {platform: [] for platform in posts}
    try:
        for offset in offsets:
            # Each sandbox's clock stands exactly `offset` after its post was published.
            for platform, post in posts.items():
                now = published[platform] + offset
                httpx.post(
                    f"{base_url[platform]}/_sandbox/clock", json={"set": now}
                ).raise_for_status()
                expected[platform].append(
                    _sandbox_says(platform, post["platform_post_id"], published[platform], now)
                )
            for snapshot_offset, snapshot_id in due:
                if snapshot_offset == offset:
                    tasks.collect_metrics(str(snapshot_id))  # the collector's own task body
    finally:
        live.reset_sandboxes()  # back to the wall clock for whoever comes next

    for platform, post in posts.items():
        with worker_session() as session:
            rows = session.scalars(
                select(MetricSnapshot)
                .where(MetricSnapshot.post_id == uuid.UUID(post["id"]))
                .order_by(MetricSnapshot.offset_s)
            ).all()
            stored = [(row.offset_s, row.collected_at, row.error, row.metrics) for row in rows]
        assert [offset for offset, *_ in stored] == offsets
        assert all(at is not None and error is None for _, at, error, _ in stored)
        sandbox = expected[platform]
        assert [metrics for *_, metrics in stored] == [
            {k: v for k, v in values.items() if k != "engagement"} for values in sandbox
        ]

        series = [measures.normalise(platform, metrics) for *_, metrics in stored]
        assert set(series[-1]) == set(measures.METRICS[platform])  # every metric is collected
        gains = measures.deltas(series)
        for i, gain in enumerate(gains):
            for ours, theirs in measures.METRICS[platform].items():
                before = sandbox[i - 1][theirs] if i else 0
                assert gain[ours] == sandbox[i][theirs] - before >= 0
        assert sum(gains[-2].values()) < sum(gains[1].values())  # fast early, then saturating

        for values, metrics in zip(sandbox, series, strict=True):
            rate = measures.engagement_rate(platform, metrics)
            if platform == "instagram":  # interactions / reach, by hand from the sandbox
                actions = values["likes"] + values["comments"] + values["saved"] + values["shares"]
                audience = values["reach"]
            else:  # (clicks + reactions + comments + reposts) / impressions
                actions = values["clicks"] + values["likes"] + values["comments"] + values["shares"]
                audience = values["impressions"]
                assert round(rate or 0.0, 4) == values["engagement"]  # LinkedIn's own figure
            assert rate == (actions / audience if audience else None)
        assert measures.engagement_rate(platform, series[-1]) is not None
