"""A brief posted to the API reaches `published` on both platforms through the real stack."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.beat import beat_ticking
from tests.live import Live

pytestmark = pytest.mark.e2e

BRIEF = {
    "topic": "Our autumn sneaker drop is here",
    "key_points": ["Made from recycled ocean plastic", "Free returns for 60 days"],
    "brand_voice": "playful and confident",
    "audience": "urban runners",
    "brand_color": "#2E7D32",
    "platforms": ["instagram", "linkedin"],
}


def _wait_for(client: httpx.Client, run_id: str, statuses: set[str], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        view = client.get(f"/api/v1/runs/{run_id}").json()
        if view["status"] in statuses:
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {view['status']} after {timeout_s}s")
        time.sleep(0.2)


def test_brief_is_published_once_on_each_platform(live: Live, client: httpx.Client) -> None:
    with beat_ticking():
        accepted = client.post("/api/v1/briefs", json=BRIEF, headers={"Idempotency-Key": "e2e-1"})
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["run_id"]
        view = _wait_for(client, run_id, {"published", "failed", "needs_review"})

    assert view["status"] == "published", view
    posts = {post["platform"]: post for post in view["posts"]}
    assert set(posts) == {"instagram", "linkedin"}
    for post in posts.values():
        assert post["status"] == "published"
        # Copy came through the production OpenAI adapter, from the OpenAI sandbox.
        assert post["copy_source"] == "openai:gpt-4o-mini-2024-07-18"
        assert post["caption"].startswith(BRIEF["topic"])
        assert post["platform_post_id"]
        assert post["image_url"].startswith(live.api_url + "/media/")
    assert posts["linkedin"]["platform_post_id"].startswith("urn:li:share:")
    stages = {(e["stage"], e["subject"]): e["outcome"] for e in view["timeline"]}
    assert stages[("copy", "run")] == "succeeded"
    copy_stage = next(e for e in view["timeline"] if e["stage"] == "copy")
    assert copy_stage["detail"]["usage"]["completion_tokens"] > 0
    assert stages[("render", "instagram")] == "succeeded"
    assert stages[("publish", "linkedin")] == "succeeded"

    ig_posts = live.sandbox_posts("instagram")
    li_posts = live.sandbox_posts("linkedin")
    assert len(ig_posts) == 1 and len(li_posts) == 1
    assert ig_posts[0]["id"] == posts["instagram"]["platform_post_id"]

    # The same brief with the same Idempotency-Key returns the first run, not a new one.
    again = client.post("/api/v1/briefs", json=BRIEF, headers={"Idempotency-Key": "e2e-1"})
    assert again.status_code == 202
    assert again.json()["run_id"] == run_id
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(live.sandbox_posts("instagram")) == 1
