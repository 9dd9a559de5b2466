"""Fair shares of the content and image queues: a small organization's run goes first."""

from __future__ import annotations

import pytest

from briefcast.models import RunStatus
from briefcast.pipeline import tasks
from briefcast.pipeline.celery_app import app
from tests.integration.factories import make_run

pytestmark = pytest.mark.integration
PROBE_QUEUE = "fairness-probe"  # no worker consumes it: the test reads it itself


def test_a_run_of_an_organization_with_a_backlog_gets_a_lower_priority(db: None) -> None:
    big = [make_run(org="big", status=RunStatus.GENERATING)[0] for _ in range(40)]
    small, _ = make_run(org="small")
    make_run(org="small", status=RunStatus.PUBLISHED)  # done: not part of its backlog
    assert tasks._canvas_options(str(big[-1]))[0] == 6  # 40 runs before publishing
    assert tasks._canvas_options(str(small))[0] == 0


def test_the_broker_hands_out_the_higher_priority_task_first(db: None) -> None:
    # Sent in the order of a burst: the big organization's task first, the small one's later.
    # Adjacent levels: with the transport's default steps (0, 3, 6, 9) all three share one list.
    order = [("big", 2), ("small", 0), ("medium", 1)]
    for name, priority in order:
        app.send_task(
            "pipeline.copy.generate", args=[name], queue=PROBE_QUEUE, priority=priority,
            ignore_result=True,
        )  # fmt: skip
    received = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(PROBE_QUEUE)
        try:
            for _ in order:
                message = queue.get(timeout=5)
                received.append(message.headers["argsrepr"])
                message.ack()
        finally:
            queue.clear()
            queue.close()
    assert received == ["['small']", "['medium']", "['big']"]
