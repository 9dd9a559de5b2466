"""Container health checks for the workers image: `python -m briefcast.healthcheck [--pid N]`.

The role comes from the command line of the process checked (PID 1 in a container, so one
HEALTHCHECK serves the I/O and image workers, beat and Flower alike):

- worker: the node answers a control ping through the broker. The worker's consumer answers
  it, not its pool, so busy task threads do not fail the check; a lost broker connection, a
  stopped or wedged process does.
- beat: its schedule file (`-s`) was written within `BEAT_STALE_S`. Beat rewrites it whenever
  it sends a task and three minutes have passed since the last write
  (`celery.beat.Scheduler.sync_every`), and it sends one every second.
- flower: its `/healthcheck` page answers (Flower serves it without authentication).

It imports Celery and the settings, not the task modules: under half the CPU of
`celery inspect ping` (about 1 s against 3), which counts at one check per container every
30 seconds.
Exit status 0 is healthy, 1 unhealthy (Docker's HEALTHCHECK contract), with one line why.
"""

from __future__ import annotations

import argparse
import glob
import time
import urllib.request
from pathlib import Path

ROLES = ("worker", "beat", "flower")
PING_TIMEOUT_S = 5.0
# Beat writes its schedule at least every 180 s while it runs; a minute of slack on top.
BEAT_STALE_S = 240.0
DEFAULT_BEAT_SCHEDULE = "celerybeat-schedule"
DEFAULT_FLOWER_PORT = "5555"


def command_line(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode() for part in raw.split(b"\0") if part]


def role_of(args: list[str]) -> str | None:
    return next((arg for arg in args if arg in ROLES), None)


def option(args: list[str], *names: str) -> str | None:
    """The value of `-n X`, `--name X` or `--name=X` (the last one given wins, as in click)."""
    found = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                found = args[i + 1]
            elif name.startswith("--") and arg.startswith(f"{name}="):
                found = arg.split("=", 1)[1]
    return found


def check_worker(args: list[str]) -> str | None:
    from celery import Celery
    from celery.utils.nodenames import default_nodename, host_format

    from briefcast.pipeline.broker import celery_broker_url
    from briefcast.settings import get_settings

    # The node name exactly as `celery worker` forms it (celery/bin/worker.py).
    node = host_format(default_nodename(option(args, "-n", "--hostname") or ""))
    app = Celery(
        "briefcast-healthcheck", broker=celery_broker_url(get_settings()), set_as_current=False
    )
    try:
        replies = app.control.ping(destination=[node], timeout=PING_TIMEOUT_S)
    finally:
        app.close()
    if not any(node in reply for reply in replies or []):  # None only without a reply
        return f"{node} did not answer a ping within {PING_TIMEOUT_S:g} s"
    return None


def check_beat(args: list[str], now: float | None = None) -> str | None:
    schedule = option(args, "-s", "--schedule") or DEFAULT_BEAT_SCHEDULE
    # shelve's backends add suffixes to the name (dbm.dumb: .dat/.dir, dbm.ndbm: .db).
    files = glob.glob(glob.escape(schedule) + "*")
    if not files:
        return f"no beat schedule file at {schedule}"
    age = (time.time() if now is None else now) - max(Path(f).stat().st_mtime for f in files)
    if age > BEAT_STALE_S:
        return f"beat last wrote {schedule} {age:.0f} s ago (more than {BEAT_STALE_S:g} s)"
    return None


def check_flower(args: list[str]) -> str | None:
    port = option(args, "--port") or DEFAULT_FLOWER_PORT
    url = f"http://127.0.0.1:{port}/healthcheck"
    try:
        with urllib.request.urlopen(url, timeout=PING_TIMEOUT_S) as response:
            if response.status == 200:
                return None
            return f"{url} answered {response.status}"
    except OSError as exc:
        return f"{url}: {exc}"


def check(args: list[str]) -> str | None:
    """None when the process this command line belongs to is healthy, else why not."""
    role = role_of(args)
    if role == "beat":
        return check_beat(args)
    if role == "flower":
        return check_flower(args)
    if role == "worker":
        return check_worker(args)
    return f"not a Celery worker, beat or Flower: {' '.join(args)!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, default=1, help="the process to check (default 1)")
    pid = parser.parse_args(argv).pid
    problem = check(command_line(pid))
    print(problem or "healthy")
    return 1 if problem else 0


if __name__ == "__main__":
    raise SystemExit(main())
