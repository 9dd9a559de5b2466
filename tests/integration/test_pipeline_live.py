"""The pipeline through the live stack (API, in-process worker, sandboxes), off the happy path."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from briefcast.models import MetricSnapshot, OutboxMessage
from briefcast.models.session import worker_session
from tests.beat import beat_ticking
from tests.integration.live import posts_by_platform, submit, wait_for
from tests.live import Live

pytestmark = pytest.mark.integration


def _fault(base_url: str, **spec: Any) -> None:
    httpx.post(f"{base_url}/_sandbox/faults", json=spec).raise_for_status()


def test_negative_brief_waits_for_review_and_publishes_nothing(
    live: Live, client: httpx.Client
) -> None:
    run_id = submit(
        client,
        topic="We hate this awful, terrible, disgusting mess",
        key_points=["Everything is horrible and broken", "Worst launch ever, total failure"],
    )
    view = wait_for(client, run_id)
    assert view["status"] == "needs_review"
    assert "is below the brand's minimum" in view["status_reason"]
    assert view["copy"]["regenerations"] == 2  # rewritten twice with the reasons, then stopped
    assert all(post["scheduled_at"] is None for post in view["posts"])
    check = next(e for e in view["timeline"] if e["stage"] == "check")
    assert (check["outcome"], check["attempts"]) == ("halted", 3)
    assert live.sandbox_posts("instagram") == [] and live.sandbox_posts("linkedin") == []


def test_a_lost_relay_is_recovered_by_the_outbox_sweep(
    live: Live, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from briefcast.pipeline.outbox import service as outbox  # what the API's relay sends with

    def broker_down(*_: Any) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(outbox, "send", broker_down)
    run_id = submit(client)
    monkeypatch.undo()
    with worker_session() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert row.sent_at is None  # committed, never sent
    view = wait_for(client, run_id, timeout_s=60)
    assert view["status"] == "published"
    with worker_session() as session:
        assert session.scalars(select(OutboxMessage)).one().sent_at is not None


def test_a_transient_platform_error_is_retried_from_the_schedule(
    live: Live, client: httpx.Client
) -> None:
    _fault(
        live.linkedin_url,
        method="POST",
        path="^/rest/posts$",
        status=500,
        body={"message": "Internal Server Error", "status": 500},
    )
    run_id = submit(client)
    view = wait_for(client, run_id)
    assert view["status"] == "published"
    linkedin = posts_by_platform(view)["linkedin"]
    assert linkedin["publish_attempts"] == 2
    assert posts_by_platform(view)["instagram"]["publish_attempts"] == 1
    assert len(live.sandbox_posts("linkedin")) == 1


def test_a_permanent_platform_error_fails_the_post_with_its_message(
    live: Live, client: httpx.Client
) -> None:
    message = "Invalid parameter: the caption breaks a rule"
    _fault(
        live.instagram_url,
        method="POST",
        path="/media$",
        status=400,
        body={"error": {"message": message, "type": "OAuthException", "code": 100}},
    )
    run_id = submit(client)
    view = wait_for(client, run_id)
    assert view["status"] == "failed"
    instagram = posts_by_platform(view)["instagram"]
    assert instagram["status"] == "failed"
    assert message in instagram["status_reason"]
    assert posts_by_platform(view)["linkedin"]["status"] == "published"
    assert live.sandbox_posts("instagram") == []


def test_commit_then_drop_is_reconciled_into_exactly_one_post(
    live: Live, client: httpx.Client
) -> None:
    _fault(live.linkedin_url, method="POST", path="^/rest/posts$", commit_then_drop=True)
    view = wait_for(client, submit(client))
    assert view["status"] == "published"
    linkedin = posts_by_platform(view)["linkedin"]
    # The dropped answer left the outcome unknown; the reconciling attempt sent the same post,
    # LinkedIn named it a duplicate of the one it holds, and that URN was kept.
    assert [(a["kind"], a["outcome"]) for a in linkedin["attempts"]] == [
        ("publish", "ambiguous"),
        ("reconcile", "published"),
    ]
    held = live.sandbox_posts("linkedin")
    assert len(held) == 1  # the platform holds it once: never posted twice
    assert linkedin["platform_post_id"] == held[0]["id"]


def test_due_metric_snapshots_are_collected(live: Live, client: httpx.Client) -> None:
    view = wait_for(client, submit(client))
    assert view["status"] == "published"
    with beat_ticking():
        with worker_session() as session:
            # Publishing made the +1 h snapshot; pretend the hour has passed.
            snapshots = session.scalars(
                select(MetricSnapshot).where(MetricSnapshot.offset_s == 3600)
            ).all()
            assert len(snapshots) == 2
            for snapshot in snapshots:
                snapshot.due_at = datetime.now(UTC) - timedelta(seconds=1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with worker_session() as session:
                rows = session.scalars(
                    select(MetricSnapshot).where(MetricSnapshot.offset_s == 3600)
                ).all()
                if rows and all(r.collected_at for r in rows):
                    break
            time.sleep(0.2)
    by_post = {row.post_id: row.metrics for row in rows}
    posts = posts_by_platform(view)
    assert "reach" in by_post[uuid.UUID(posts["instagram"]["id"])]
    assert "likes" in by_post[uuid.UUID(posts["linkedin"]["id"])]
    assert all(row.collected_at is not None for row in rows)
