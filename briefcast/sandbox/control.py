"""The raw ASGI middleware (recording, faults, chaos, dropped connections) and `/_sandbox/`.

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, HTTPException, Response
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefcast.sandbox import instagram_rules, linkedin_rules, openai_rules
from briefcast.sandbox.common import (
    CHAOS_OUTCOMES,
    RECORDED_HEADERS,
    Accounts,
    ChaosSpec,
    Fault,
    SandboxCore,
    summarize_body,
)

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


def chaos_fault(platform: str, core: SandboxCore, outcome: str, spec: ChaosSpec) -> Fault:
    """A chaos outcome as a one-off Fault, in the platform's own error envelope.

    Instagram (§2.10/§2.11): a 500 is the Graph "(#2) Service temporarily unavailable" and a
    throttle is code 4 "(#4) Application request limit reached" at HTTP 400, both
    `is_transient: true`. LinkedIn (§3.7): `{message, status}` 500, the captured 429 body.
    """
    if outcome == "commit_then_drop":
        return Fault(commit_then_drop=True)
    headers: dict[str, str] = {}
    if outcome == "status_429" and spec.retry_after_s is not None:
        headers["retry-after"] = f"{spec.retry_after_s:g}"
    body: Any
    if platform == "instagram":
        error = (
            instagram_rules.GraphError(
                2, "(#2) Service temporarily unavailable", is_transient=True, status=500
            )
            if outcome == "status_500"
            else instagram_rules.GraphError(
                4, "(#4) Application request limit reached", is_transient=True
            )
        )
        if outcome == "status_429":  # §2.11: the usage header Meta sends at 100%
            headers["x-app-usage"] = '{"call_count":100,"total_time":25,"total_cputime":25}'
        body = error.envelope(core.chaos.token(23))
        return Fault(status=error.status, body=body, headers=headers)
    if platform == "linkedin":
        if outcome == "status_429":
            throttled = linkedin_rules.throttled()
            return Fault(status=throttled.status, body=throttled.body, headers=headers)
        body = {"message": "Internal Server Error", "status": 500}  # §3.7 [I] envelope
        return Fault(status=500, body=body, headers=headers)
    # OpenAI (§1.6) envelopes, so a chaos spec on the copy sandbox is realistic too.
    if outcome == "status_429":
        err = openai_rules.OpenAIError(
            429, "Rate limit reached for requests", "requests", "rate_limit_exceeded"
        )
    else:
        err = openai_rules.OpenAIError(
            500, "The server had an error while processing your request.", "server_error"
        )
    return Fault(status=err.status, body=err.body, headers={**err.headers, **headers})


def platform_of(title: str) -> str:
    """Which envelope a chaos fault answers with: "Instagram Graph sandbox" → instagram."""
    return title.split(" ", 1)[0].lower()


class SandboxMiddleware:
    """Outermost ASGI layer: records every request and applies the next matching fault.

    A scripted fault wins; otherwise the chaos dice may turn the request into a fault.
    """

    def __init__(
        self,
        app: ASGIApp,
        core: SandboxCore,
        rewrite_path: Callable[[str], str] | None = None,
        platform: str = "",
    ) -> None:
        self.app = app
        self.core = core
        self.rewrite_path = rewrite_path
        self.platform = platform

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
        if fault is not None:
            record["fault"] = fault.id
        elif (drawn := self.core.chaos.draw(scope["method"], scope["path"])) is not None:
            record["chaos"] = drawn[0]
            fault = chaos_fault(self.platform, self.core, *drawn)
        if fault is None:
            await self.app(scope, replay, recording_send)
            return
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
        return SandboxMiddleware(
            super().build_middleware_stack(),
            self.core,
            self.rewrite_path,
            platform_of(self.title),
        )


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


class ChaosIn(BaseModel):
    path: str = ".*"
    method: str = "*"
    rates: dict[str, float] = Field(
        default_factory=dict, description=f"probability per outcome: {', '.join(CHAOS_OUTCOMES)}"
    )
    seed: int = 0
    retry_after_s: float | None = Field(default=None, ge=0)


class ClockIn(BaseModel):
    set: float | None = None  # epoch seconds; freezes the clock there
    advance_s: float | None = None
    unfreeze: bool = False


def control_router(
    core: SandboxCore,
    posts: Callable[[], list[dict[str, Any]]],
    reset_platform: Callable[[], None],
) -> APIRouter:
    """The test-only control surface (§0.2), identical for every sandbox."""
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
            core.chaos.clear()
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

    @router.get("/chaos")
    def get_chaos() -> dict[str, Any]:
        return core.chaos.snapshot()

    @router.post("/chaos", status_code=201)
    def start_chaos(spec: ChaosIn) -> dict[str, Any]:
        try:
            core.chaos.start(ChaosSpec(**spec.model_dump()))
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return core.chaos.snapshot()

    @router.delete("/chaos")
    def stop_chaos() -> dict[str, Any]:
        core.chaos.stop()  # the counts stay readable until a reset
        return core.chaos.snapshot()

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


def accounts_router(accounts: Accounts, field: str, shape: re.Pattern[str]) -> APIRouter:
    """`POST /_sandbox/accounts` `{"token": …, field: …}` adds an account the platform knows;
    `GET` lists the accounts (never the tokens). `field` names the account as the platform
    does: `user_id` (Instagram) or `author` (LinkedIn), which must match `shape`."""
    router = APIRouter(prefix=CONTROL_PREFIX)

    @router.post("/accounts", status_code=201)
    def register(body: dict[str, str], response: Response) -> dict[str, str]:
        token, account = body.get("token", ""), body.get(field, "")
        if not token or not shape.fullmatch(account):
            raise HTTPException(400, f"give a token and a {field} matching {shape.pattern}")
        try:
            new = accounts.register(token, account)
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc
        if not new:
            response.status_code = 200  # the same token and account again: nothing changed
        return {field: account}

    @router.get("/accounts")
    def listing() -> list[dict[str, Any]]:
        return [{field: a, "tokens": n} for a, n in accounts.tokens_per_account().items()]

    return router
