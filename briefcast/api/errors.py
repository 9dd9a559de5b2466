"""One error body everywhere: {"error_code", "message", "timestamp", "details"}."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

log = structlog.get_logger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        error_code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.message = message
        self.details = details
        self.headers = headers


def error_body(error_code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "error_code": error_code,
        "message": message,
        "timestamp": datetime.now(UTC).isoformat(),
        "details": details if details is not None else {},
    }


def error_response(
    status_code: int,
    error_code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(error_code, message, details), status_code=status_code, headers=headers
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.error_code, exc.message, exc.details, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {
            "field": ".".join(str(part) for part in err["loc"] if part != "body"),
            "problem": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors()
    ]
    return error_response(422, "validation_error", "The request is not valid.", {"fields": fields})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to. Starlette's 405 names only the first route that
    matched the path, and FastAPI makes one route per method, so its Allow is partial."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("api.unhandled", error=type(exc).__name__)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


# ---- the OpenAPI document says every error a route can answer ------------------------------


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error_code: str
    message: str
    timestamp: datetime
    details: Any


def error_responses(by_status: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries: status -> the error codes it carries."""
    return {
        status: {"model": ErrorOut, "description": f"error_code: {codes}"}
        for status, codes in by_status.items()
    }


# What any API route may answer, whatever it does: no or a bad token, a request the schema
# refuses. (A role's 403 and a limit's 429 are documented where they apply: roles.py,
# ratelimit.py.)
COMMON_ERRORS = {401: "unauthorized, invalid_token, token_expired", 422: "validation_error"}
# What a route with a body may answer besides: a body that is not JSON, or too large.
BODY_ERRORS = {400: "bad_request", 413: "payload_too_large", 415: "unsupported_media_type"}
# What a route naming a resource by id may answer besides.
ID_ERRORS = {404: "not_found (with the resource's own code)"}


def document_errors(routes: Iterable[BaseRoute]) -> None:
    """Add the errors every API route shares to its documented answers (call it on
    `app.routes` last); what a route already documents (its 404 and 409 codes, its role's
    403, its limit's 429, with their names) wins over these defaults."""
    for route in routes:
        if (included := getattr(route, "original_router", None)) is not None:
            document_errors(included.routes)  # FastAPI keeps an included router as one route
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        shared = dict(COMMON_ERRORS)
        if (route.methods or set()) & {"POST", "PUT", "PATCH"}:
            shared |= BODY_ERRORS
        if "{" in route.path:
            shared |= ID_ERRORS
        route.responses = {**error_responses(shared), **route.responses}
