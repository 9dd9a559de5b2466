"""One run, one trail: the request id of the submitting request is on the API's line about
it and on every line of every worker stage of the run, with the run id and each task's id.

The live stack (API, in-process worker) runs in this process and logs JSON lines here, so
what is asserted is what it prints (captured at the file descriptor).
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from briefcast.logs import configure_logging, format_handlers
from briefcast.models import Run
from briefcast.models.session import worker_session
from briefcast.settings import get_settings
from tests.integration.helpers import brief
from tests.integration.live import wait_for
from tests.live import Live

pytestmark = pytest.mark.integration

# Every stage of a run that publishes, by task name (render and publish once per platform).
STAGE_TASKS = {
    "pipeline.runs.start": 1,
    "pipeline.copy.generate": 1,
    "pipeline.check.copy": 1,
    "pipeline.render.image": 2,
    "pipeline.schedule.run": 1,
    "pipeline.publish.post": 2,
}
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_logs(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every process part here logs JSON; returns what was printed so far, parsed."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    get_settings.cache_clear()
    configure_logging()
    # The test API runs at uvicorn's WARNING level: its access lines (INFO) are wanted here,
    # rendered as the product renders them (a handler of this test's, formatted by it).
    access = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(access, "level", logging.INFO)
    access_lines = io.StringIO()
    handler = logging.StreamHandler(access_lines)
    access.addHandler(handler)
    format_handlers(access)
    lines: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        printed = capfd.readouterr().out + access_lines.getvalue()
        access_lines.seek(0)
        access_lines.truncate()
        for text in printed.splitlines():
            try:
                line = json.loads(text)
            except ValueError:
                continue  # not every writer to stdout is a logger
            if isinstance(line, dict):
                lines.append(line)
        return lines

    yield read
    access.removeHandler(handler)
    monkeypatch.undo()
    get_settings.cache_clear()
    configure_logging()


def _finished(lines: list[dict[str, Any]], run_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        if line.get("event") == "task.finished" and line.get("run_id") == run_id:
            counts[line["task_name"]] = counts.get(line["task_name"], 0) + 1
    return counts


def test_every_line_of_a_run_carries_its_request_id(
    live: Live, client: httpx.Client, json_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    request_id = f"trail-{uuid.uuid4()}"
    response = client.post("/api/v1/briefs", json=brief(), headers={"X-Request-ID": request_id})
    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == request_id
    run_id = response.json()["run_id"]
    assert wait_for(client, run_id)["status"] == "published"

    deadline = time.monotonic() + 10  # the last task's line follows its commit
    while _finished(json_logs(), run_id) != STAGE_TASKS and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = json_logs()
    assert _finished(lines, run_id) == STAGE_TASKS

    # The API's line about the request (the server's access line): its id and the run's.
    (access,) = [line for line in lines if "POST /api/v1/briefs" in line.get("event", "")]
    assert access["logger"] == "uvicorn.access" and access["event"].endswith(" 202")
    assert (access["request_id"], access["run_id"]) == (request_id, run_id)
    # Each stage's lines: this request id, this run, a task id and name of their own.
    of_run = [line for line in lines if line.get("run_id") == run_id]
    assert all(line.get("request_id") == request_id for line in of_run), of_run
    task_lines = [line for line in of_run if "task_name" in line]
    assert {line["task_name"] for line in task_lines} == set(STAGE_TASKS)
    assert all(line.get("task_id") for line in task_lines)
    assert len({line["task_id"] for line in task_lines}) == sum(STAGE_TASKS.values())
    # Lines of tasks that belong to no run (beat's ticks) carry no run's ids.
    ticks = [line for line in lines if line.get("task_name") == "pipeline.publish.dispatch_due"]
    assert all("request_id" not in line and "run_id" not in line for line in ticks)


def test_a_request_without_an_id_gets_one_and_the_run_keeps_it(
    live: Live, client: httpx.Client
) -> None:
    response = client.post("/api/v1/briefs", json=brief())
    assert response.status_code == 202
    request_id = response.headers["X-Request-ID"]
    assert GENERATED.fullmatch(request_id)
    with worker_session() as session:
        stored = session.scalar(select(Run.request_id).where(Run.id == response.json()["run_id"]))
    assert stored == request_id
    again = client.get("/health")
    assert GENERATED.fullmatch(again.headers["X-Request-ID"])
    assert again.headers["X-Request-ID"] != request_id


@pytest.mark.parametrize(
    "hostile",
    ["x" * 129, "two words", 'quote"d', "semi;colon", '{"json":1}', b"caf\xc3\xa9"],
)
def test_an_unsafe_incoming_id_is_replaced(live: Live, hostile: str | bytes) -> None:
    raw = hostile.encode() if isinstance(hostile, str) else hostile  # the same bytes on the wire
    with httpx.Client(base_url=live.api_url) as http:
        response = http.get("/health", headers={b"X-Request-ID": raw})
    assert response.headers["X-Request-ID"] != hostile
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


def test_a_sane_incoming_id_is_kept_on_any_answer(live: Live) -> None:
    kept = "lb-1a2b:3c4d/5e6f_7.8=9+@" + "x" * 103  # 128 characters, every allowed kind
    with httpx.Client(base_url=live.api_url) as http:
        answers = [
            http.get("/health", headers={"X-Request-ID": kept}),
            http.get(f"/api/v1/runs/{uuid.uuid4()}", headers={"X-Request-ID": kept}),  # 401
        ]
    assert [a.headers["X-Request-ID"] for a in answers] == [kept, kept]
    assert answers[1].status_code == 401
