"""One error body everywhere: error_code, message, timestamp, details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from briefcast.api.errors import ApiError, error_body, error_response


def test_error_body_has_exactly_the_documented_keys() -> None:
    body = error_body("not_found", "No such run.")
    assert set(body) == {"error_code", "message", "timestamp", "details"}
    assert body["error_code"] == "not_found"
    assert body["message"] == "No such run."
    assert body["details"] == {}


def test_timestamp_is_timezone_aware_iso_8601_now() -> None:
    before = datetime.now(UTC)
    body = error_body("x", "y")
    after = datetime.now(UTC)
    stamp = datetime.fromisoformat(body["timestamp"])
    assert stamp.tzinfo is not None
    assert stamp.utcoffset() == timedelta(0)
    assert before <= stamp <= after


def test_details_passed_through() -> None:
    details = {"fields": [{"field": "topic", "problem": "too short"}]}
    assert error_body("validation_error", "bad", details)["details"] == details
    assert error_body("x", "y", [])["details"] == []


def test_error_response_carries_status_headers_and_body() -> None:
    import json

    response = error_response(401, "unauthorized", "nope", headers={"WWW-Authenticate": "Bearer"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = json.loads(bytes(response.body))
    assert set(body) == {"error_code", "message", "timestamp", "details"}
    assert body["error_code"] == "unauthorized"


def test_api_error_attributes() -> None:
    err = ApiError(409, "conflict", "Already there.", details={"id": 1})
    assert (err.status_code, err.error_code, err.message, err.details) == (
        409,
        "conflict",
        "Already there.",
        {"id": 1},
    )
    assert str(err) == "Already there."
    assert err.headers is None
