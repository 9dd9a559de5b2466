"""Run an ASGI app on a real socket in a daemon thread (tests, demos, `python -m`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp


@dataclass
class RunningServer:
    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout_s: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)


def serve_in_thread(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    start_timeout_s: float = 10.0,
    log_level: str = "warning",
) -> RunningServer:
    """Start uvicorn in a daemon thread and return once it accepts connections.

    Port 0 lets the OS pick a free port; `base_url` reports the real one.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"sandbox-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.01)
    sockets = server.servers[0].sockets
    bound_port = int(sockets[0].getsockname()[1])
    return RunningServer(server=server, thread=thread, host=host, port=bound_port)
