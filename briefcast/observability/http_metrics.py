"""Request counts and latency for the API, by route template: a pure ASGI middleware.

prometheus-fastapi-instrumentator does the same and more, but on every request it builds a
Starlette Request and Response, matches the path against every route a second time and
gathers async hooks; the ingress is benchmarked, so this reads the route Starlette's router
already matched (`scope["route"]`, its template, so `/api/v1/runs/{run_id}` is one series)
and updates one counter and one histogram child, cached per label set.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefcast.observability.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route (404s, answers from middleware): never the raw path


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # what the client gets when an exception escapes

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            key = (method, route, status)
            children = self._children.get(key)
            if children is None:
                labels = (method, route, str(status))
                children = (HTTP_REQUESTS.labels(*labels), HTTP_REQUEST_SECONDS.labels(*labels))
                self._children[key] = children
            children[0].inc()
            children[1].observe(perf_counter() - started)
