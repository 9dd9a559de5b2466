"""The edge without services: HSTS and trusted hosts in production, headers on a 500, the
settings' lists and limits, and the limiter letting requests through when Redis is down."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from httpx2 import Response  # what starlette's TestClient is built on
from pydantic import SecretStr
from redis.asyncio import Redis
from starlette.testclient import TestClient

from briefcast.api import edge
from briefcast.api.edge import API_CSP, HSTS, SecureFastAPI, install_edge
from briefcast.api.errors import install_error_handlers
from briefcast.api.ratelimit import RateLimiter, check_settings
from briefcast.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", *(field.upper() for field in Settings.model_fields)):
        monkeypatch.delenv(name, raising=False)


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def production(**values: Any) -> Settings:
    return make(
        environment="production",
        jwt_secret=SecretStr("a-real-production-secret-" + "z" * 40),
        database_url="postgresql://briefcast@db/briefcast",
        redis_url="redis://cache:6379",
        credentials_key=SecretStr("x" * 44),
        instagram_access_token=SecretStr("IGQVJ-real-token"),
        linkedin_access_token=SecretStr("AQV-real-token"),
        public_base_url="https://api.example.com",
        **values,
    )


def app_for(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> SecureFastAPI:
    monkeypatch.setattr(edge, "get_settings", lambda: settings)
    app = SecureFastAPI()
    install_error_handlers(app)
    install_edge(app, settings)

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    return app


def _get_ok(app: SecureFastAPI, base_url: str = "http://testserver") -> Response:
    with TestClient(app, base_url=base_url) as client:
        return client.get("/ok")


def test_hsts_only_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    prod = app_for(production(), monkeypatch)
    assert _get_ok(prod, "https://api.example.com").headers["strict-transport-security"] == HSTS
    assert "strict-transport-security" not in _get_ok(app_for(make(), monkeypatch)).headers


def test_a_500_carries_the_security_headers_and_the_request_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with TestClient(app_for(make(), monkeypatch), raise_server_exceptions=False) as client:
        answer = client.get("/boom", headers={"X-Request-ID": "trace-500"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "trace-500"
    assert answer.json()["error_code"] == "internal_error"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["content-security-policy"] == API_CSP


def test_production_answers_only_its_own_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_for(production(), monkeypatch)
    assert _get_ok(app, "https://api.example.com").status_code == 200
    assert _get_ok(app, "https://API.example.com:8443").status_code == 200
    for base in ("https://evil.example", "https://api.example.com.evil.example"):
        refused = _get_ok(app, base)
        assert refused.status_code == 400
        assert refused.json()["error_code"] == "invalid_host"
        assert refused.headers["x-content-type-options"] == "nosniff"
    listed = app_for(production(allowed_hosts="api.example.com,*.internal"), monkeypatch)
    assert _get_ok(listed, "http://api-1.internal").status_code == 200
    assert _get_ok(listed, "http://internal").status_code == 400
    assert _get_ok(listed, "http://[::1]:8000").status_code == 400
    # Outside production any Host is answered (the sandboxes fetch from 127.0.0.1, tests too).
    dev = app_for(make(), monkeypatch)
    assert _get_ok(dev, "https://evil.example").status_code == 200


def test_cors_origins_and_allowed_hosts_read_lists() -> None:
    settings = make(cors_allow_origins="https://a.example/, https://b.example", allowed_hosts="")
    assert settings.cors_allow_origins == ["https://a.example", "https://b.example"]
    assert settings.allowed_hosts == []
    assert make(cors_allow_origins='["https://c.example"]').cors_allow_origins == [
        "https://c.example"
    ]
    assert make().cors_allow_origins == []


def test_defaults_and_a_limit_that_does_not_parse() -> None:
    settings = make()
    assert (
        settings.rate_limit_content,
        settings.rate_limit_images,
        settings.rate_limit_publishing,
        settings.rate_limit_analytics,
        settings.briefs_per_org_per_day,
    ) == ("10/minute", "5/minute", "20/hour", "100/minute", 5000)
    check_settings(settings)
    with pytest.raises(ValueError, match="RATE_LIMIT_IMAGES"):
        check_settings(make(rate_limit_images="lots"))
    with pytest.raises(ValueError, match="one rate limit"):
        check_settings(make(rate_limit_content="10/minute;100/hour"))


def test_with_redis_down_requests_go_through_and_redis_rests() -> None:
    async def scenario() -> tuple[tuple[int, int], tuple[int, int], float]:
        redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        limiter = RateLimiter(redis)
        first = await limiter.admit([("ratelimit:test", 1, 60_000)])
        started = time.monotonic()
        second = await limiter.admit([("ratelimit:test", 1, 60_000)])
        await redis.aclose()  # type: ignore[attr-defined]  # types-redis predates redis 5
        return first, second, time.monotonic() - started

    first, second, waited = asyncio.run(scenario())
    assert first == (0, 0) and second == (0, 0)
    assert waited < 0.05  # the second did not try Redis again
