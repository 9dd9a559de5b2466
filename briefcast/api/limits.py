"""A request-body size cap, enforced while the body streams in (not only by Content-Length).

Bodies are small (tens of kilobytes; megabytes for image uploads), so the middleware reads
the whole body first and answers 413 before the app sees any of it; the app then gets the
buffered body.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefcast.api.errors import error_body


class BodySizeLimit:
    """`max_bytes` for every body, except paths matching a larger `upload_paths` allowance."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_bytes: int | None = None,
        upload_paths: re.Pattern[str] | None = None,
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if self.upload_paths is not None and self.upload_paths.fullmatch(scope["path"]):
            limit = self.upload_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        buffered: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return buffered
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send, limit: int) -> None:
        body = json.dumps(
            error_body(
                "payload_too_large",
                f"The request body is over the limit of {limit} bytes.",
                {"max_bytes": limit},
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
