"""Every Prometheus metric Briefcast exports: one home for the metric objects and their names.

Counters and histograms are updated where things happen (the API's requests, Celery's task
signals, the pipeline's services, one line per site). Under `PROMETHEUS_MULTIPROC_DIR` each
process writes its values to files there and `GET /metrics` serves the sum over every process
of the host (prometheus_client's multiprocess mode, see `exposition.py`); without it, the
process's default registry holds them.

What is a state rather than an event (queue depths, workers up, runs and posts by status) is
read at scrape time instead (`scrape.py`), from the system that holds the truth: Redis, the
workers themselves, PostgreSQL. Such gauges are declared here as `SCRAPE_GAUGES` so that the
dashboards and alerts can be checked against one list of names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

if TYPE_CHECKING:
    from briefcast.models.posts import Post
    from briefcast.models.usage import ModelUsage

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):
    # The files are opened when the metrics below are created: the directory must exist.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

# --- the API ---------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "briefcast_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "briefcast_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and status.",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# --- Celery tasks (every task, the beat-driven housekeeping ones included) -------------------

TASKS = Counter(
    "briefcast_tasks",
    "Task executions that ended, by task name and outcome (success, failure, retry, ...).",
    ["task", "outcome"],
)
TASK_RUNTIME_SECONDS = Histogram(
    "briefcast_task_runtime_seconds",
    "Time a task's body ran, by task name.",
    ["task"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
TASK_QUEUE_WAIT_SECONDS = Histogram(
    "briefcast_task_queue_wait_seconds",
    "Time from a task being sent (or its ETA, when later) to a worker starting it.",
    ["task"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
)
TASK_RETRIES = Counter(
    "briefcast_task_retries", "Retries a task asked for, by task name.", ["task"]
)
TASK_FAILURES = Counter(
    "briefcast_task_failures",
    "Tasks that raised, by task name and exception class.",
    ["task", "exception"],
)

# --- the pipeline ----------------------------------------------------------------------------

GATE_DECISIONS = Counter(
    "briefcast_gate_decisions",
    "The copy gate's decisions: pass, regenerate, needs_review.",
    ["decision"],
)
MODEL_CALLS = Counter(
    "briefcast_model_calls",
    "Model calls recorded for copy, by model and whether the copy cache answered.",
    ["model", "cached"],
)
MODEL_TOKENS = Counter(
    "briefcast_model_tokens", "Model tokens used for copy, by model and kind.", ["model", "kind"]
)
MODEL_COST_USD = Counter(
    "briefcast_model_cost_usd", "Estimated cost of model calls for copy (USD).", ["model"]
)
RENDER_SECONDS = Histogram(
    "briefcast_render_seconds",
    "Time to render one post's image, by template and format.",
    ["template", "format"],
    buckets=(0.01, 0.025, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# --- publishing ------------------------------------------------------------------------------

PUBLISH_ATTEMPTS = Counter(
    "briefcast_publish_attempts",
    "Publish attempts begun, by platform and kind (publish, or reconcile after an "
    "ambiguous or lapsed attempt).",
    ["platform", "kind"],
)
PUBLISH_OUTCOMES = Counter(
    "briefcast_publish_outcomes",
    "How publish attempts settled, by platform: published, held, transient, ambiguous, "
    "stale, needs_reconnect, failed.",
    ["platform", "outcome"],
)
PUBLISH_DUPLICATES_PREVENTED = Counter(
    "briefcast_publish_duplicates_prevented",
    "Attempts that found the post already on the platform and did not send it again.",
    ["platform", "how"],
)
PUBLISH_STALE_MESSAGES = Counter(
    "briefcast_publish_stale_messages",
    "Publish task messages dropped because their claim was no longer the post's own "
    "(a redelivery or a duplicate send).",
)
DISPATCH_LAG_SECONDS = Histogram(
    "briefcast_dispatch_lag_seconds",
    "Time from a post being due to its publish attempt starting, by platform.",
    ["platform"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
)


# --- read at scrape time (see scrape.py) -----------------------------------------------------


@dataclass(frozen=True)
class ScrapeGauge:
    name: str
    documentation: str
    labels: tuple[str, ...]


QUEUE_DEPTH = ScrapeGauge(
    "briefcast_queue_depth",
    "Messages waiting in a Celery queue, by queue and priority step (`all` on RabbitMQ).",
    ("queue", "priority"),
)
QUEUE_WORKERS = ScrapeGauge(
    "briefcast_queue_workers", "Celery workers that answered and consume the queue.", ("queue",)
)
WORKER_UP = ScrapeGauge(
    "briefcast_worker_up", "1 for each Celery worker that answered the last check.", ("worker",)
)
RUNS = ScrapeGauge("briefcast_runs", "Runs in PostgreSQL by status.", ("status",))
POSTS = ScrapeGauge(
    "briefcast_posts", "Posts in PostgreSQL by platform and status.", ("platform", "status")
)
SOURCE_UP = ScrapeGauge(
    "briefcast_metrics_source_up",
    "1 when the scrape could read the source (postgresql, broker, workers), else 0.",
    ("source",),
)
SCRAPE_GAUGES = (QUEUE_DEPTH, QUEUE_WORKERS, WORKER_UP, RUNS, POSTS, SOURCE_UP)


# --- helpers for the one-line instrumentation sites ------------------------------------------

# Publish outcomes that leave the post in one of these statuses are named by the status: a
# transient error after the last try is a failure, whatever the attempt's own outcome was.
_FINAL_STATUSES = frozenset({"failed", "needs_reconnect"})


def record_publish_outcome(platform: str, attempt_outcome: str, post_status: str) -> None:
    outcome = post_status if post_status in _FINAL_STATUSES else attempt_outcome
    PUBLISH_OUTCOMES.labels(platform, str(outcome)).inc()


def record_publish_attempt(post: Post, reconciling: bool) -> None:
    """An attempt began: its kind, and how late after the post's due time it started."""
    PUBLISH_ATTEMPTS.labels(post.platform, "reconcile" if reconciling else "publish").inc()
    due, started = post.scheduled_at, post.attempt_started_at
    if due is not None and started is not None:
        lag = (started - due).total_seconds()
        DISPATCH_LAG_SECONDS.labels(post.platform).observe(max(0.0, lag))


def duplicate_prevented(platform: str, how: str) -> None:
    PUBLISH_DUPLICATES_PREVENTED.labels(platform, how).inc()


def record_model_usage(rows: Iterable[ModelUsage]) -> None:
    for row in rows:
        MODEL_CALLS.labels(row.model, "true" if row.cached else "false").inc()
        MODEL_TOKENS.labels(row.model, "prompt").inc(row.prompt_tokens or 0)
        MODEL_TOKENS.labels(row.model, "completion").inc(row.completion_tokens or 0)
        MODEL_COST_USD.labels(row.model).inc(float(row.cost_usd or 0))
