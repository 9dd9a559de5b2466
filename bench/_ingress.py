"""Load for the ingress benchmark: a keep-alive HTTP client, and the hello-world yardstick.

`post_load` sends POSTs from `concurrency` clients at once on one asyncio loop, each client on
its own keep-alive connection. The client speaks the few lines of HTTP/1.1 it needs over
asyncio streams, with every request encoded before the clock starts: on a 2-core machine the
client shares the CPU with the server, and a general-purpose client (httpx costs roughly a
third of a core at 1,000 req/s) would measure itself as much as the server. The same client
loads both servers, so their ratio is fair either way.

`hello_world_server` serves `bench._hello` (FastAPI, one pydantic model, no I/O) with the
product API's own uvicorn command line (`briefcast.stack.api_command`: same worker count, no
access log) on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from briefcast.embedded import free_port
from briefcast.stack import api_command, api_workers

REPO_ROOT = Path(__file__).resolve().parent.parent
TRANSPORT_ERROR = 0  # the status recorded when a request got no HTTP answer at all


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: Counter[int]
    # Response bodies by request index (only when post_load was asked to keep them).
    bodies: dict[int, bytes] = field(default_factory=dict, repr=False)
    # Every request's latency, in the order they finished (for combining rounds).
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @classmethod
    def combine(cls, results: Sequence[LoadResult]) -> LoadResult:
        """Rounds of one load as one result: requests and seconds add up, percentiles are
        over every request of every round."""
        latencies = [ms for r in results for ms in r.latencies_ms]
        seconds = sum(r.seconds for r in results)
        statuses: Counter[int] = Counter()
        bodies: dict[int, bytes] = {}
        for r in results:
            statuses.update(r.statuses)
            bodies.update(r.bodies)
        return cls.measured(latencies, seconds, statuses, bodies)

    @classmethod
    def measured(
        cls,
        latencies_ms: list[float],
        seconds: float,
        statuses: Counter[int],
        bodies: dict[int, bytes],
    ) -> LoadResult:
        """A load from each request's latency, its wall time, statuses and kept bodies."""
        ordered = sorted(latencies_ms)
        return cls(
            requests=len(latencies_ms),
            seconds=seconds,
            rps=len(latencies_ms) / seconds if seconds > 0 else 0.0,
            p50_ms=_percentile(ordered, 0.50),
            p95_ms=_percentile(ordered, 0.95),
            p99_ms=_percentile(ordered, 0.99),
            statuses=statuses,
            bodies=bodies,
            latencies_ms=latencies_ms,
        )

    def line(self, label: str) -> str:
        statuses = " ".join(f"{code}={n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{label}: {self.requests} requests in {self.seconds:.2f} s = {self.rps:.0f} req/s  "
            f"p50 {self.p50_ms:.1f} ms  p95 {self.p95_ms:.1f} ms  p99 {self.p99_ms:.1f} ms  "
            f"[{statuses}]"
        )


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class _Connection:
    """One keep-alive HTTP/1.1 connection: write a request, read one response."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            body = b"".join(chunks)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


def _encode(host: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload


async def _load(
    host: str, port: int, requests: list[bytes], concurrency: int, keep_bodies: bool
) -> LoadResult:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    bodies: dict[int, bytes] = {}
    next_index = iter(range(len(requests)))

    async def client() -> None:
        conn = _Connection(host, port)
        try:
            for i in next_index:
                started = time.perf_counter()
                try:
                    status, body = await conn.request(requests[i])
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    await conn.close()
                    status, body = TRANSPORT_ERROR, b""
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                if keep_bodies:
                    bodies[i] = body
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(max(1, min(concurrency, len(requests))))))
    seconds = time.perf_counter() - started
    latencies_ms = [s * 1000 for s in latencies]
    return LoadResult.measured(latencies_ms, seconds, statuses, bodies)


def post_load(
    url: str,
    bodies: Sequence[dict[str, Any]],
    headers_for: Callable[[int], dict[str, str]],
    concurrency: int = 16,
    *,
    keep_bodies: bool = False,
) -> LoadResult:
    """POST bodies[i] (JSON) with headers_for(i) to `url`, `concurrency` clients at once, each
    on its own keep-alive connection; every request is encoded before the clock starts."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"post_load speaks plain http only, not {url!r}")
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    host_header = parts.netloc
    requests = [_encode(host_header, path, b, headers_for(i)) for i, b in enumerate(bodies)]
    coro_args = (parts.hostname, port, requests, concurrency, keep_bodies)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_load(*coro_args))
    # Called from inside an event loop: run the load on a loop of its own in a thread.
    result: list[LoadResult] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(_load(*coro_args))))
    thread.start()
    thread.join()
    return result[0]


def wait_until_healthy(base_url: str, timeout_s: float = 60.0, child: Any = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if child is not None and child.poll() is not None:
            raise RuntimeError(f"server exited with {child.returncode} before it answered")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url} did not come up within {timeout_s:.0f} s")
        time.sleep(0.1)


@contextmanager
def hello_world_server(workers: int | None = None) -> Iterator[str]:
    """`bench._hello` under the product API's uvicorn command (same worker count unless
    `workers` says otherwise), on a free port; yields its base URL, stops it on the way out."""
    port = free_port()
    command = api_command("bench._hello:create_app", port, workers=workers or api_workers())
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    # uvicorn's own lines, shown only if it fails to start.
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(  # noqa: S603 - our own command
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_until_healthy(base_url, child=child)
            except RuntimeError:
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace")[-4000:])
                raise
            yield base_url
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
