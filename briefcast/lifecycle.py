"""What a crashed stack left running, found and stopped by the next one.

A process is remembered by its pid and its start time (psutil's `create_time`): a pid alone
may have been given to an unrelated process since, the pair may not. Records live in small
JSON files in the data folder, read and written under an exclusive `flock`, so two processes
starting on the same folder do not lose each other's entries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

# psutil derives the start time from clock ticks since boot: the same process always gives
# the same value, and two processes that share a pid are far more than this apart.
_SAME_START_S = 0.05


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    started: float
    command: str  # for the message that says what was stopped

    @classmethod
    def of(cls, pid: int) -> ProcessRecord:
        process = psutil.Process(pid)
        return cls(pid, process.create_time(), " ".join(process.cmdline()[:4]))

    @classmethod
    def me(cls) -> ProcessRecord:
        return cls.of(os.getpid())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessRecord:
        return cls(int(data["pid"]), float(data["started"]), str(data.get("command", "")))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def process(self) -> psutil.Process | None:
        """The recorded process if it is still running (not a zombie), else None."""
        try:
            process = psutil.Process(self.pid)
            if abs(process.create_time() - self.started) > _SAME_START_S:
                return None  # the pid was given to another process
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.Error:
            return None
        return process

    def alive(self) -> bool:
        return self.process() is not None


def stop_processes(processes: list[psutil.Process], sig: int, timeout_s: float) -> None:
    """Send `sig`, wait up to `timeout_s`, then SIGKILL what is left."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(sig)
    _, alive = psutil.wait_procs(processes, timeout=timeout_s)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5)


def group_members(leader: ProcessRecord) -> list[psutil.Process]:
    """The processes of the group the recorded process led (it was started in a new session).

    The group outlives its leader while any member runs (a prefork pool's children), and
    Linux does not give a pid to a new process while a group still uses it as its id, so
    members whose group id is the recorded pid and who started after it are its own. A
    living process under the pid that is not the recorded one means the group is gone.
    """
    with contextlib.suppress(psutil.Error):
        if abs(psutil.Process(leader.pid).create_time() - leader.started) > _SAME_START_S:
            return []
    members = []
    for process in psutil.process_iter(["create_time", "status"]):
        try:
            if (
                os.getpgid(process.pid) == leader.pid
                and process.info["create_time"] >= leader.started - _SAME_START_S
                and process.info["status"] != psutil.STATUS_ZOMBIE
            ):
                members.append(process)
        except (OSError, psutil.Error):
            continue  # gone meanwhile
    return members


def stop_group(leader: ProcessRecord, timeout_s: float = 10) -> list[psutil.Process]:
    """SIGTERM the recorded group, SIGKILL what outlives `timeout_s`; returns what was found."""
    return stop_groups({"": leader}, timeout_s)[""]


def stop_groups(
    leaders: dict[str, ProcessRecord], timeout_s: float = 10
) -> dict[str, list[psutil.Process]]:
    """`stop_group` for several groups at once: all are signalled, then waited for together."""
    members = {name: group_members(leader) for name, leader in leaders.items()}
    everyone = [process for group in members.values() for process in group]
    if everyone:
        stop_processes(everyone, signal.SIGTERM, timeout_s)
    return members


@contextlib.contextmanager
def locked_state(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON object in `path`, held under an exclusive lock; changes are written back
    (an empty object removes the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        except json.JSONDecodeError:
            state = {}  # a write cut short by a crash: nothing in it can be trusted
        yield state
        if state:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(state, indent=1))
            tmp.replace(path)
        else:
            path.unlink(missing_ok=True)
