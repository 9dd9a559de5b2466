"""The API's server command: one command for `briefcast dev`, the benchmark and the image."""

from __future__ import annotations

import socket
import sys

import pytest

from briefcast.api.serve import _tcp_proto
from briefcast.stack import api_command, api_workers


def test_api_workers_default_to_the_cpus_this_process_may_use() -> None:
    import os

    assert api_workers({}) == len(os.sched_getaffinity(0))
    assert api_workers({"API_WORKERS": ""}) == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(("value", "workers"), [("3", 3), (" 1 ", 1), ("0", 1)])
def test_api_workers_from_the_environment(value: str, workers: int) -> None:
    assert api_workers({"API_WORKERS": value}) == workers


def test_the_api_command_is_uvicorns_with_workers_and_no_access_log() -> None:
    command = api_command("briefcast.api.app:create_app", 8123, workers=4)
    assert command[:3] == [sys.executable, "-m", "briefcast.api.serve"]
    assert command[3:] == [
        "briefcast.api.app:create_app", "--factory", "--host", "127.0.0.1", "--port", "8123",
        "--no-access-log", "--workers", "4",
    ]  # fmt: skip


def test_a_bound_socket_is_rewrapped_as_tcp_so_asyncio_sets_nodelay() -> None:
    sock = socket.socket(socket.AF_INET)  # what uvicorn's bind_socket makes: proto 0
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    address, fd = sock.getsockname(), sock.fileno()
    assert sock.proto == 0
    fixed = _tcp_proto(sock)
    try:
        assert fixed.proto == socket.IPPROTO_TCP
        assert (fixed.fileno(), fixed.getsockname()) == (fd, address)
        assert fixed.get_inheritable()
        assert _tcp_proto(fixed) is fixed
    finally:
        fixed.close()


def test_a_unix_socket_is_left_alone() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    try:
        assert _tcp_proto(left) is left
    finally:
        left.close()
        right.close()
