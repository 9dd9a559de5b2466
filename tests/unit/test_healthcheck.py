"""The workers image's health check: roles and options read from a command line, beat's
schedule file judged by its age (tests/integration/test_healthcheck.py pings real workers)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from briefcast.healthcheck import BEAT_STALE_S, check, check_beat, option, role_of

CELERY = ["/venv/bin/python", "/venv/bin/celery", "-A", "briefcast.pipeline.celery_app"]


@pytest.mark.parametrize(
    ("args", "role"),
    [
        ([*CELERY, "worker", "-Q", "content,publishing", "-P", "threads"], "worker"),
        ([*CELERY, "beat", "-l", "INFO", "-s", "/tmp/celerybeat-schedule"], "beat"),
        ([*CELERY, "flower", "--port=5555"], "flower"),
        (["python", "-m", "briefcast.sandbox"], None),
    ],
)
def test_role_comes_from_the_command_line(args: list[str], role: str | None) -> None:
    assert role_of(args) == role


def test_option_reads_every_spelling_and_the_last_wins() -> None:
    assert option(["worker", "-n", "io@%h"], "-n", "--hostname") == "io@%h"
    assert option(["worker", "--hostname=img@%h"], "-n", "--hostname") == "img@%h"
    assert option(["beat", "-s", "a", "--schedule", "b"], "-s", "--schedule") == "b"
    assert option(["worker", "-Q", "images"], "-n", "--hostname") is None
    assert option(["worker", "-n"], "-n") is None  # no value follows


def test_something_else_is_not_healthy() -> None:
    problem = check(["python", "-m", "briefcast.sandbox"])
    assert problem is not None and "not a Celery worker" in problem


def test_beat_is_healthy_while_it_keeps_writing_its_schedule(tmp_path: Path) -> None:
    schedule = tmp_path / "celerybeat-schedule"
    args = [*CELERY, "beat", "-s", str(schedule)]
    assert check_beat(args) == f"no beat schedule file at {schedule}"

    # dbm.dumb's files; the newest write counts.
    data, index = Path(f"{schedule}.dat"), Path(f"{schedule}.dir")
    data.write_bytes(b"x")
    index.write_bytes(b"x")
    now = time.time()
    os.utime(index, (now - 10, now - 10))
    assert check_beat(args, now=now) is None

    stale = now - BEAT_STALE_S - 1
    for path in (data, index):
        os.utime(path, (stale, stale))
    problem = check_beat(args, now=now)
    assert problem is not None and f"{BEAT_STALE_S + 1:.0f} s ago" in problem
