"""Queues, routes and the reliability settings every task relies on."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from celery import Celery

import briefcast.pipeline.tasks  # noqa: F401  (registers the tasks)
from briefcast.pipeline.broker import is_amqp
from briefcast.pipeline.celery_app import (
    RABBITMQ_CONSUMER_TIMEOUT_S,
    VISIBILITY_TIMEOUT_S,
    app,
    configure,
)
from briefcast.pipeline.fairness import AMQP_MAX_PRIORITY, PRIORITY_STEPS
from briefcast.pipeline.publish.dispatch import DISPATCH_INTERVAL_S
from briefcast.pipeline.queues import QUEUES, ROUTES, TaskQueue

EXPECTED_QUEUE = {
    "runs": TaskQueue.DEFAULT,
    "copy": TaskQueue.CONTENT,
    "check": TaskQueue.CONTENT,
    "render": TaskQueue.IMAGES,
    "schedule": TaskQueue.DEFAULT,
    "publish": TaskQueue.PUBLISHING,
    "analytics": TaskQueue.ANALYTICS,
    "outbox": TaskQueue.DEFAULT,
}
EXPECTED_TASKS = {
    "pipeline.runs.start",
    "pipeline.copy.generate",
    "pipeline.check.copy",
    "pipeline.render.image",
    "pipeline.schedule.run",
    "pipeline.publish.dispatch_due",
    "pipeline.publish.post",
    "pipeline.analytics.collect_due",
    "pipeline.analytics.collect",
    "pipeline.outbox.sweep",
}


def pipeline_tasks() -> list[str]:
    return sorted(name for name in app.tasks if name.startswith("pipeline."))


def test_expected_tasks_registered() -> None:
    assert set(pipeline_tasks()) >= EXPECTED_TASKS


def test_every_briefcast_task_is_named_pipeline() -> None:
    ours = [t for t in app.tasks.values() if t.__module__.startswith("briefcast.")]
    assert ours
    for task in ours:
        assert task.name.startswith("pipeline."), task.name


@pytest.mark.parametrize("name", sorted(EXPECTED_TASKS))
def test_task_routes_to_its_stage_queue(name: str) -> None:
    stage = name.split(".")[1]
    route = app.amqp.router.route({}, name)
    assert route["queue"].name == EXPECTED_QUEUE[stage].value


def test_every_registered_pipeline_task_routes_to_a_declared_queue() -> None:
    declared = {q.value for q in TaskQueue}
    for name in pipeline_tasks():
        queue = app.amqp.router.route({}, name)["queue"]
        assert queue.name in declared, name
        assert queue.routing_key == queue.name


def test_routes_table_covers_every_pipeline_task_explicitly() -> None:
    # Not merely the default-queue fallback: each task matches a route pattern.
    for name in pipeline_tasks():
        matches = [pattern for pattern in ROUTES if fnmatchcase(name, pattern)]
        assert len(matches) == 1, (name, matches)
    assert {p: r["queue"] for p, r in app.conf.task_routes.items()} == {
        p: r["queue"] for p, r in ROUTES.items()
    }


def test_unknown_task_falls_back_to_default_queue() -> None:
    assert app.amqp.router.route({}, "other.thing")["queue"].name == TaskQueue.DEFAULT.value
    assert app.conf.task_default_queue == TaskQueue.DEFAULT.value


def test_queues_declared_once_each() -> None:
    names = [q.name for q in QUEUES]
    assert sorted(names) == sorted(q.value for q in TaskQueue)
    assert len(set(names)) == len(names)
    assert {q.name for q in app.conf.task_queues} == set(names)


def test_reliability_settings() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    if is_amqp(conf.broker_url):
        assert conf.broker_transport_options["confirm_publish"] is True
    else:
        assert conf.broker_transport_options["visibility_timeout"] == VISIBILITY_TIMEOUT_S


def test_visibility_timeout_exceeds_every_hard_time_limit() -> None:
    limits = [app.conf.task_time_limit]
    limits += [t.time_limit for t in app.tasks.values() if t.time_limit]
    assert all(limit and limit < VISIBILITY_TIMEOUT_S for limit in limits)
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_rabbitmq_consumer_timeout_exceeds_every_hard_limit_and_held_eta() -> None:
    # With late acks a worker holds a delivery while the task runs, and an ETA task (the
    # dispatcher's, at most a tick ahead) before: RabbitMQ closes the channel past its timeout.
    limits = [app.conf.task_time_limit]
    limits += [t.time_limit for t in app.tasks.values() if t.time_limit]
    assert max(limits) + DISPATCH_INTERVAL_S < RABBITMQ_CONSUMER_TIMEOUT_S


def test_queues_are_durable_and_ordered_by_priority_on_rabbitmq() -> None:
    for queue in QUEUES:
        assert queue.durable is True
        assert queue.queue_arguments == {"x-max-priority": AMQP_MAX_PRIORITY}


def test_json_only() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_chord_header_task_keeps_its_result() -> None:
    # A chord waits on its header's results: render_image must not ignore them.
    assert app.tasks["pipeline.render.image"].ignore_result is False


def test_beat_schedule_points_at_registered_tasks() -> None:
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks


def test_configure_fresh_app_without_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    """configure() on a new app without Redis: an in-memory broker and result store."""
    from briefcast.settings import get_settings

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("BROKER_URL", raising=False)
    get_settings.cache_clear()
    try:
        fresh = Celery("unit")
        configure(fresh)
        assert fresh.conf.broker_url == "memory://"
        assert fresh.conf.result_backend == "cache+memory://"
        assert fresh.conf.broker_transport_options == {
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
            "priority_steps": PRIORITY_STEPS,  # a level per step: fair shares need them all
        }
    finally:
        get_settings.cache_clear()


def test_configure_uses_redis_db_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from briefcast.settings import get_settings

    monkeypatch.setenv("REDIS_URL", "redis://cache.invalid:6379")
    monkeypatch.delenv("BROKER_URL", raising=False)
    get_settings.cache_clear()
    try:
        fresh = Celery("unit")
        configure(fresh)  # configuration only: nothing connects
        assert fresh.conf.broker_url == "redis://cache.invalid:6379/1"
        assert fresh.conf.result_backend == "redis://cache.invalid:6379/1"
        assert fresh.conf.task_routes == ROUTES  # no route priority: none counts as 0, first
        assert fresh.conf.worker_cancel_long_running_tasks_on_connection_loss is False
    finally:
        get_settings.cache_clear()


def test_configure_rabbitmq_as_broker_keeps_redis_as_result_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from briefcast.settings import get_settings

    monkeypatch.setenv("REDIS_URL", "redis://cache.invalid:6379")
    monkeypatch.setenv("BROKER_URL", "amqp://guest:guest@mq.invalid:5672/briefcast")
    get_settings.cache_clear()
    try:
        fresh = Celery("unit")
        configure(fresh)  # configuration only: nothing connects
        assert fresh.conf.broker_url == "amqp://guest:guest@mq.invalid:5672/briefcast"
        assert fresh.conf.result_backend == "redis://cache.invalid:6379/1"
        # Publisher confirms; none of the Redis transport's options.
        assert fresh.conf.broker_transport_options == {"confirm_publish": True}
        assert fresh.conf.task_queue_max_priority == AMQP_MAX_PRIORITY
        # A message sent without a priority gets RabbitMQ's highest from its route.
        for name in EXPECTED_TASKS:
            route = fresh.amqp.router.route({}, name)
            assert route["priority"] == AMQP_MAX_PRIORITY, name
            assert route["queue"].name == EXPECTED_QUEUE[name.split(".")[1]].value
        # A priority the sender names (a fair share) wins over the route's.
        assert fresh.amqp.router.route({"priority": 3}, "pipeline.copy.generate")["priority"] == 3
        assert fresh.conf.worker_cancel_long_running_tasks_on_connection_loss is True
    finally:
        get_settings.cache_clear()
