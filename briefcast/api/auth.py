"""JWT bearer auth: the token names the organization every request acts for."""

from __future__ import annotations

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
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub", "org"]},
        )
        return Principal(subject=str(claims["sub"]), organization_id=uuid.UUID(claims["org"]))
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(401, "token_expired", "The token has expired.", headers=_CHALLENGE) from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise ApiError(401, "invalid_token", "The token is not valid.", headers=_CHALLENGE) from exc
