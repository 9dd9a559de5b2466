"""JWT bearer auth: round trip, every refusal a 401 ApiError with a specific code, roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from pydantic import SecretStr, ValidationError

from briefcast.api.auth import Role, create_token, principal_from_header
from briefcast.api.errors import ApiError
from briefcast.settings import DEFAULT_JWT_KID, Settings

SECRET = "unit-test-secret-" + "0123456789abcdef" * 4
ORG = uuid.UUID("6f1c8a52-3d0e-4b1e-9d4f-0a1b2c3d4e5f")
ISSUER, AUDIENCE = "briefcast", "briefcast-api"  # the defaults


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
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
    assert claims["org"] == str(ORG)
    assert claims["sub"] == "cli"
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
    assert claims["role"] == "admin"  # what local tools mint for themselves
    assert 110 <= claims["exp"] - claims["iat"] <= 130
    assert jwt.get_unverified_header(token)["kid"] == DEFAULT_JWT_KID


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


def _claims(**changes: object) -> dict[str, object]:
    """A valid token's claims, with `changes` (None: leave that claim out)."""
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "org": str(ORG),
        "role": "editor",
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(
    claims: dict[str, object],
    algorithm: str = "HS256",
    kid: str | None = DEFAULT_JWT_KID,
    secret: str = SECRET,
) -> str:
    return jwt.encode(claims, secret, algorithm, headers=None if kid is None else {"kid": kid})


def test_a_token_made_by_hand_like_ours_is_accepted(settings: Settings) -> None:
    # The control for the refusals below: each changes exactly one thing of this token.
    principal = principal_from_header(settings, f"Bearer {_signed(_claims())}")
    assert (principal.organization_id, principal.role) == (ORG, Role.EDITOR)


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub", "org", "role"])
def test_a_token_without_a_required_claim_is_refused(settings: Settings, claim: str) -> None:
    token = _signed(_claims(**{claim: None}))
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_a_token_for_another_audience_is_refused(settings: Settings) -> None:
    token = _signed(_claims(aud="someone-else"))
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_a_token_from_another_issuer_is_refused(settings: Settings) -> None:
    token = _signed(_claims(iss="https://issuer.example.com"))
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_a_token_minted_under_other_settings_is_refused(settings: Settings) -> None:
    elsewhere = settings.model_copy(update={"jwt_audience": "staging-api"})
    token = create_token(elsewhere, ORG)
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_a_token_with_an_unknown_role_is_refused(settings: Settings) -> None:
    token = _signed(_claims(role="owner"))
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_a_token_with_an_unknown_kid_is_refused(settings: Settings) -> None:
    token = _signed(_claims(), kid="2020-01")
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_a_token_without_a_kid_is_verified_with_the_default_key(
    settings: Settings, rotating: Settings
) -> None:
    token = _signed(_claims(), kid=None)
    assert principal_from_header(settings, f"Bearer {token}").organization_id == ORG
    # Once JWT_KEYS replaces the single secret, there is no default key to try.
    assert refused(rotating, f"Bearer {token}").error_code == "invalid_token"


def test_token_with_non_uuid_org(settings: Settings) -> None:
    token = _signed(_claims(org="acme"))
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_other_algorithm_refused(settings: Settings) -> None:
    token = _signed(_claims(), algorithm="HS512")
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


def test_unsigned_token_refused(settings: Settings) -> None:
    token = jwt.encode(_claims(), "", algorithm="none", headers={"kid": DEFAULT_JWT_KID})
    assert refused(settings, f"Bearer {token}").error_code == "invalid_token"


OLD_KEY, NEW_KEY = "old-key-" + "a" * 40, "new-key-" + "b" * 40


@pytest.fixture
def rotating() -> Settings:
    """Mid-rotation: two keys verify, the new one signs."""
    keys = {"2026-01": SecretStr(OLD_KEY), "2026-07": SecretStr(NEW_KEY)}
    return Settings(_env_file=None, environment="test", jwt_keys=keys, jwt_active_kid="2026-07")


def test_new_tokens_are_signed_with_the_active_key(rotating: Settings) -> None:
    token = create_token(rotating, ORG)
    assert jwt.get_unverified_header(token)["kid"] == "2026-07"
    jwt.decode(token, NEW_KEY, algorithms=["HS256"], audience=AUDIENCE)  # raises if not
    assert principal_from_header(rotating, f"Bearer {token}").organization_id == ORG


def test_a_token_signed_with_the_other_listed_key_is_accepted(rotating: Settings) -> None:
    token = _signed(_claims(), kid="2026-01", secret=OLD_KEY)
    assert principal_from_header(rotating, f"Bearer {token}").organization_id == ORG


def test_a_token_naming_one_key_but_signed_with_another_is_refused(rotating: Settings) -> None:
    token = _signed(_claims(), kid="2026-07", secret=OLD_KEY)
    assert refused(rotating, f"Bearer {token}").error_code == "invalid_token"


def test_a_retired_key_no_longer_verifies_even_a_remembered_token(rotating: Settings) -> None:
    token = _signed(_claims(), kid="2026-01", secret=OLD_KEY)
    assert principal_from_header(rotating, f"Bearer {token}").organization_id == ORG
    retired = rotating.model_copy(update={"jwt_keys": {"2026-07": SecretStr(NEW_KEY)}})
    assert refused(retired, f"Bearer {token}").error_code == "invalid_token"


def test_the_single_secret_is_the_default_key(settings: Settings) -> None:
    assert settings.jwt_keyring == {DEFAULT_JWT_KID: SECRET}
    assert settings.jwt_active_kid == DEFAULT_JWT_KID


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.EDITOR, False),
        (Role.EDITOR, Role.EDITOR, True),
        (Role.EDITOR, Role.ADMIN, False),
        (Role.ADMIN, Role.EDITOR, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_roles_are_ordered(role: Role, needed: Role, allowed: bool) -> None:
    assert role.allows(needed) is allowed


def test_the_role_travels_in_the_token(settings: Settings) -> None:
    token = create_token(settings, ORG, role=Role.VIEWER)
    assert principal_from_header(settings, f"Bearer {token}").role is Role.VIEWER


def test_a_verified_token_is_remembered_until_it_expires(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = create_token(settings, ORG, ttl_s=60)
    calls = 0
    decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> dict[str, Any]:  # passes all through
        nonlocal calls
        calls += 1
        return decode(*args, **kwargs)

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


def test_the_active_kid_must_name_a_key() -> None:
    with pytest.raises(ValidationError, match="JWT_ACTIVE_KID"):
        Settings(_env_file=None, jwt_keys={"a": SecretStr(OLD_KEY)}, jwt_active_kid="b")


def test_keys_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_KEYS", f'{{"2026-01": "{OLD_KEY}", "2026-07": "{NEW_KEY}"}}')
    monkeypatch.setenv("JWT_ACTIVE_KID", "2026-07")
    settings = Settings(_env_file=None)
    assert settings.jwt_keyring == {"2026-01": OLD_KEY, "2026-07": NEW_KEY}
    assert "new-key" not in repr(settings)  # secrets stay masked


def test_production_refuses_the_dev_secret_among_the_keys() -> None:
    from briefcast.settings import DEV_JWT_SECRET

    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(
            _env_file=None,
            environment="production",
            jwt_keys={"a": SecretStr(DEV_JWT_SECRET)},
            jwt_active_kid="a",
            database_url="postgresql://db/briefcast",
            redis_url="redis://cache:6379",
            credentials_key=SecretStr("x" * 43 + "="),
            instagram_access_token=SecretStr("IGQVJ-real-token"),
            linkedin_access_token=SecretStr("AQX-real-token"),
        )
