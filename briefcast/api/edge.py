"""The API's edge: security headers on every answer, CORS and trusted hosts.

All of it is plain ASGI (Starlette's BaseHTTPMiddleware would cost the ingress throughput).
The headers are set by `SecureFastAPI` outside every other layer, Starlette's
ServerErrorMiddleware included, so a 500, a 404 and a 413 carry them as an answer does.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefcast.api.errors import error_response
from briefcast.api.request_id import RequestId
from briefcast.observability.http_metrics import RequestMetrics
from briefcast.settings import Settings, get_settings

# JSON answers need nothing from a browser: no script, style, frame or form.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# /docs (Swagger UI) and /redoc: FastAPI's pages load their scripts and styles from the
# jsDelivr CDN, start them with an inline script, and ReDoc uses Google Fonts and a blob:
# worker. Only these pages get this policy.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src https://fonts.gstatic.com; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HSTS = "max-age=63072000; includeSubDomains"  # two years; production (HTTPS) only

CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_EXPOSE = ["Location", "Retry-After", "Idempotent-Replayed", "X-Request-ID"]


class SecurityHeaders:
    """Adds the security headers to every HTTP answer (those the app set itself stay)."""

    def __init__(self, app: ASGIApp, *, hsts: bool, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if hsts:
            common.append((b"strict-transport-security", HSTS.encode()))
        self.api_headers = [*common, (b"content-security-policy", API_CSP.encode())]
        self.docs_headers = [*common, (b"content-security-policy", DOCS_CSP.encode())]
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs_headers if scope["path"] in self.docs_paths else self.api_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SecureFastAPI(FastAPI):
    """FastAPI with layers outside Starlette's own error handling, so that even the 500 it
    answers for an unhandled exception has them: the security headers, the request id, and
    the request's count and time (outermost, so every answer is counted with its full time).
    """

    def build_middleware_stack(self) -> ASGIApp:
        settings = get_settings()
        docs = [self.docs_url, self.redoc_url]
        if self.docs_url:
            docs.append(self.swagger_ui_oauth2_redirect_url)
        secured = SecurityHeaders(
            super().build_middleware_stack(),
            hsts=settings.environment == "production",
            docs_paths=[path for path in docs if path],
        )
        return RequestMetrics(RequestId(secured))


def install_edge(app: FastAPI, settings: Settings) -> None:
    """CORS when origins are allowed, and trusted hosts in production. Call it after the
    other middleware: what is added last runs first."""
    if settings.cors_allow_origins:
        # Bearer tokens, no cookies: credentials stay off.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSE,
            max_age=600,
        )
    if settings.environment == "production":
        hosts = settings.allowed_hosts or [urlsplit(settings.public_base_url).hostname or ""]
        app.add_middleware(TrustedHosts, allowed_hosts=hosts)


class TrustedHosts:
    """Answer only requests whose Host is listed ("*.example.com" for a domain's hosts), as
    Starlette's TrustedHostMiddleware does, but refusing with the API's error body instead of
    plain text, and without its www redirect, which an API has no use for."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.exact = {h.lower() for h in allowed_hosts if not h.startswith("*.")}
        self.suffixes = tuple(h[1:].lower() for h in allowed_hosts if h.startswith("*."))

    def allows(self, host_header: str | None) -> bool:
        try:
            host = urlsplit(f"//{host_header}").hostname if host_header else None
        except ValueError:  # a port that is not a number, an unclosed IPv6 bracket
            return False
        return host is not None and (host in self.exact or host.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.allows(
            Headers(scope=scope).get("host")
        ):
            await self.app(scope, receive, send)
            return
        refused = error_response(
            400, "invalid_host", "The Host header names no host this API answers for."
        )
        await refused(scope, receive, send)
