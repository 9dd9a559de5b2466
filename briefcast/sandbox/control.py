"""The raw ASGI middleware (recording, fault injection, dropped connections) and `/_sandbox/`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefcast.sandbox.common import RECORDED_HEADERS, Fault, SandboxCore, summarize_body

CONTROL_PREFIX = "/_sandbox"
RECORD_KEY = "briefcast.sandbox.record"
REDACTED = "<redacted>"


class ConnectionDropped(Exception):
    """Fallback when the server's transport is unreachable: fail mid-response instead."""


def current_record(scope: Scope) -> dict[str, Any]:
    """The record of the request being handled, so a handler can add platform ids to it."""
    record: dict[str, Any] = scope.get(RECORD_KEY, {})
    return record


async def _drop_connection(send: Send) -> None:
    # uvicorn's `send` is a bound method of its request cycle, which owns the socket transport.
    # Closing it before any response bytes gives the client a clean "server disconnected"
    # (httpx.RemoteProtocolError), the same thing a proxy or crash in production does.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("no transport to close")
    transport.close()
    # Let connection_lost run so uvicorn marks the cycle disconnected and sends no 500.
    for _ in range(3):
        await asyncio.sleep(0)


def _header_subset(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name in RECORDED_HEADERS:
            value = raw_value.decode("latin-1")
            if name == "authorization":  # keep the scheme and length, never the secret
                scheme, _, secret = value.partition(" ")
                value = f"{scheme} <{len(secret)} chars>"
            out[name] = value
    return out


class SandboxMiddleware:
    """Outermost ASGI layer: records every request and applies the next matching fault."""

    def __init__(
        self,
        app: ASGIApp,
        core: SandboxCore,
        rewrite_path: Callable[[str], str] | None = None,
    ) -> None:
        self.app = app
        self.core = core
        self.rewrite_path = rewrite_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = _header_subset(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "access_token" in query:  # a secret; its presence is all a test needs
            query["access_token"] = REDACTED
        record = self.core.records.add(
            {
                "at": self.core.clock.now(),
                "method": scope["method"],
                "path": scope["path"],
                "query": query,
                "headers": headers,
                "body": summarize_body(headers.get("content-type", ""), bytes(body)),
                "status": None,
                "outcome": "responded",
            }
        )
        if isinstance(record["body"], dict) and "access_token" in record["body"]:
            record["body"]["access_token"] = REDACTED
        scope = {**scope, RECORD_KEY: record}
        if self.rewrite_path is not None:
            scope["path"] = self.rewrite_path(scope["path"])
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
            await send(message)

        async def swallow(message: Message) -> None:
            if message["type"] == "http.response.start":
                record["status"] = message["status"]

        fault = self.core.faults.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, replay, recording_send)
            return
        record["fault"] = fault.id
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.drop:
            record["outcome"] = "dropped"
            await _drop_connection(send)
        elif fault.commit_then_drop:
            await self.app(scope, replay, swallow)
            record["outcome"] = "committed_then_dropped"
            await _drop_connection(send)
        elif fault.status is not None:
            record["outcome"] = "scripted"
            await _send_scripted(fault, recording_send)
        else:
            await self.app(scope, replay, recording_send)


class SandboxApp(FastAPI):
    """FastAPI with SandboxMiddleware outside Starlette's own error middleware.

    `app.add_middleware` would sit inside ServerErrorMiddleware, whose wrapped `send` hides
    uvicorn's transport, so dropping a connection needs the middleware at the very top.
    """

    def __init__(
        self, core: SandboxCore, rewrite_path: Callable[[str], str] | None = None, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.core = core
        self.rewrite_path = rewrite_path

    def build_middleware_stack(self) -> ASGIApp:
        return SandboxMiddleware(super().build_middleware_stack(), self.core, self.rewrite_path)


async def _send_scripted(fault: Fault, send: Send) -> None:
    payload = b"" if fault.body is None else json.dumps(fault.body).encode()
    headers = [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
    if payload and not any(k == b"content-type" for k, _ in headers):
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(payload)).encode()))
    assert fault.status is not None
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class FaultIn(BaseModel):
    path: str = ".*"
    method: str = "*"
    count: int = Field(default=1, ge=1)
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    latency_ms: int = Field(default=0, ge=0)
    drop: bool = False
    commit_then_drop: bool = False


class ClockIn(BaseModel):
    set: float | None = None  # epoch seconds; freezes the clock there
    advance_s: float | None = None
    unfreeze: bool = False


def control_router(
    core: SandboxCore,
    posts: Callable[[], list[dict[str, Any]]],
    reset_platform: Callable[[], None],
) -> APIRouter:
    """The test-only control surface (§0 rule 2), identical for every sandbox."""
    router = APIRouter(prefix=CONTROL_PREFIX)

    @router.get("/records")
    def list_records() -> list[dict[str, Any]]:
        return core.records.all()

    @router.get("/posts")
    def list_posts() -> list[dict[str, Any]]:
        return posts()

    @router.post("/reset")
    def reset() -> dict[str, bool]:
        with core.lock:
            core.records.clear()
            core.faults.clear()
            core.clock.reset()
            core.ids.reset()
            reset_platform()
        return {"ok": True}

    @router.get("/faults")
    def list_faults() -> list[dict[str, Any]]:
        return core.faults.pending()

    @router.post("/faults", status_code=201)
    def add_fault(spec: FaultIn) -> dict[str, Any]:
        try:
            fault = core.faults.add(Fault(**spec.model_dump()))
        except ValueError as exc:  # also re.error, a ValueError subclass
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return {"id": fault.id, "remaining": fault.count}

    @router.get("/clock")
    def get_clock() -> dict[str, float]:
        return {"now": core.clock.now()}

    @router.post("/clock")
    def set_clock(spec: ClockIn) -> dict[str, float]:
        if spec.unfreeze:
            core.clock.unfreeze()
        if spec.set is not None:
            core.clock.set(spec.set)
        if spec.advance_s is not None:
            core.clock.advance(spec.advance_s)
        return {"now": core.clock.now()}

    return router
