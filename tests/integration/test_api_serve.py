"""`python -m briefcast.api.serve` with several workers: connections accepted with Nagle's
algorithm off, and a burst of connections spread over the workers."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request

from briefcast.embedded import free_port
from briefcast.stack import api_command
from tests.live import ROOT

pytestmark = pytest.mark.integration


def pid_app() -> FastAPI:
    """Which worker process answered, and how its end of the connection is set."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, int]:
        return {"pid": os.getpid()}

    @app.get("/nodelay")
    async def nodelay(request: Request) -> dict[str, int]:
        # ASGI hides the transport; find this connection's among the process's objects.
        peer = tuple(request.scope["client"])
        for obj in gc.get_objects():
            if isinstance(obj, asyncio.Transport) and obj.get_extra_info("peername") == peer:
                sock = obj.get_extra_info("socket")
                return {"nodelay": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)}
        return {"nodelay": -1}

    return app


@pytest.fixture(scope="module")
def two_workers() -> Iterator[str]:
    port = free_port()
    command = api_command("tests.integration.test_api_serve:pid_app", port, workers=2)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(  # noqa: S603 - our own command
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        pids: set[int] = set()
        while len(pids) < 2:  # both workers up (each answers eventually)
            assert child.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the workers did not come up"
            try:
                pids.add(httpx.get(f"{url}/health", timeout=1).json()["pid"])
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(child.pid, 15)
        child.wait(15)


def test_accepted_connections_have_nagles_algorithm_off(two_workers: str) -> None:
    # With it on, each keep-alive request after a connection's first waits ~40 ms for a
    # delayed ACK. Several connections, so that both workers answer.
    for _ in range(6):
        with httpx.Client(base_url=two_workers) as client:
            assert client.get("/nodelay").json() == {"nodelay": 1}


def test_a_burst_of_connections_is_spread_over_the_workers(two_workers: str) -> None:
    async def pids() -> list[int]:
        async def one() -> int:
            async with httpx.AsyncClient(base_url=two_workers) as client:
                return int((await client.get("/health")).json()["pid"])

        return await asyncio.gather(*(one() for _ in range(16)))

    answered = asyncio.run(pids())
    # Before, whichever worker woke first accepted the whole burst.
    assert len(set(answered)) == 2, answered


def test_a_second_server_on_the_same_port_is_refused(two_workers: str) -> None:
    """SO_REUSEPORT would let it share the port; the supervisor checks first, as uvicorn's
    own bind would refuse."""
    port = int(two_workers.rsplit(":", 1)[1])
    command = api_command("tests.integration.test_api_serve:pid_app", port, workers=2)
    second = subprocess.run(  # noqa: S603 - our own command
        command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert second.returncode != 0
    assert b"address already in use" in second.stderr.lower()
