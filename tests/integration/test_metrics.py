"""GET /metrics after a brief runs to published: request, task and domain metrics count it.

Every count is a difference between two scrapes around the run, compared with what the test
itself did (its requests) or what PostgreSQL holds for the run (posts, images, model usage).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from briefcast.models import ModelUsage
from briefcast.models.session import worker_session
from briefcast.pipeline.broker import is_amqp
from briefcast.pipeline.celery_app import app as celery_app
from tests.integration.live import submit, wait_for
from tests.live import Live

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
# The stages of a two-platform run: task name → executions that succeed.
PIPELINE_TASKS = {
    "pipeline.runs.start": 1,
    "pipeline.copy.generate": 1,
    "pipeline.check.copy": 1,
    "pipeline.render.image": 2,
    "pipeline.schedule.run": 1,
    "pipeline.publish.post": 2,
}


def scrape(live: Live) -> Samples:
    response = httpx.get(f"{live.api_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def quiesce(timeout_s: float = 30) -> None:
    """Wait until the session's worker runs nothing (earlier tests' tasks would count too)."""
    inspect = celery_app.control.inspect(timeout=1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = [inspect.active(), inspect.reserved(), inspect.scheduled()]
        if all(not any(tasks for tasks in (replies or {}).values()) for replies in busy):
            return
        time.sleep(0.3)
    raise AssertionError("the worker did not go idle")


def settle(live: Live, done: Callable[[Samples], bool], timeout_s: float = 15) -> Samples:
    """Scrape until `done` (a task's postrun signal comes just after its last commit)."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scrape(live)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def test_a_published_run_shows_in_every_kind_of_metric(live: Live, client: httpx.Client) -> None:
    quiesce()
    requests: Counter[tuple[str, str, str]] = Counter()

    def count(response: httpx.Response) -> None:
        path = response.request.url.path
        route = "/api/v1/runs/{run_id}" if path.startswith("/api/v1/runs/") else path
        requests[(response.request.method, route, str(response.status_code))] += 1

    client.event_hooks["response"].append(count)
    before = scrape(live)

    run_id = submit(client)
    view = wait_for(client, run_id)
    assert view["status"] == "published"

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    def publishes(samples: Samples) -> float:
        return total(
            samples, "briefcast_tasks_total", task="pipeline.publish.post", outcome="success"
        )

    after = settle(live, lambda samples: publishes(samples) - publishes(before) >= 2)

    # Requests: exactly the ones made, by route template and status (never the raw path).
    assert requests[("POST", "/api/v1/briefs", "202")] == 1
    for (method, route, status), n in requests.items():
        labels = {"method": method, "route": route, "status": status}
        assert delta("briefcast_http_requests_total", **labels) == n, labels
        assert delta("briefcast_http_request_duration_seconds_count", **labels) == n, labels
    assert not any(
        name == "briefcast_http_requests_total" and run_id in dict(labels)["route"]
        for name, labels in after
    )

    # Tasks: every stage of this run succeeded once per subject, waited in a queue, ran.
    for task, n in PIPELINE_TASKS.items():
        assert delta("briefcast_tasks_total", task=task, outcome="success") == n, task
        assert delta("briefcast_tasks_total", task=task, outcome="failure") == 0, task
        assert delta("briefcast_task_runtime_seconds_count", task=task) == n, task
        assert delta("briefcast_task_queue_wait_seconds_count", task=task) == n, task
    # The beat-driven housekeeping shows too (the test's beat stand-in sent it).
    for task in ("pipeline.publish.dispatch_due", "pipeline.outbox.sweep"):
        assert delta("briefcast_tasks_total", task=task, outcome="success") >= 1, task

    # Publishing: one published post per platform, each started after it was due.
    for platform in ("instagram", "linkedin"):
        assert delta("briefcast_publish_outcomes_total", platform=platform) == 1
        assert (
            delta("briefcast_publish_outcomes_total", platform=platform, outcome="published") == 1
        )
        assert delta("briefcast_publish_attempts_total", platform=platform, kind="publish") == 1
        assert delta("briefcast_dispatch_lag_seconds_count", platform=platform) == 1
    assert delta("briefcast_gate_decisions_total", decision="pass") == 1
    assert delta("briefcast_gate_decisions_total") == 1
    assert delta("briefcast_render_seconds_count") == len(view["posts"]) == 2

    # Copy: tokens and cost as recorded for the run in PostgreSQL.
    with worker_session() as session:
        calls, prompt, completion, cost = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(ModelUsage.prompt_tokens), 0),
                func.coalesce(func.sum(ModelUsage.completion_tokens), 0),
                func.coalesce(func.sum(ModelUsage.cost_usd), Decimal(0)),
            ).where(ModelUsage.run_id == uuid.UUID(run_id))
        ).one()
    assert calls >= 1 and prompt > 0
    assert delta("briefcast_model_calls_total") == calls
    assert delta("briefcast_model_tokens_total", kind="prompt") == prompt
    assert delta("briefcast_model_tokens_total", kind="completion") == completion
    # PostgreSQL keeps six decimals of each call's cost; the counter adds them unrounded.
    assert cost > 0
    assert delta("briefcast_model_cost_usd_total") == pytest.approx(float(cost), abs=calls * 1e-6)

    # Read at scrape time: this test's tables hold one published run with its two posts.
    assert total(after, "briefcast_runs", status="published") == 1
    assert total(after, "briefcast_posts", status="published") == 2
    assert total(after, "briefcast_posts", platform="linkedin", status="published") == 1
    assert total(after, "briefcast_queue_workers", queue="content") >= 1
    assert total(after, "briefcast_queue_depth", queue="content") >= 0
    # Every priority step's list on the Redis transport; one count per queue on RabbitMQ.
    step = "all" if is_amqp(celery_app.conf.broker_url) else "9"
    assert ("briefcast_queue_depth", frozenset({("queue", "images"), ("priority", step)})) in after
    for source in ("postgresql", "broker", "workers"):
        assert total(after, "briefcast_metrics_source_up", source=source) == 1, source


def test_metrics_is_not_in_the_openapi_schema(live: Live) -> None:
    schema = httpx.get(f"{live.api_url}/openapi.json").json()
    assert "/metrics" not in schema["paths"]
    assert "/api/v1/briefs" in schema["paths"]


def test_an_unknown_path_is_counted_as_unmatched(live: Live) -> None:
    path = f"/no-such-page-{uuid.uuid4()}"
    before = scrape(live)
    assert httpx.get(f"{live.api_url}{path}").status_code == 404
    after = scrape(live)
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (
        total(after, "briefcast_http_requests_total", **labels)
        - total(before, "briefcast_http_requests_total", **labels)
        == 1
    )
    assert not any(path in dict(labels).get("route", "") for _, labels in after)
