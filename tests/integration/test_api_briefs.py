"""The brief ingress: validation, auth, idempotency and tenant isolation, on the real API."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from briefcast.settings import get_settings
from tests.integration.helpers import brief, row_counts
from tests.live import ApiAs, Live

pytestmark = pytest.mark.integration
EMPTY = {"briefs": 0, "runs": 0, "posts": 0, "outbox": 0}


def _assert_error_body(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error_code", "message", "timestamp", "details"}
    assert body["error_code"] == code
    assert body["message"]
    datetime.fromisoformat(body["timestamp"])
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in brief().items() if k != "topic"}, "topic"),
        (brief(platforms=["instagram", "myspace"]), "platforms.1"),
        (brief(publish_at="2030-01-01T09:00:00"), "publish_at"),
        (brief(topic="x" * 201), "topic"),
        (brief(key_points=[]), "key_points"),
        (brief(platforms=["linkedin", "linkedin"]), "platforms"),
        (brief(brand_color="green"), "brand_color"),
        (brief(topic="bad\x00topic"), "topic"),
        (brief(unexpected="field"), "unexpected"),
    ],
)
def test_invalid_brief_is_422_and_writes_nothing(
    api_as: ApiAs, org_token: str, body: dict[str, Any], field: str
) -> None:
    response = api_as(org_token).post("/api/v1/briefs", json=body)
    error = _assert_error_body(response, 422, "validation_error")
    assert field in [f["field"] for f in error["details"]["fields"]]
    assert row_counts() == EMPTY


def test_ten_megabyte_body_is_413_and_writes_nothing(api_as: ApiAs, org_token: str) -> None:
    huge = brief(audience="a" * (10 * 1024 * 1024))
    response = api_as(org_token).post("/api/v1/briefs", json=huge)
    error = _assert_error_body(response, 413, "payload_too_large")
    assert error["details"]["max_bytes"] == get_settings().max_body_bytes
    assert row_counts() == EMPTY


def test_chunked_body_over_the_limit_is_413(api_as: ApiAs, org_token: str) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 4096

    response = api_as(org_token).post(
        "/api/v1/briefs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _assert_error_body(response, 413, "payload_too_large")


def test_malformed_json_is_422(api_as: ApiAs, org_token: str) -> None:
    response = api_as(org_token).post(
        "/api/v1/briefs", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _assert_error_body(response, 422, "validation_error")
    assert row_counts() == EMPTY


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "unauthorized"),
        ("not-a-jwt", "invalid_token"),
        (
            jwt.encode({"sub": "x", "org": "y", "exp": 9999999999}, "wrong-secret-" * 3),
            "invalid_token",
        ),
    ],
)
def test_missing_or_wrong_token_is_401(
    api_as: ApiAs, db: None, token: str | None, code: str
) -> None:
    response = api_as(token).post("/api/v1/briefs", json=brief())
    _assert_error_body(response, 401, code)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert row_counts() == EMPTY


def test_expired_token_is_401(api_as: ApiAs, org_token: str) -> None:
    claims = jwt.decode(org_token, options={"verify_signature": False})
    claims["exp"] = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())
    settings = get_settings()
    expired = jwt.encode(claims, settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)
    response = api_as(expired).post("/api/v1/briefs", json=brief())
    _assert_error_body(response, 401, "token_expired")
    assert row_counts() == EMPTY


def test_token_for_unknown_organization_is_403(api_as: ApiAs, db: None) -> None:
    import uuid

    from briefcast.api.auth import create_token

    token = create_token(get_settings(), uuid.uuid4())
    response = api_as(token).post("/api/v1/briefs", json=brief())
    _assert_error_body(response, 403, "unknown_organization")
    assert row_counts() == EMPTY


def test_accepted_brief_writes_one_transaction(api_as: ApiAs, org_token: str) -> None:
    response = api_as(org_token).post("/api/v1/briefs", json=brief())
    assert response.status_code == 202
    body = response.json()
    assert body["links"]["self"] == f"/api/v1/runs/{body['run_id']}"
    assert response.headers["Location"] == body["links"]["self"]
    assert row_counts() == {"briefs": 1, "runs": 1, "posts": 2, "outbox": 1}


def test_idempotency_key_replays_and_refuses_a_different_body(
    api_as: ApiAs, org_token: str
) -> None:
    client = api_as(org_token)
    first = client.post("/api/v1/briefs", json=brief(), headers={"Idempotency-Key": "k-1"})
    second = client.post("/api/v1/briefs", json=brief(), headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 202
    assert second.json()["run_id"] == first.json()["run_id"]
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"

    other = client.post(
        "/api/v1/briefs", json=brief(topic="Something else"), headers={"Idempotency-Key": "k-1"}
    )
    _assert_error_body(other, 422, "idempotency_key_reused")
    assert row_counts() == {"briefs": 1, "runs": 1, "posts": 2, "outbox": 1}


def test_another_organizations_run_is_404(
    api_as: ApiAs, org_token: str, other_org_token: str
) -> None:
    run_id = api_as(org_token).post("/api/v1/briefs", json=brief()).json()["run_id"]
    assert api_as(org_token).get(f"/api/v1/runs/{run_id}").status_code == 200
    response = api_as(other_org_token).get(f"/api/v1/runs/{run_id}")
    _assert_error_body(response, 404, "run_not_found")


def test_unknown_route_uses_the_error_body(live: Live) -> None:
    _assert_error_body(httpx.get(f"{live.api_url}/nope"), 404, "not_found")


def test_health_reports_both_services(live: Live) -> None:
    response = httpx.get(f"{live.api_url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgresql": "ok", "redis": "ok"}}


def test_openapi_docs_are_served(live: Live) -> None:
    assert httpx.get(f"{live.api_url}/docs").status_code == 200
    paths = httpx.get(f"{live.api_url}/openapi.json").json()["paths"]
    assert {"/api/v1/briefs", "/api/v1/runs/{run_id}", "/health"} <= set(paths)


def _outbox_rows() -> list[tuple[datetime | None, int, dict[str, Any]]]:
    from sqlalchemy import select

    from briefcast.models import OutboxMessage
    from briefcast.models.session import worker_session

    with worker_session() as session:
        rows = session.execute(
            select(OutboxMessage.sent_at, OutboxMessage.send_attempts, OutboxMessage.payload)
        ).all()
    return [(sent_at, attempts, payload) for sent_at, attempts, payload in rows]


def test_an_accepted_briefs_outbox_row_is_sent_and_marked_by_the_api(
    api_as: ApiAs, org_token: str
) -> None:
    # No beat runs here, so no sweep: a row marked sent was sent by the API's relay.
    response = api_as(org_token).post("/api/v1/briefs", json=brief())
    assert response.status_code == 202
    deadline = time.monotonic() + 5
    while (rows := _outbox_rows()) and rows[0][0] is None and time.monotonic() < deadline:
        time.sleep(0.02)
    [(sent_at, attempts, payload)] = rows
    assert sent_at is not None
    assert attempts == 1
    assert payload["run_id"] == response.json()["run_id"]
    assert len(payload["post_ids"]) == 2


def test_the_idempotency_race_answers_every_request_with_the_first_run(
    live: Live, org_token: str
) -> None:
    """Concurrent requests with one key: one brief is stored, every answer names its run."""
    gate = threading.Barrier(8)

    def post(_: int) -> httpx.Response:
        with live.api_client(org_token) as client:
            gate.wait()
            return client.post("/api/v1/briefs", json=brief(), headers={"Idempotency-Key": "race"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert [a.status_code for a in answers] == [202] * 8
    assert len({a.json()["run_id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert row_counts() == {"briefs": 1, "runs": 1, "posts": 2, "outbox": 1}


def test_the_same_key_racing_with_a_different_body_is_refused(live: Live, org_token: str) -> None:
    gate = threading.Barrier(6)

    def post(n: int) -> httpx.Response:
        with live.api_client(org_token) as client:
            gate.wait()
            return client.post(
                "/api/v1/briefs", json=brief(topic=f"Topic {n}"), headers={"Idempotency-Key": "k"}
            )

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    assert sorted(a.status_code for a in answers) == [202] + [422] * 5
    run_id = next(a.json()["run_id"] for a in answers if a.status_code == 202)
    for refused in (a for a in answers if a.status_code == 422):
        body = _assert_error_body(refused, 422, "idempotency_key_reused")
        assert body["details"]["run_id"] == run_id
    assert row_counts() == {"briefs": 1, "runs": 1, "posts": 2, "outbox": 1}


def test_an_unknown_organization_is_403_before_its_brand_voice_is_looked_at(
    api_as: ApiAs, db: None
) -> None:
    import uuid

    from briefcast.api.auth import create_token

    token = create_token(get_settings(), uuid.uuid4())
    response = api_as(token).post("/api/v1/briefs", json=brief(brand_voice_id=str(uuid.uuid4())))
    _assert_error_body(response, 403, "unknown_organization")
    with_key = api_as(token).post(
        "/api/v1/briefs", json=brief(), headers={"Idempotency-Key": "k-403"}
    )
    _assert_error_body(with_key, 403, "unknown_organization")
    assert row_counts() == EMPTY


def test_a_brief_stores_what_it_was_given(api_as: ApiAs, org_token: str) -> None:
    from sqlalchemy import select

    from briefcast.models import Brief, Post, Run
    from briefcast.models.session import worker_session

    publish_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    body = brief(
        topic="  A quote card  ",
        template="quote",
        quote="Less, but better.",
        attribution="Dieter Rams",
        brand_color="#aabbcc",
        variants=2,
        platforms=["linkedin"],
        publish_at=publish_at.isoformat(),
    )
    response = api_as(org_token).post(
        "/api/v1/briefs", json=body, headers={"Idempotency-Key": "stored"}
    )
    assert response.status_code == 202, response.text
    with worker_session() as session:
        stored = session.scalars(select(Brief)).one()
        run = session.scalars(select(Run)).one()
        posts = session.scalars(select(Post)).all()
    assert str(run.id) == response.json()["run_id"]
    assert str(stored.id) == response.json()["brief_id"]
    assert (stored.topic, stored.template, stored.quote, stored.attribution) == (
        "A quote card",
        "quote",
        "Less, but better.",
        "Dieter Rams",
    )
    assert (stored.brand_color, stored.variants, stored.platforms) == ("#AABBCC", 2, ["linkedin"])
    assert stored.key_points == body["key_points"]
    assert stored.publish_at == publish_at
    assert stored.idempotency_key == "stored"
    assert len(stored.request_hash) == 64
    assert (run.status, run.organization_id, run.copy_feedback, run.regenerations) == (
        "accepted",
        stored.organization_id,
        [],
        0,
    )
    assert [(p.platform, p.status, p.run_id) for p in posts] == [("linkedin", "pending", run.id)]
    assert posts[0].hashtags == [] and posts[0].publish_progress == {}
    assert run.created_at is not None and posts[0].updated_at is not None
