"""JWT bearer auth: the token names the organization every request acts for."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from briefcast.api.errors import ApiError
from briefcast.settings import Settings

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    subject: str
    organization_id: uuid.UUID


def create_token(
    settings: Settings, organization_id: uuid.UUID, subject: str = "cli", ttl_s: int = 7 * 86400
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "org": str(organization_id),
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)


def principal_from_header(settings: Settings, authorization: str | None) -> Principal:
    if not authorization:
        raise ApiError(401, "unauthorized", "A bearer token is required.", headers=_CHALLENGE)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401, "unauthorized", "Use 'Authorization: Bearer <token>'.", headers=_CHALLENGE
        )
    secret = settings.jwt_secret.get_secret_value()
    key = (token, secret, settings.jwt_algorithm)
    if (hit := _verified.get(key)) is not None:
        principal, expires_at = hit
        if time.time() < expires_at:
            return principal
        _verified.pop(key, None)
        raise _expired()
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub", "org"]},
        )
        principal = Principal(subject=str(claims["sub"]), organization_id=uuid.UUID(claims["org"]))
        expires_at = float(claims["exp"])
    except jwt.ExpiredSignatureError as exc:
        raise _expired() from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise ApiError(401, "invalid_token", "The token is not valid.", headers=_CHALLENGE) from exc
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[key] = (principal, expires_at)
    return principal


def _expired() -> ApiError:
    return ApiError(401, "token_expired", "The token has expired.", headers=_CHALLENGE)


# Tokens already verified, by (token, secret, algorithm): a client sends the same token with
# every request, and checking its signature again costs more than the rest of the auth. Only
# a token that verified is remembered, and its expiry is checked on every use; the secret is
# part of the key, so a rotated secret verifies every token afresh.
_VERIFIED_MAX = 4096
_verified: dict[tuple[str, str, str], tuple[Principal, float]] = {}
