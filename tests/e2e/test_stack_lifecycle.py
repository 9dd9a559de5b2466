"""A stack killed with SIGKILL leaves processes behind; the next start on its data folder
stops them, and a clean stop leaves nothing running.

The first stack runs in a driver process that is SIGKILLed; the second in the test. Every
process of both (their children, the embedded PostgreSQL and Redis) inherits a marker in its
environment, so whatever is left is found whatever it calls itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from briefcast.lifecycle import ProcessRecord, group_members, stop_group
from briefcast.stack import Ports, Stack, clear_leftovers

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
# In the repository's data folder, not pytest's: the embedded PostgreSQL runs as its own
# system user when the tests run as root, and must be able to reach its data folder.
DATA_DIR = ROOT / ".data" / "lifecycle-test"
MARK = "BRIEFCAST_LIFECYCLE_MARK"
DRIVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from briefcast.stack import Ports, Stack

    stack = Stack(
        data_dir=Path(sys.argv[1]), ports=Ports.free(), with_flower=True, isolated=True,
        extra_env={"API_WORKERS": "1"}, io_workers=1,
    )
    try:
        stack.start(say=lambda line: print(line, flush=True))
        print("READY", flush=True)
        time.sleep(600)
    finally:
        stack.stop()
    """
)


def _marked(mark: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get(MARK) == mark:
                found.append(process)
        except psutil.Error:
            continue
    return found


def _describe(processes: list[psutil.Process]) -> list[str]:
    described = []
    for process in processes:
        try:
            described.append(f"{process.pid} {' '.join(process.cmdline()[:4])}")
        except psutil.Error:
            continue
    return described


@contextmanager
def _driver(script: Path, mark: str) -> Iterator[subprocess.Popen[str]]:
    """The driver process, SIGKILLed (if the test has not) and reaped, its pipe closed."""
    with subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(script), str(DATA_DIR)],
        env={**os.environ, MARK: mark},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    ) as driver:
        try:
            yield driver
        finally:
            driver.kill()


def _read_until(driver: subprocess.Popen[str], word: str) -> list[str]:
    assert driver.stdout is not None
    lines = []
    for line in driver.stdout:
        lines.append(line.rstrip())
        if line.strip() == word:
            return lines
    raise AssertionError(f"the driver ended before {word}:\n" + "\n".join(lines[-30:]))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_next_start_clears_what_a_killed_stack_left_and_stop_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_leftovers(DATA_DIR)
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    mark = uuid.uuid4().hex
    try:
        with _driver(script, mark) as crashed:
            _read_until(crashed, "READY")
            crashed.send_signal(signal.SIGKILL)
            crashed.wait(10)
        time.sleep(1)  # what dies with its parent (Redis) goes
        left = _marked(mark)
        names = {p.name() for p in left}
        # The crash really left the postmaster and the stack's children running.
        assert "postgres" in names, _describe(left)
        assert any("celery" in " ".join(p.cmdline()) for p in left), _describe(left)
        handles = DATA_DIR / "services" / "pg" / ".handle_pids.json"
        assert str(crashed.pid) in handles.read_text()

        monkeypatch.setenv(MARK, mark)  # the embedded services inherit this process's
        said: list[str] = []
        second = Stack(
            data_dir=DATA_DIR,
            ports=Ports.free(),
            with_flower=False,
            isolated=True,
            extra_env={"API_WORKERS": "1"},
            io_workers=1,
        )
        try:
            second.start(say=said.append)
            second.check_alive()
        finally:
            second.stop()
        assert any("left by a stack that did not stop" in line for line in said), said

        deadline = time.monotonic() + 10
        while (still := _marked(mark)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert still == [], _describe(still)
        assert handles.read_text().strip() == "[]"
        assert not (DATA_DIR / "stack.json").exists()
    finally:
        for process in _marked(mark):  # whatever a failure left
            process.kill()


def test_a_recorded_pid_given_to_another_process_is_left_alone() -> None:
    me = ProcessRecord.me()
    recycled = ProcessRecord(me.pid, me.started - 100, me.command)
    assert me.alive() and not recycled.alive()
    assert group_members(recycled) == []
    assert stop_group(recycled) == []


def test_stop_group_stops_members_that_outlived_their_leader() -> None:
    leader = subprocess.Popen(
        ["/bin/sh", "-c", "sleep 300 & sleep 300 & wait"], start_new_session=True
    )
    record = ProcessRecord.of(leader.pid)
    deadline = time.monotonic() + 10
    while len(group_members(record)) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    leader.kill()  # as a crash would: the sleeps live on in the group
    leader.wait()
    orphans = group_members(record)
    assert len(orphans) == 2 and all(p.name() == "sleep" for p in orphans)

    stopped = stop_group(record, timeout_s=5)

    assert {p.pid for p in stopped} == {p.pid for p in orphans}
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in orphans)
