"""What the live-stack tests share: submitting a brief, waiting for its run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.beat import beat_ticking
from tests.integration.helpers import brief

SETTLED = frozenset({"published", "failed", "needs_review", "rejected", "budget_exhausted"})


def submit(client: httpx.Client, **overrides: Any) -> str:
    response = client.post("/api/v1/briefs", json=brief(**overrides))
    assert response.status_code == 202, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def wait_for(
    client: httpx.Client,
    run_id: str,
    until: Callable[[Any], bool] = lambda view: view["status"] in SETTLED,
    timeout_s: float = 45,
) -> Any:
    """Poll the run with beat ticking until `until(view)`; fail loudly on timeout."""
    deadline = time.monotonic() + timeout_s
    with beat_ticking():
        while True:
            view = client.get(f"/api/v1/runs/{run_id}").json()
            if until(view):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} did not get there in {timeout_s}s: {view}")
            time.sleep(0.2)


def posts_by_platform(view: Any) -> dict[str, Any]:
    return {post["platform"]: post for post in view["posts"]}
