"""Fair shares of the content and image queues: a small organization's run goes first, on the
Redis transport (lower numbers first) and on RabbitMQ (higher numbers first) alike."""

from __future__ import annotations

import pytest

from briefcast.models import RunStatus
from briefcast.pipeline import tasks
from briefcast.pipeline.celery_app import app
from briefcast.pipeline.fairness import message_priority
from tests.integration.factories import make_run

pytestmark = pytest.mark.integration
PROBE_QUEUE = "fairness-probe"  # no worker consumes it: the test reads it itself


def test_a_run_of_an_organization_with_a_backlog_gets_a_lower_priority(db: None) -> None:
    big = [make_run(org="big", status=RunStatus.GENERATING)[0] for _ in range(40)]
    small, _ = make_run(org="small")
    make_run(org="small", status=RunStatus.PUBLISHED)  # done: not part of its backlog
    broker = app.conf.broker_url
    assert tasks._canvas_options(str(big[-1]))[0] == message_priority(6, broker)  # 40 runs
    assert tasks._canvas_options(str(small))[0] == message_priority(0, broker)


def test_the_broker_hands_out_the_higher_priority_task_first(db: None) -> None:
    # Sent in the order of a burst: the big organization's task first, the small one's later.
    # Adjacent ranks: with the Redis transport's default steps (0, 3, 6, 9) all three would
    # share one list; on RabbitMQ the queue needs its x-max-priority (declared by the send).
    order = [("big", 2), ("small", 0), ("medium", 1)]
    received = []
    with app.connection_for_read() as connection:
        # kombu takes a Queue here as well as a name; its stubs say str only.
        queue = connection.SimpleQueue(app.amqp.queues[PROBE_QUEUE])  # type: ignore[arg-type]
        try:
            queue.clear()  # whatever an interrupted run of this test left
            for name, rank in order:
                app.send_task(
                    "pipeline.copy.generate", args=[name], queue=PROBE_QUEUE,
                    priority=message_priority(rank, app.conf.broker_url), ignore_result=True,
                )  # fmt: skip
            for _ in order:
                message = queue.get(timeout=5)
                received.append(message.headers["argsrepr"])
                message.ack()
        finally:
            queue.clear()
            queue.close()
    assert received == ["['small']", "['medium']", "['big']"]


def test_a_message_sent_without_a_priority_goes_before_every_fair_share_rank_but_the_first(
    db: None,
) -> None:
    # Publish tasks, beat ticks and outbox events carry none: on RabbitMQ, where a missing
    # priority would count as the lowest, the route gives them the highest.
    received = []
    with app.connection_for_read() as connection:
        # kombu takes a Queue here as well as a name; its stubs say str only.
        queue = connection.SimpleQueue(app.amqp.queues[PROBE_QUEUE])  # type: ignore[arg-type]
        try:
            queue.clear()
            app.send_task(
                "pipeline.copy.generate", args=["ranked-1"], queue=PROBE_QUEUE,
                priority=message_priority(1, app.conf.broker_url), ignore_result=True,
            )  # fmt: skip
            # By name, as the outbox sends; the probe queue in place of the route's.
            app.send_task(
                "pipeline.runs.start", args=["unprioritized", []], queue=PROBE_QUEUE,
                ignore_result=True,
            )  # fmt: skip
            for _ in range(2):
                message = queue.get(timeout=5)
                received.append(message.headers["argsrepr"])
                message.ack()
        finally:
            queue.clear()
            queue.close()
    assert received == ["['unprioritized', []]", "['ranked-1']"]
