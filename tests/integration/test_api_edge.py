"""The API's edge on the real app and Redis: rate limits and the daily brief quota at the
product's defaults (the rest of the suite runs with tests/conftest.py's TEST_LIMITS), security
headers, the docs' CSP, and CORS."""

from __future__ import annotations

import io
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis
from PIL import Image
from starlette.testclient import TestClient

from briefcast.api.edge import API_CSP, DOCS_CSP
from briefcast.settings import get_settings
from tests.integration.helpers import brief, row_counts
from tests.live import TEST_LIMITS, ApiAs

pytestmark = pytest.mark.integration

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
ACCOUNT = {"account_ref": "17841400000000001", "access_token": "a-token"}
CAMPAIGN_SCHEDULE = {
    "kind": "recurrence",
    "rrule": "FREQ=WEEKLY;BYDAY=TU;BYHOUR=9;BYMINUTE=0",
    "start": "2027-06-01T09:00:00",
}
CAMPAIGN_TEMPLATE = {
    "topic": "Tips for runners",
    "key_points": ["Stretch"],
    "platforms": ["linkedin"],
}


@pytest.fixture
def limiter_redis(services: dict[str, str]) -> Iterator[redis.Redis[bytes]]:
    """Redis db 0 without the counters of earlier tests (the client IP is always 127.0.0.1)."""
    client = redis.Redis.from_url(f"{services['redis_url']}/0")

    def flush() -> None:
        for pattern in ("ratelimit:*", "quota:*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)

    flush()
    yield client
    flush()
    client.close()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The product's default limits (not the suite's) for the live API in this process; set
    more with `settings_env.setenv` and `get_settings.cache_clear()`."""
    for name in TEST_LIMITS:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    # Undo before the cache is cleared, or a request in between caches these settings.
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def real_limits(
    settings_env: pytest.MonkeyPatch, limiter_redis: redis.Redis[bytes]
) -> redis.Redis[bytes]:
    return limiter_redis


def _set(settings_env: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        settings_env.setenv(name, value)
    get_settings.cache_clear()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 90, 40)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _refused(response: httpx.Response, code: str = "rate_limited") -> dict[str, Any]:
    """The 429: Retry-After in whole seconds, the standard error body, the same wait in it."""
    assert response.status_code == 429, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error_code", "message", "timestamp", "details"}
    assert body["error_code"] == code
    assert body["message"]
    datetime.fromisoformat(body["timestamp"])
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    assert body["details"]["retry_after_s"] == retry_after
    details: dict[str, Any] = body["details"]
    return details


def _same_brief(http: httpx.Client, key: str = "edge-same-brief") -> httpx.Response:
    """One brief, then replays of it: counted like any request, without new runs to work on."""
    return http.post("/api/v1/briefs", json=brief(), headers={"Idempotency-Key": key})


def _campaign(http: httpx.Client, n: int) -> httpx.Response:
    return http.post(
        "/api/v1/campaigns",
        json={
            "name": f"Edge {n}",
            "timezone": "Europe/Berlin",
            "schedule": CAMPAIGN_SCHEDULE,
            "template": CAMPAIGN_TEMPLATE,
        },
    )


def _items(http: httpx.Client, campaign_id: str) -> httpx.Response:
    return http.post(f"/api/v1/campaigns/{campaign_id}/items", json={"items": [{"topic": "More"}]})


# ---- rate limits at the product's defaults -----------------------------------------------


def test_ten_briefs_a_minute_per_address_then_429(
    api_as: ApiAs, org_token: str, real_limits: redis.Redis[bytes]
) -> None:
    http = api_as(org_token)
    for n in range(10):
        response = _same_brief(http)
        assert response.status_code == 202, (n, response.text)
    refused = http.post("/api/v1/briefs", json=brief(topic="One too many"))
    details = _refused(refused)
    assert details["limit"] == "10 per 1 minute"
    assert (details["scope"], details["per"]) == ("content", "ip")
    assert int(refused.headers["Retry-After"]) <= 60
    assert row_counts()["briefs"] == 1  # the refused brief was not stored
    # Refused requests are not counted: the window does not move while a client retries.
    again = http.post("/api/v1/briefs", json=brief(topic="One too many"))
    assert _refused(again)["retry_after_s"] <= details["retry_after_s"]


def test_briefs_campaigns_and_campaign_items_share_the_content_limit(
    api_as: ApiAs, org_token: str, real_limits: redis.Redis[bytes]
) -> None:
    http = api_as(org_token)
    assert _same_brief(http).status_code == 202
    created = [_campaign(http, n) for n in range(3)]
    assert [r.status_code for r in created] == [201] * 3, created[-1].text
    campaign_id = created[0].json()["id"]
    for _ in range(6):
        assert _items(http, campaign_id).status_code == 201
    for refused in (_same_brief(http), _campaign(http, 9), _items(http, campaign_id)):
        assert _refused(refused)["scope"] == "content"


def test_five_uploads_a_minute_per_address_then_429(
    api_as: ApiAs, org_token: str, real_limits: redis.Redis[bytes]
) -> None:
    http = api_as(org_token)
    for _ in range(5):
        response = http.post(
            "/api/v1/uploads", content=_jpeg(), headers={"Content-Type": "image/jpeg"}
        )
        assert response.status_code == 201, response.text
    details = _refused(
        http.post("/api/v1/uploads", content=_jpeg(), headers={"Content-Type": "image/jpeg"})
    )
    assert (details["limit"], details["scope"], details["per"]) == (
        "5 per 1 minute",
        "images",
        "ip",
    )


def test_twenty_publishing_actions_an_hour_per_user(
    api_as: ApiAs, org_token: str, other_org_token: str, real_limits: redis.Redis[bytes]
) -> None:
    http, other = api_as(org_token), api_as(other_org_token)
    for _ in range(15):
        assert http.put("/api/v1/accounts/instagram", json=ACCOUNT).status_code == 200
    review = f"/api/v1/runs/{uuid.uuid4()}/review"
    for _ in range(5):  # no such run: answered, and counted
        assert http.post(review, json={"decision": "approve"}).status_code == 404
    details = _refused(http.put("/api/v1/accounts/instagram", json=ACCOUNT))
    assert (details["limit"], details["scope"], details["per"]) == (
        "20 per 1 hour",
        "publishing",
        "user",
    )
    assert 3500 < details["retry_after_s"] <= 3600
    _refused(http.post(review, json={"decision": "approve"}))
    # Another organization's user, from the same address, is not limited by it.
    assert other.put("/api/v1/accounts/instagram", json=ACCOUNT).status_code == 200


def test_a_hundred_analytics_reads_a_minute_per_user(
    api_as: ApiAs, org_token: str, other_org_token: str, real_limits: redis.Redis[bytes]
) -> None:
    http, other = api_as(org_token), api_as(other_org_token)
    reads = [
        ("/api/v1/usage", 200),
        (f"/api/v1/runs/{uuid.uuid4()}", 404),
        ("/api/v1/campaigns", 200),
        (f"/api/v1/campaigns/{uuid.uuid4()}", 404),
    ]
    for n in range(100):
        path, status = reads[n % len(reads)]
        assert http.get(path).status_code == status, path
    for path, _ in reads:
        details = _refused(http.get(path))
        assert (details["limit"], details["scope"], details["per"]) == (
            "100 per 1 minute",
            "analytics",
            "user",
        )
    assert other.get("/api/v1/usage").status_code == 200
    # Not every read is limited: the account list is not an analytics read.
    assert http.get("/api/v1/accounts").status_code == 200


@pytest.mark.parametrize("setting", ["content", "images", "publishing", "analytics"])
def test_a_limit_resets_when_its_window_ends(
    api_as: ApiAs,
    org_token: str,
    settings_env: pytest.MonkeyPatch,
    limiter_redis: redis.Redis[bytes],
    setting: str,
) -> None:
    _set(settings_env, **{f"RATE_LIMIT_{setting.upper()}": "2 per 2 seconds"})
    http = api_as(org_token)
    requests: dict[str, Callable[[], httpx.Response]] = {
        "content": lambda: _same_brief(http),
        "images": lambda: http.post(
            "/api/v1/uploads", content=_jpeg(), headers={"Content-Type": "image/jpeg"}
        ),
        "publishing": lambda: http.put("/api/v1/accounts/instagram", json=ACCOUNT),
        "analytics": lambda: http.get("/api/v1/usage"),
    }
    request = requests[setting]
    assert request().status_code < 300
    assert request().status_code < 300
    details = _refused(request())
    assert details["limit"] == "2 per 2 second"
    assert details["retry_after_s"] <= 2
    time.sleep(details["retry_after_s"] + 0.05)
    assert request().status_code < 300


def test_the_daily_brief_quota_is_per_organization(
    api_as: ApiAs,
    org_token: str,
    other_org_token: str,
    settings_env: pytest.MonkeyPatch,
    limiter_redis: redis.Redis[bytes],
) -> None:
    _set(settings_env, BRIEFS_PER_ORG_PER_DAY="3")
    http = api_as(org_token)
    for _ in range(3):
        assert _same_brief(http).status_code == 202
    refused = http.post("/api/v1/briefs", json=brief(topic="Over the quota"))
    details = _refused(refused, "daily_quota_exceeded")
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert datetime.fromisoformat(details["resets_at"]) == midnight
    assert details["limit"] == 3
    assert abs(details["retry_after_s"] - math.ceil((midnight - now).total_seconds())) <= 5
    # One key per organization per UTC day, gone after the day.
    keys = [k.decode() for k in limiter_redis.scan_iter(match="quota:briefs:*")]
    assert len(keys) == 1 and keys[0].endswith(f":{now:%Y-%m-%d}"), keys
    assert 0 < limiter_redis.ttl(keys[0]) <= (midnight - now).total_seconds() + 61
    # Another organization has its own quota.
    other = api_as(other_org_token).post("/api/v1/briefs", json=brief(topic="Globex"))
    assert other.status_code == 202, other.text


def test_a_refused_brief_does_not_use_up_the_quota(
    api_as: ApiAs,
    org_token: str,
    settings_env: pytest.MonkeyPatch,
    limiter_redis: redis.Redis[bytes],
) -> None:
    _set(settings_env, RATE_LIMIT_CONTENT="1/minute", BRIEFS_PER_ORG_PER_DAY="5")
    http = api_as(org_token)
    assert _same_brief(http).status_code == 202
    for _ in range(3):
        _refused(_same_brief(http))
    [key] = list(limiter_redis.scan_iter(match="quota:briefs:*"))
    assert int(limiter_redis.get(key) or 0) == 1


# ---- headers -----------------------------------------------------------------------------


def _assert_security_headers(response: httpx.Response, csp: str = API_CSP) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert response.headers["content-security-policy"] == csp
    assert "strict-transport-security" not in response.headers  # production only


def test_security_headers_on_answers_404s_and_errors(api_as: ApiAs, org_token: str) -> None:
    http = api_as(org_token)
    answers = [
        (http.get("/api/v1/usage"), 200),
        (http.get("/api/v1/no-such-thing"), 404),
        (http.get("/media/no-such-file.png"), 404),
        (http.post("/api/v1/briefs", json={"topic": ""}), 422),
        (api_as(None).get("/api/v1/usage"), 401),
        (http.post("/api/v1/briefs", content=b"x" * 100_000), 413),
        (http.get("/health"), 200),
    ]
    for response, status in answers:
        assert response.status_code == status, (response.request.url, response.text)
        _assert_security_headers(response)


def test_the_docs_pages_get_a_policy_that_lets_them_load(api_as: ApiAs) -> None:
    http = api_as(None)
    for path in ("/docs", "/redoc"):
        page = http.get(path)
        assert page.status_code == 200
        _assert_security_headers(page, DOCS_CSP)
        policy = dict(
            (directive.split()[0], directive.split()[1:])
            for directive in page.headers["content-security-policy"].split("; ")
        )
        # Every script and stylesheet the page names comes from a source its policy allows.
        for tag, attribute, directive in (
            ("script", "src", "script-src"),
            ("link", "href", "style-src"),
        ):
            for url in re.findall(rf'<{tag}[^>]*\b{attribute}="([^"]+)"', page.text):
                if url.startswith("http") and not url.endswith((".png", ".ico")):
                    origin = "/".join(url.split("/")[:3])
                    assert origin in policy[directive], (path, url)
        assert "'unsafe-inline'" in policy["script-src"]
    # The API document itself is JSON like any answer: the strict policy.
    _assert_security_headers(http.get("/openapi.json"))


def test_no_cors_unless_origins_are_allowed(api_as: ApiAs, org_token: str) -> None:
    origin = {"Origin": "https://app.example.com"}
    answer = api_as(org_token).get("/api/v1/usage", headers=origin)
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    preflight = api_as(None).options(
        "/api/v1/briefs", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_for_an_allowed_origin(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from briefcast.api.app import create_app

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://app.example.com/, https://admin.example.com")
    get_settings.cache_clear()
    try:
        app = create_app()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    with closing(TestClient(app)) as http:  # no lifespan: needs neither database nor Redis
        asked = {
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        }
        preflight = http.options("/api/v1/briefs", headers=asked)
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))
        assert "access-control-allow-credentials" not in preflight.headers
        assert preflight.headers["x-content-type-options"] == "nosniff"
        stranger = http.options(
            "/api/v1/briefs", headers={**asked, "Origin": "https://evil.example"}
        )
        assert stranger.status_code == 400
        assert "access-control-allow-origin" not in stranger.headers
        # A simple request: the answer names the origin and lets it read Retry-After.
        answer = http.get("/api/v1/no-such-thing", headers={"Origin": "https://admin.example.com"})
        assert answer.status_code == 404
        assert answer.headers["access-control-allow-origin"] == "https://admin.example.com"
        assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
