"""Settings: production refuses dev secrets and missing services; Redis db numbers."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from briefcast.settings import DEV_JWT_SECRET, SANDBOX_TOKEN, Settings

REAL_SECRET = "a-real-production-secret-" + "z" * 40
SERVICE_ENV = (
    "ENVIRONMENT",
    "DATABASE_URL",
    "REDIS_URL",
    "JWT_SECRET",
    "INSTAGRAM_ACCESS_TOKEN",
    "LINKEDIN_ACCESS_TOKEN",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every variable Settings reads: other tests in the session may have set some.
    for name in (*SERVICE_ENV, *(field.upper() for field in Settings.model_fields)):
        monkeypatch.delenv(name, raising=False)


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def production(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "environment": "production",
        "jwt_secret": SecretStr(REAL_SECRET),
        "database_url": "postgresql://briefcast@db/briefcast",
        "redis_url": "redis://cache:6379",
        "instagram_access_token": SecretStr("IGQVJ-real-token"),
        "linkedin_access_token": SecretStr("AQX-real-token"),
        "credentials_key": SecretStr("x" * 43 + "="),
    }
    values.update(overrides)
    return values


def test_production_refuses_to_start_without_a_credentials_key() -> None:
    with pytest.raises(ValidationError, match="CREDENTIALS_KEY"):
        make(**production(credentials_key=None))


@pytest.mark.parametrize("token", ["instagram_access_token", "linkedin_access_token"])
def test_production_refuses_the_sandbox_platform_tokens(token: str) -> None:
    with pytest.raises(ValidationError, match=token.upper()):
        make(**production(**{token: SecretStr(SANDBOX_TOKEN)}))


def test_development_defaults_allow_dev_secret_and_no_services() -> None:
    settings = make()
    assert settings.environment == "development"
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET
    assert settings.database_url is None and settings.redis_url is None


def test_production_with_real_values_accepted() -> None:
    settings = make(**production())
    assert settings.environment == "production"


def test_production_refuses_dev_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        make(**production(jwt_secret=SecretStr(DEV_JWT_SECRET)))


def test_production_refuses_default_jwt_secret() -> None:
    values = production()
    del values["jwt_secret"]
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        make(**values)


@pytest.mark.parametrize("missing", ["database_url", "redis_url"])
def test_production_refuses_missing_service_urls(missing: str) -> None:
    values = production()
    del values[missing]
    with pytest.raises(ValidationError, match="DATABASE_URL and REDIS_URL"):
        make(**values)


def test_production_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/briefcast")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379")
    monkeypatch.setenv("INSTAGRAM_ACCESS_TOKEN", "IGQVJ-real-token")
    monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", "AQX-real-token")
    monkeypatch.setenv("CREDENTIALS_KEY", "x" * 43 + "=")
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        make()
    monkeypatch.setenv("JWT_SECRET", REAL_SECRET)
    assert make().jwt_secret.get_secret_value() == REAL_SECRET


def test_test_environment_allows_dev_secret() -> None:
    assert make(environment="test").jwt_secret.get_secret_value() == DEV_JWT_SECRET


def test_unknown_environment_refused() -> None:
    with pytest.raises(ValidationError):
        make(environment="staging")


@pytest.mark.parametrize("base", ["redis://cache:6379", "redis://cache:6379/"])
def test_redis_db_urls(base: str) -> None:
    settings = make(redis_url=base)
    assert settings.redis_sessions_url == "redis://cache:6379/0"
    assert settings.redis_celery_url == "redis://cache:6379/1"
    assert settings.redis_cache_url == "redis://cache:6379/2"


def test_redis_db_url_without_redis_raises() -> None:
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        _ = make().redis_celery_url


def test_uses_openai_only_with_key() -> None:
    assert make().uses_openai is False
    assert make(openai_api_key=SecretStr("sk-test")).uses_openai is True


@pytest.mark.parametrize(
    ("environment", "explicit", "allowed"),
    [
        ("development", None, True),
        ("test", None, True),
        ("production", None, False),  # would post to someone else's account
        ("production", True, True),  # an explicit opt-in, e.g. a staging deployment
        ("development", False, False),
    ],
)
def test_the_settings_account_is_used_only_where_allowed(
    environment: str, explicit: bool | None, allowed: bool
) -> None:
    values = production() if environment == "production" else {"environment": environment}
    settings = make(**values, allow_settings_account=explicit)
    assert settings.settings_account_allowed is allowed
