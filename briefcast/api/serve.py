"""`python -m briefcast.api.serve …`: uvicorn's own command line, with two fixes for `--workers`.

Both were found with `python -m bench.ingress` (hello-world app, 2 workers) and both concern
the listening socket uvicorn's supervisor binds and hands to its worker processes:

1. TCP_NODELAY. uvicorn binds that socket with `proto` 0; accepted sockets inherit it, and
   asyncio turns on TCP_NODELAY only for sockets that say IPPROTO_TCP. So Nagle stays on and
   every keep-alive request after a connection's first waits out the client's delayed ACK,
   about 40 ms on Linux (uvicorn issue #3149, open at the time of writing): 22 req/s on one
   keep-alive connection with `--workers 2`, 2,600 with `--workers 1`.
2. Spreading connections. Every worker waits on that one socket, and asyncio accepts up to
   `backlog` (2,048) connections per wake-up, so whichever worker wakes first takes a whole
   burst: 16 keep-alive connections opened at once all landed on one worker while the other
   idled, for as long as the connections lived. Here each worker listens on a socket of its
   own, bound to the same address with SO_REUSEPORT, and the kernel spreads new connections
   over them (by a hash of the client's address and port), as nginx and gunicorn's
   `--reuse-port` do. So that a second server cannot quietly share the port the way
   SO_REUSEPORT would allow, the supervisor first checks that nobody listens there.

Everything else is uvicorn, arguments included; with one worker uvicorn binds by itself and
none of this applies. The worker processes are spawned and import this module again (as
`__mp_main__`), which installs the worker half there.
"""

from __future__ import annotations

import logging
import socket
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.main import main as uvicorn_main
from uvicorn.server import Server

logger = logging.getLogger("uvicorn.error")
_bind_socket = Config.bind_socket
_startup = Server.startup


def _tcp_proto(sock: socket.socket) -> socket.socket:
    """The same descriptor as a socket that says IPPROTO_TCP (a no-op for Unix sockets)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    inheritable = sock.get_inheritable()
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.set_inheritable(inheritable)
    return fixed


def _reuseport_socket(family: socket.AddressFamily, address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _is_shared_tcp(sock: socket.socket) -> bool:
    return sock.family in (socket.AF_INET, socket.AF_INET6) and bool(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    )


def _bind_for_workers(self: Config) -> socket.socket:
    """The supervisor's socket: for several workers on TCP, bound with SO_REUSEPORT (each
    worker binds its own beside it); otherwise uvicorn's, as IPPROTO_TCP."""
    if self.workers <= 1 or self.uds is not None or self.fd is not None:
        return _tcp_proto(_bind_socket(self))
    family = socket.AF_INET6 if self.host and ":" in self.host else socket.AF_INET
    address = (self.host, self.port)
    try:
        # Fails if anything listens here, with or without SO_REUSEPORT (as uvicorn would).
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
        sock = _reuseport_socket(family, address)
    except OSError as exc:
        logger.error(exc)
        sys.exit(STARTUP_FAILURE)
    host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
    scheme = "https" if self.is_ssl else "http"
    port = sock.getsockname()[1]
    logger.info("Uvicorn running on %s://%s:%d (Press CTRL+C to quit)", scheme, host, port)
    sock.set_inheritable(True)
    return sock


async def _startup_on_own_socket(self: Server, sockets: list[socket.socket] | None = None) -> None:
    """A worker listens on a socket of its own beside the supervisor's (SO_REUSEPORT)."""
    if sockets and self.config.workers > 1:
        sockets = [
            _reuseport_socket(sock.family, sock.getsockname()[:2]) if _is_shared_tcp(sock) else sock
            for sock in sockets
        ]
    await _startup(self, sockets=sockets)


def install() -> None:
    # Replacing uvicorn's own methods is the fix (see above); mypy refuses method assignment.
    Config.bind_socket = _bind_for_workers  # type: ignore[method-assign]
    Server.startup = _startup_on_own_socket  # type: ignore[method-assign]


install()  # at import: in the supervisor, and in each spawned worker process


def main() -> None:
    from briefcast.logs import configure_logging  # the workers' is in create_app

    configure_logging()
    uvicorn_main()


if __name__ == "__main__":
    main()
