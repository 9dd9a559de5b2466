"""JWT bearer auth: round trip and every refusal is a 401 ApiError with a specific code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr

from briefcast.api.auth import create_token, principal_from_header
from briefcast.api.errors import ApiError
from briefcast.settings import Settings

SECRET = "unit-test-secret-" + "0123456789abcdef" * 4
ORG = uuid.UUID("6f1c8a52-3d0e-4b1e-9d4f-0a1b2c3d4e5f")


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, environment="test", jwt_secret=SecretStr(SECRET))


def refused(settings: Settings, header: str | None) -> ApiError:
    with pytest.raises(ApiError) as info:
        principal_from_header(settings, header)
    err = info.value
    assert err.status_code == 401
    assert err.headers == {"WWW-Authenticate": "Bearer"}
    return err


def test_round_trip(settings: Settings) -> None:
    token = create_token(settings, ORG, subject="alice")
    principal = principal_from_header(settings, f"Bearer {token}")
    assert principal.organization_id == ORG
    assert principal.subject == "alice"


def test_scheme_is_case_insensitive(settings: Settings) -> None:
    token = create_token(settings, ORG)
    assert principal_from_header(settings, f"bearer {token}").organization_id == ORG


def test_token_claims(settings: Settings) -> None:
    token = create_token(settings, ORG, ttl_s=120)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["org"] == str(ORG)
    assert claims["sub"] == "cli"
    assert 110 <= claims["exp"] - claims["iat"] <= 130


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header(settings: Settings, header: str | None) -> None:
    assert refused(settings, header).error_code == "unauthorized"


@pytest.mark.parametrize("scheme", ["Basic", "Token", "JWT"])
def test_wrong_scheme(settings: Settings, scheme: str) -> None:
    token = create_token(settings, ORG)
    assert refused(settings, f"{scheme} {token}").error_code == "unauthorized"


def test_bearer_without_token(settings: Settings) -> None:
    assert refused(settings, "Bearer").error_code == "unauthorized"
    assert refused(settings, "Bearer ").error_code == "unauthorized"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_garbage_token(settings: Settings, token: str) -> None:
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_wrong_secret(settings: Settings) -> None:
    other = Settings(_env_file=None, jwt_secret=SecretStr("another-secret-" + "x" * 32))
    token = create_token(other, ORG)
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_expired_token(settings: Settings) -> None:
    token = create_token(settings, ORG, ttl_s=-10)
    assert refused(settings, f"Bearer {token}").error_code == "token_expired"


def _signed(claims: dict[str, object], algorithm: str = "HS256") -> str:
    return jwt.encode(claims, SECRET, algorithm)


def test_token_without_org_claim(settings: Settings) -> None:
    exp = datetime.now(UTC) + timedelta(minutes=5)
    token = _signed({"sub": "alice", "exp": exp})
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_token_without_exp_claim(settings: Settings) -> None:
    token = _signed({"sub": "alice", "org": str(ORG)})
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_token_with_non_uuid_org(settings: Settings) -> None:
    exp = datetime.now(UTC) + timedelta(minutes=5)
    token = _signed({"sub": "alice", "org": "acme", "exp": exp})
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_other_algorithm_refused(settings: Settings) -> None:
    exp = datetime.now(UTC) + timedelta(minutes=5)
    token = _signed({"sub": "alice", "org": str(ORG), "exp": exp}, algorithm="HS512")
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_unsigned_token_refused(settings: Settings) -> None:
    exp = datetime.now(UTC) + timedelta(minutes=5)
    token = jwt.encode({"sub": "a", "org": str(ORG), "exp": exp}, "", algorithm="none")
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_a_verified_token_is_remembered_until_it_expires(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = create_token(settings, ORG, ttl_s=60)
    calls = 0
    decode = jwt.decode

    def counting_decode(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting_decode)
    for _ in range(3):
        assert principal_from_header(settings, f"Bearer {token}").organization_id == ORG
    assert calls == 1
    # Past its expiry the remembered token is refused like any expired one.
    later = datetime.now(UTC).timestamp() + 61
    monkeypatch.setattr("briefcast.api.auth.time.time", lambda: later)
    assert refused(settings, f"Bearer {token}").error_code == "token_expired"


def test_a_remembered_token_is_checked_again_under_another_secret(settings: Settings) -> None:
    token = create_token(settings, ORG)
    assert principal_from_header(settings, f"Bearer {token}").organization_id == ORG
    rotated = Settings(_env_file=None, jwt_secret=SecretStr("rotated-secret-" + "y" * 32))
    assert refused(rotated, f"Bearer {token}").error_code == "invalid_token"
