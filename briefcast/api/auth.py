"""JWT bearer auth: the token names the organization every request acts for, and the role.

A token is HS256 (settings), signed with one of the keys in `Settings.jwt_keyring`, which
its `kid` header names (none: the default key, JWT_SECRET's). It must carry `exp`, `iss`
(`jwt_issuer`), `aud` (`jwt_audience`), `sub`, `org` and `role`; anything else is a 401.
Several keys verify at once and the active one signs, so a key is rotated by adding the new
one, signing with it, and dropping the old one once the tokens it signed have expired.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from briefcast.api.errors import ApiError
from briefcast.settings import DEFAULT_JWT_KID, Settings

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub", "org", "role"]


class Role(StrEnum):
    """What a token may do; each role may do everything the ones below it may."""

    VIEWER = "viewer"  # read: runs, campaigns, brand voices, accounts, usage
    EDITOR = "editor"  # also submit briefs, campaigns, uploads, brand voices and reviews
    ADMIN = "admin"  # also connect platform accounts and set the budget

    def allows(self, needed: Role) -> bool:
        return _RANK[self] >= _RANK[needed]


_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    subject: str
    organization_id: uuid.UUID
    role: Role = Role.VIEWER


def create_token(
    settings: Settings,
    organization_id: uuid.UUID,
    subject: str = "cli",
    ttl_s: int = 7 * 86400,
    role: Role = Role.ADMIN,
) -> str:
    """A bearer token signed with the active key. Admin by default: it is what local tools
    (`briefcast token`, `briefcast dev`, the demo, benchmarks) mint for themselves."""
    now = datetime.now(UTC)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "org": str(organization_id),
        "role": Role(role).value,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    kid = settings.jwt_active_kid
    return jwt.encode(
        claims, settings.jwt_keyring[kid], settings.jwt_algorithm, headers={"kid": kid}
    )


def principal_from_header(settings: Settings, authorization: str | None) -> Principal:
    if not authorization:
        raise ApiError(401, "unauthorized", "A bearer token is required.", headers=_CHALLENGE)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401, "unauthorized", "Use 'Authorization: Bearer <token>'.", headers=_CHALLENGE
        )
    keyring = settings.jwt_keyring
    # Everything that decides whether a token verifies is part of the key: a rotated or
    # retired key, another issuer or audience verifies every token afresh.
    key = (
        token,
        settings.jwt_algorithm,
        settings.jwt_issuer,
        settings.jwt_audience,
        tuple(sorted(keyring.items())),
    )
    if (hit := _verified.get(key)) is not None:
        principal, expires_at = hit
        if time.time() < expires_at:
            return principal
        _verified.pop(key, None)
        raise _expired()
    try:
        # No `kid`: the default key (JWT_SECRET's), so tokens made without one still verify
        # as long as that key is in use.
        kid = jwt.get_unverified_header(token).get("kid", DEFAULT_JWT_KID)
        secret = keyring.get(kid) if isinstance(kid, str) else None
        if secret is None:
            raise jwt.InvalidKeyError("no such signing key")
        claims = jwt.decode(
            token,
            secret,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": _REQUIRED_CLAIMS},
        )
        principal = Principal(
            subject=str(claims["sub"]),
            organization_id=uuid.UUID(claims["org"]),
            role=Role(claims["role"]),
        )
        expires_at = float(claims["exp"])
    except jwt.ExpiredSignatureError as exc:
        raise _expired() from exc
    except (jwt.InvalidTokenError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise ApiError(401, "invalid_token", "The token is not valid.", headers=_CHALLENGE) from exc
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[key] = (principal, expires_at)
    return principal


def forbidden_role(principal: Principal, needed: Role) -> ApiError:
    return ApiError(
        403,
        "forbidden_role",
        f"This needs the {needed.value} role; the token's role is {principal.role.value}.",
        {"required_role": needed.value, "role": principal.role.value},
    )


def _expired() -> ApiError:
    return ApiError(401, "token_expired", "The token has expired.", headers=_CHALLENGE)


# Tokens already verified, by (token, and every setting verification depends on): a client
# sends the same token with every request, and checking its signature again costs more than
# the rest of the auth. Only a token that verified is remembered, and its expiry is checked
# on every use.
_VERIFIED_MAX = 4096
_verified: dict[tuple[object, ...], tuple[Principal, float]] = {}
