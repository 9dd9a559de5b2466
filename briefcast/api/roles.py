"""Roles at the routes: viewers read, editors write content, admins connect accounts and money.

A route that needs more than reading names its role first among its decorator's
dependencies (`dependencies=[EDITOR, …]`, before any rate limit: a refused role is not
counted), and `document_roles(app.routes)` puts the 403 in its OpenAPI answers. Every valid token
reads, so reading routes need nothing beyond the principal. The role check shares the
request's principal with the route (FastAPI resolves it once), so it costs no second token
check.

| role   | may                                                                  |
|--------|----------------------------------------------------------------------|
| viewer | GET anything of its organization                                     |
| editor | also POST briefs, campaigns (and their items, pause, resume, PATCH,  |
|        | DELETE), brand voices, uploads and logos, reviews                    |
| admin  | also PUT /api/v1/accounts/{platform} and PUT /api/v1/usage/budget    |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from typing import Any

from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from briefcast.api.auth import Principal, Role, forbidden_role
from briefcast.api.deps import PrincipalDep

RoleCheck = Callable[[Principal], Awaitable[Principal]]


@cache
def _role_check(role: Role) -> RoleCheck:
    async def check(principal: PrincipalDep) -> Principal:
        if not principal.role.allows(role):
            raise forbidden_role(principal, role)
        return principal

    check.__name__ = check.__qualname__ = f"require_{role.value}"
    return check


def require_role(role: Role | str) -> DependsParam:
    """The dependency for a route decorator's `dependencies=[…]`: 403 `forbidden_role`
    unless the token's role is `role` or above."""
    # What `fastapi.Depends()` builds; that helper is typed `-> Any` for use as a default.
    return DependsParam(_role_check(Role(role)))


EDITOR = require_role(Role.EDITOR)
ADMIN = require_role(Role.ADMIN)

_FORBIDDEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error_code", "message", "timestamp", "details"],
    "properties": {
        "error_code": {"type": "string", "example": "forbidden_role"},
        "message": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "details": {
            "type": "object",
            "properties": {"required_role": {"type": "string"}, "role": {"type": "string"}},
        },
    },
}


def document_roles(routes: Iterable[BaseRoute]) -> None:
    """Name the 403 `forbidden_role` in the OpenAPI answers of every route that needs a role
    (call it on `app.routes` before the first request; it may be called again)."""
    checks = {_role_check(role): role for role in Role}
    for route in routes:
        if (included := getattr(route, "original_router", None)) is not None:
            document_roles(included.routes)  # FastAPI keeps an included router as one route
        if not isinstance(route, APIRoute):
            continue
        needed = [checks[d.dependency] for d in route.dependencies if d.dependency in checks]
        if not needed:
            continue
        codes = f"forbidden_role (needs the {needed[0].value} role)"
        existing = route.responses.get(403)
        if existing is not None:  # e.g. unknown_organization: keep it, add ours
            described = str(existing.get("description", ""))
            if "forbidden_role" not in described:  # a copy: routers share these dicts
                route.responses[403] = {**existing, "description": f"{described}, {codes}"}
        else:
            route.responses[403] = {
                "description": f"error_code: {codes}",
                "content": {"application/json": {"schema": _FORBIDDEN_SCHEMA}},
            }
