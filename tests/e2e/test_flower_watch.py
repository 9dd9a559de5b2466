"""Flower shows the tasks of runs, each findable by its run id, and none of beat's housekeeping.

The whole stack runs with Flower on its own embedded PostgreSQL and Redis (`isolated`). It
idles while beat ticks (the dispatcher every second, the outbox sweep, the collector), then
one brief goes through; Flower's API (`GET /api/tasks`, its `search` parameter) must list
exactly that run's tasks. Flower turns task events on itself (see `celery_app.py`).
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from briefcast.chaos.runner import api_token
from briefcast.client import ApiClient
from briefcast.models.session import sync_url
from briefcast.pipeline.celery_app import BEAT_INTERVALS_S
from briefcast.stack import Ports, Stack, clear_leftovers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# In the repository's data folder, not pytest's: the embedded PostgreSQL runs as its own
# system user when the tests run as root, and must be able to reach its data folder.
DATA_DIR = Path(__file__).resolve().parents[2] / ".data" / "flower-watch-test"

HOUSEKEEPING = set(BEAT_INTERVALS_S)
# Long enough for dozens of dispatcher ticks and several sweeps and collections.
IDLE_S = 20
BRIEF = {
    "topic": "Watching one run in Flower",
    "key_points": ["Every task of the run carries its id", "Housekeeping stays out of sight"],
    "brand_voice": "calm and precise",
    "audience": "operators",
    "platforms": ["instagram", "linkedin"],
}
RUN_TASKS = Counter(
    {
        "pipeline.runs.start": 1,
        "pipeline.copy.generate": 1,
        "pipeline.check.copy": 1,
        "pipeline.render.image": 2,
        "pipeline.schedule.run": 1,
        "pipeline.publish.post": 2,
    }
)


def _tasks(flower: httpx.Client, **params: str) -> dict[str, dict[str, Any]]:
    response = flower.get("/api/tasks", params=params)
    response.raise_for_status()
    tasks: dict[str, dict[str, Any]] = response.json()
    return tasks


def _wait_for_run(api: ApiClient, stack: Stack, run_id: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        stack.check_alive()
        view = api.run(run_id)
        if view["status"] in {"published", "failed", "needs_review"}:
            return view
        assert time.monotonic() < deadline, f"run {run_id} still {view['status']}"
        time.sleep(0.5)


@pytest.mark.timeout(300)
def test_flower_lists_a_runs_tasks_by_its_id_and_no_housekeeping() -> None:
    clear_leftovers(DATA_DIR)
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    stack = Stack(
        data_dir=DATA_DIR,
        ports=Ports.free(),
        with_flower=True,
        isolated=True,
        # Flower 2 serves its API without authentication only when told to.
        extra_env={"FLOWER_UNAUTHENTICATED_API": "true", "API_WORKERS": "1"},
        io_workers=1,
    )
    opened = ExitStack()  # what the test opens on the stack, closed before it stops
    try:
        stack.start(say=lambda line: print(f"[stack] {line}"))
        flower = opened.enter_context(
            httpx.Client(base_url=f"http://127.0.0.1:{stack.ports.flower}", timeout=10)
        )
        deadline = time.monotonic() + 60
        while True:
            stack.check_alive()
            try:
                if flower.get("/healthcheck").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Flower did not come up"
            time.sleep(0.5)

        time.sleep(IDLE_S)
        stack.check_alive()
        idle = _tasks(flower)
        assert not {task["name"] for task in idle.values()} & HOUSEKEEPING

        engine = create_engine(sync_url(stack.env["DATABASE_URL"]))
        opened.callback(engine.dispose)
        api = opened.enter_context(ApiClient(stack.api_url, api_token(engine, "flower")))
        run_id = api.submit(BRIEF)["run_id"]
        view = _wait_for_run(api, stack, run_id, timeout_s=120)
        assert view["status"] == "published", view

        # Events reach Flower a moment after each task; wait until the last ones are in.
        deadline = time.monotonic() + 30
        while True:
            found = _tasks(flower, search=run_id)
            names = Counter(task["name"] for task in found.values())
            if names == RUN_TASKS and all(t["state"] == "SUCCESS" for t in found.values()):
                break
            assert time.monotonic() < deadline, f"Flower found {dict(names)} for the run"
            time.sleep(0.5)

        # Those that take a post's id name their run as a keyword argument as well.
        by_kwarg = Counter(
            t["name"] for t in _tasks(flower, search=f"kwargs:run_id={run_id}").values()
        )
        assert by_kwarg["pipeline.render.image"] == by_kwarg["pipeline.publish.post"] == 2
        # Everything Flower saw is the run's: beat's ticks (which dispatched the posts
        # while Flower was listening) sent no events.
        everything = _tasks(flower)
        assert set(everything) == set(found)
        log = stack.log_path("worker-io").read_text(errors="replace").splitlines()
        ticks = [line for line in log if "dispatch_due[" in line and "succeeded" in line]
        assert len(ticks) >= IDLE_S // 2
    finally:
        opened.close()
        stack.stop()
