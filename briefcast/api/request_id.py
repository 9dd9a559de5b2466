"""A request id on every answer (`X-Request-ID`) and on every log line of the request.

An incoming `X-Request-ID` (a load balancer's or a client's) is kept when it is sane: 1 to
128 characters of letters, digits and `-_.:@+=/`, the characters trace and request ids use.
Anything else (too long, control characters, spaces, quotes that would break a log line) is
replaced by a fresh id. The id is bound into structlog's context variables for the request,
so each line logged while it runs carries `request_id`, and it is what `current_request_id()`
returns, which the brief intake stores with the run so the workers' lines carry it too.

Plain ASGI (Starlette's BaseHTTPMiddleware costs the ingress throughput): one header lookup,
one context variable, one header appended.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
MAX_LENGTH = 128
_SANE = re.compile(rb"[A-Za-z0-9\-_.:@+=/]{1,%d}" % MAX_LENGTH)
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered (None outside one)."""
    return _request_id.get()


def sane_request_id(raw: bytes | None) -> str:
    """`raw` when it is an acceptable request id, else a new one."""
    if raw is not None and _SANE.fullmatch(raw):
        return raw.decode("ascii")
    return uuid.uuid4().hex


class RequestId:
    """Outermost layer of the app: reads or makes the id, binds it, echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == HEADER:  # ASGI servers give header names in lower case
                incoming = value
                break
        request_id = sane_request_id(incoming)
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        # Not reset on the way out: ASGI servers run each request in a task of its own, whose
        # context ends with it, and the server's own lines about this request (uvicorn's access
        # line, its traceback of an unhandled error) are logged after the app returns.
        _request_id.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        await self.app(scope, receive, send_with_id)
