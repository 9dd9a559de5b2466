"""The workers image's health check against real processes: a `celery worker` answers its
ping and fails it once stopped; Flower's check needs its page to answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread

import pytest

from briefcast.embedded import free_port
from briefcast.healthcheck import check, command_line, main


@pytest.fixture
def worker(services: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A worker as the image runs one, on a queue of its own so it takes no other test's task."""
    name = f"healthcheck-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "celery", "-A", "briefcast.pipeline.celery_app", "worker",
         "-Q", name, "-P", "threads", "-c", "1", "-n", f"{name}@%h", "-l", "WARNING"],
        env=os.environ.copy(),
    )  # fmt: skip
    try:
        yield process
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_a_worker_is_healthy_until_it_stops_answering(worker: subprocess.Popen[bytes]) -> None:
    # Until the worker has started: its command line (read just after the fork, it can still
    # be empty), then its consumer.
    deadline = time.monotonic() + 120
    while (problem := check(args := command_line(worker.pid))) is not None:
        assert time.monotonic() < deadline, problem
        time.sleep(0.5)
    assert main(["--pid", str(worker.pid)]) == 0

    os.kill(worker.pid, signal.SIGSTOP)  # alive, but wedged
    problem = check(args)
    assert problem is not None and "did not answer a ping" in problem
    assert main(["--pid", str(worker.pid)]) == 1

    os.kill(worker.pid, signal.SIGCONT)
    assert check(args) is None


class _Flower(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthcheck" else 401)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *_: object) -> None:
        pass


def test_flower_is_healthy_while_its_page_answers() -> None:
    port = free_port()
    args = ["celery", "-A", "briefcast.pipeline.celery_app", "flower", f"--port={port}"]
    problem = check(args)
    assert problem is not None and f"127.0.0.1:{port}/healthcheck" in problem

    server = HTTPServer(("127.0.0.1", port), _Flower)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert check(args) is None
    finally:
        server.shutdown()
        server.server_close()
