"""The whole product as local processes: what `briefcast dev` and `briefcast demo` run.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL, or embedded when unset. Then: the
sandboxes, the API (uvicorn), an I/O worker (threads) for content, publishing, analytics and
default, a CPU worker (prefork) for images, beat, and optionally Flower. Each child logs to
`<data>/logs/<name>.log`; stopping the stack stops them all, then the embedded services.

Each child leads its own process group (a new session, so a terminal's Ctrl-C reaches only
the stack). The groups are recorded in `<data>/stack.json`, so a stack that died without
stopping (SIGKILL, a CI timeout) leaves a record, and the next start on the same data
folder stops what it left running before it starts anything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from briefcast.embedded import EmbeddedServices, free_port
from briefcast.lifecycle import ProcessRecord, locked_state, stop_groups
from briefcast.migrate import upgrade
from briefcast.sandbox.openai_api import SANDBOX_API_KEY

IO_QUEUES = "content,publishing,analytics,default"
# The running stack's own process and its children's process groups, in the data folder.
STATE_FILE = "stack.json"
SANDBOX_SERVICES = ("instagram", "linkedin", "openai")


def cpu_count() -> int:
    """The CPUs this process may run on (a container's limit, not the host's count)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def api_workers(env: dict[str, str] | None = None) -> int:
    """Uvicorn worker processes for the API: `API_WORKERS`, else one per CPU.

    The ingress is CPU-bound Python (one event loop per process), so one process per core is
    what lets it use the machine; the lifespan (engine, Redis client, relay) runs once per
    process, and every process serves `/media` from the same directory.
    """
    value = (env if env is not None else os.environ).get("API_WORKERS", "").strip()
    if value:
        return max(1, int(value))
    return cpu_count()


def api_command(
    app: str, port: int, *, workers: int, host: str = "127.0.0.1", factory: bool = True
) -> list[str]:
    """The uvicorn command line of the API (`briefcast.api.serve` is uvicorn's CLI with the
    `--workers` TCP_NODELAY fix); the ingress benchmark serves its hello-world app with exactly
    the same command, so the two are compared on the same server."""
    return [
        sys.executable, "-m", "briefcast.api.serve", app, *(["--factory"] if factory else []),
        "--host", host, "--port", str(port), "--no-access-log", "--workers", str(workers),
    ]  # fmt: skip


def worker_io_name(n: int) -> str:
    """`worker-io`, then `worker-io-2`, … for the extra I/O worker processes."""
    return "worker-io" if n == 0 else f"worker-io-{n + 1}"


@dataclass
class Ports:
    api: int = 8000
    instagram: int = 8101
    linkedin: int = 8102
    flower: int = 5555
    openai: int = 8103

    @classmethod
    def free(cls) -> Ports:
        return cls(*(free_port() for _ in range(5)))


@dataclass
class Stack:
    data_dir: Path
    ports: Ports = field(default_factory=Ports)
    with_flower: bool = True
    env: dict[str, str] = field(default_factory=dict)
    embedded: EmbeddedServices | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Embedded PostgreSQL/Redis and the OpenAI sandbox even when the environment names real
    # services: drills and benchmarks must never touch a shared database, broker or API key.
    isolated: bool = False
    # The Instagram sandbox's rolling 24 h publishing quota (its own default when None).
    ig_quota_total: int | None = None
    # Settings for every child (e.g. PUBLISH_LEASE_S), applied over the environment.
    extra_env: dict[str, str] = field(default_factory=dict)
    # Threads per I/O worker: its tasks mostly wait on model and platform APIs, so a process
    # keeps several in flight (a brief holds a thread for about a second in all, against the
    # sandboxes). Measured with bench.e2e on two cores, 2 processes x 8 threads used 9% less
    # CPU per brief than 2 x 16 and drained faster; against the real OpenAI (seconds per
    # completion) give a process more (`-c` with WORKER_DB_POOL_SIZE to match).
    io_threads: int = 8
    # More I/O worker processes on the same queues: how Celery scales past one process's GIL.
    io_workers: int = field(default_factory=cpu_count)
    # One sandbox process per service instead of all three in one (for load, not for tests).
    sandbox_per_service: bool = False
    # Replaces `python -m briefcast.sandbox` (the same arguments follow), e.g. for sandboxes
    # configured beyond that command's flags.
    sandbox_command: list[str] | None = None
    commands: dict[str, list[str]] = field(default_factory=dict)
    # Set once this stack has claimed the data folder's state file (and so may clear it).
    _owns_state: bool = False
    _records: dict[str, ProcessRecord] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    def sandbox_url(self, platform: str) -> str:
        return f"http://127.0.0.1:{getattr(self.ports, platform)}"

    def log_path(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name}.log"

    def start(self, say: Callable[[str], None] = print) -> Stack:
        self.data_dir = self.data_dir.resolve()
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        with locked_state(self.data_dir / STATE_FILE) as state:
            _clear_children(self.data_dir, state, say)
            state.update(owner=ProcessRecord.me().to_dict(), children={})
            self._owns_state = True
        env = dict(os.environ)
        if self.isolated or not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
            say("starting embedded PostgreSQL and Redis …")
            self.embedded = EmbeddedServices(self.data_dir / "services").start()
            env["DATABASE_URL"] = self.embedded.database_url
            env["REDIS_URL"] = self.embedded.redis_url
            if self.isolated:  # the embedded Redis is the broker too, unless extra_env says
                env.pop("BROKER_URL", None)
        if self.isolated or not env.get("OPENAI_API_KEY"):
            # Like the platforms: no key configured means the local OpenAI sandbox.
            env.update(
                OPENAI_API_KEY=SANDBOX_API_KEY,
                OPENAI_BASE_URL=f"{self.sandbox_url('openai')}/v1",
            )
        env.update(
            MEDIA_ROOT=str(self.data_dir / "media"),
            PUBLIC_BASE_URL=self.api_url,
            INSTAGRAM_GRAPH_BASE_URL=self.sandbox_url("instagram"),
            LINKEDIN_API_BASE_URL=self.sandbox_url("linkedin"),
            PYTHONUNBUFFERED="1",
        )
        env.setdefault("WORKER_DB_POOL_SIZE", str(self.io_threads))  # a connection per thread
        # Every child writes its metrics here, emptied each start; the API's /metrics sums them.
        from briefcast.observability.exposition import fresh_multiproc_dir

        env["PROMETHEUS_MULTIPROC_DIR"] = fresh_multiproc_dir(self.data_dir / "metrics")
        env.update(self.extra_env)
        self.env = env
        say("migrating the database …")
        upgrade(env["DATABASE_URL"])
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "briefcast.pipeline.celery_app"]
        sandbox = [
            *(self.sandbox_command or [python, "-m", "briefcast.sandbox"]),
            "--instagram-port", str(self.ports.instagram),
            "--linkedin-port", str(self.ports.linkedin),
            "--openai-port", str(self.ports.openai),
            *([] if self.ig_quota_total is None
              else ["--quota-total", str(self.ig_quota_total)]),
        ]  # fmt: skip
        if self.sandbox_per_service:
            commands = {f"sandbox-{s}": [*sandbox, "--serve", s] for s in SANDBOX_SERVICES}
        else:
            commands = {"sandbox": sandbox}
        commands |= {
            "api": api_command(
                "briefcast.api.app:create_app", self.ports.api, workers=api_workers(env)
            ),
            **{
                worker_io_name(n): [
                    *celery, "worker", "-n", f"{worker_io_name(n).removeprefix('worker-')}@%h",
                    "-Q", IO_QUEUES,
                    "-P", "threads", "-c", str(self.io_threads), "-l", "INFO",
                ]
                for n in range(self.io_workers)
            },
            "worker-images": [
                *celery, "worker", "-n", "images@%h", "-Q", "images",
                "-P", "prefork", "-c", "2", "-l", "INFO",
            ],
            "beat": [
                *celery, "beat", "-l", "INFO",
                "-s", str(self.data_dir / "celerybeat-schedule"),
            ],
        }  # fmt: skip
        if self.with_flower:
            commands["flower"] = [
                *celery, "flower", "--address=127.0.0.1", f"--port={self.ports.flower}"
            ]  # fmt: skip
        self.commands = commands
        for name, command in commands.items():
            say(f"starting {name} …")
            with self.log_path(name).open("ab") as log:  # the child keeps its own copy
                self.children[name] = subprocess.Popen(  # noqa: S603 - our own commands
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            self._remember(name)
        self._wait_until_up()
        return self

    def restart_child(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one child's process group (SIGKILL: no clean-up, as in a crash), wait for
        it, and start the same command again with the same environment and log."""
        child = self.children[name]
        # The whole group, even when its leader already died (a prefork pool's children).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        child.wait(15)
        with self.log_path(name).open("ab") as log:
            log.write(f"\n--- restarted after signal {sig} ---\n".encode())
            log.flush()
            self.children[name] = subprocess.Popen(  # noqa: S603 - our own commands
                self.commands[name],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._remember(name)

    def _remember(self, name: str) -> None:
        record = self._records[name] = ProcessRecord.of(self.children[name].pid)
        with locked_state(self.data_dir / STATE_FILE) as state:
            state.setdefault("children", {})[name] = record.to_dict()

    def restart_redis(self) -> None:
        """Stop the embedded Redis and start it on the same port; clients must reconnect."""
        if self.embedded is None:
            raise RuntimeError("Redis is not embedded here; restart it where it runs")
        self.embedded.restart_redis()

    def _wait_until_up(self, timeout_s: float = 60) -> None:
        checks = [("api", f"{self.api_url}/health")] + [
            (
                f"sandbox-{platform}" if self.sandbox_per_service else "sandbox",
                f"{self.sandbox_url(platform)}/_sandbox/records",
            )
            for platform in ("instagram", "linkedin")
        ]
        deadline = time.monotonic() + timeout_s
        for name, url in checks:
            while True:
                self.check_alive()
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not come up; see {self.log_path(name)}")
                time.sleep(0.2)

    def check_alive(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {child.returncode}; see {self.log_path(name)}"
                )

    def stop(self) -> None:
        """Stop every child's whole group, then the embedded services, then forget them."""
        try:
            self._stop_children()
        finally:
            try:
                if self.embedded is not None:
                    self.embedded.stop()
                    self.embedded = None
            finally:
                if self._owns_state:
                    with locked_state(self.data_dir / STATE_FILE) as state:
                        state.clear()
                    self._owns_state = False

    def _stop_children(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        # A group can outlive its leader (a prefork pool's children); the record finds it.
        stop_groups(self._records, timeout_s=5)
        self.children.clear()
        self._records.clear()


def clear_leftovers(data_dir: Path, say: Callable[[str], None] = print) -> None:
    """Stop what a stack that died without stopping left running on `data_dir`: its
    children's groups, then its embedded services (before the folder is wiped, say)."""
    data_dir = data_dir.resolve()
    if not data_dir.exists():
        return
    with locked_state(data_dir / STATE_FILE) as state:
        _clear_children(data_dir, state, say)
    EmbeddedServices(data_dir / "services").clear_leftovers()


def _clear_children(data_dir: Path, state: dict[str, Any], say: Callable[[str], None]) -> None:
    owner = state.get("owner")
    if owner is not None:
        record = ProcessRecord.from_dict(owner)
        if record.pid != os.getpid() and record.alive():
            raise RuntimeError(
                f"a stack (process {record.pid}) is running on {data_dir}; stop it first"
            )
    records = {
        name: ProcessRecord.from_dict(child) for name, child in state.get("children", {}).items()
    }
    for name, stopped in stop_groups(records).items():
        if stopped:
            say(f"stopped {name} ({len(stopped)} process(es)) left by a stack that did not stop")
    state.clear()
