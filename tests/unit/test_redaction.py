"""Redaction: secret-named values and secrets inside text never reach a log line."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import structlog

from briefcast.logs import configure_logging, redact_event_dict
from briefcast.redaction import REDACTED, is_sensitive_key, redact, scrub_text
from briefcast.settings import DEV_JWT_SECRET

TOKEN = "IGQVJ-very-secret-0123456789"
REFRESH_URL = (
    "https://graph.instagram.com/v25.0/refresh_access_token"
    f"?grant_type=ig_refresh_token&access_token={TOKEN}"
)


@pytest.mark.parametrize(
    "name",
    [
        "token", "access_token", "ACCESS_TOKEN", "accessToken", "refresh_token", "client_secret",
        "clientSecret", "secret", "key", "api_key", "X-Api-Key", "apikey", "credentials_key",
        "Authorization", "authorization", "password", "PASSWD", "cookie", "token_ciphertext",
        "idempotency_key",
    ],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_sensitive_key(name)


@pytest.mark.parametrize(
    "name",
    ["tokens", "prompt_tokens", "max_tokens", "monkey", "keyword", "event", "author", "status"],
)
def test_ordinary_names(name: str) -> None:
    assert not is_sensitive_key(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (REFRESH_URL, REFRESH_URL.replace(TOKEN, REDACTED)),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln", f"Authorization: Bearer {REDACTED}"),
        ("authorization=bearer abc.def", f"authorization=bearer {REDACTED}"),
        ("Basic dXNlcjpwYXNzd29yZA==", f"Basic {REDACTED}"),
        ('{"client_secret": "s3cr3t", "n": 1}', f'{{"client_secret": "{REDACTED}", "n": 1}}'),
        ("{'access_token': 'abc', 'n': 1}", f"{{'access_token': '{REDACTED}', 'n': 1}}"),
        ("next=/cb?access_token=abc&x=1", f"next=/cb?access_token={REDACTED}&x=1"),
        ("briefcast submit --token=eyJ.x.y", f"briefcast submit --token={REDACTED}"),
        ('msg="token=abc"', f'msg="token={REDACTED}"'),
        ("X-Api-Key: abcdef123", f"X-Api-Key: {REDACTED}"),
        ("password: hunter2", f"password: {REDACTED}"),
        ("postgresql://app:pa55@db:5432/x", f"postgresql://app:{REDACTED}@db:5432/x"),
        ("redis://:pa55@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
    ],
)  # fmt: skip
def test_secrets_in_text_are_scrubbed(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
    assert scrub_text(expected) == expected  # scrubbing again changes nothing


@pytest.mark.parametrize(
    "text",
    [
        # What platforms and people write stays readable.
        "Error validating access token: Session has expired on Tuesday, 01-Jan-26 10:00:00 PST.",
        "reconnect the instagram account: Invalid OAuth access token - Cannot parse access token",
        "Invalid parameter: the caption breaks a rule",
        "prompt_tokens=812 completion_tokens=40 token_count=3",
        "a basic check of the key: it is fine",
        "Basic authentication is not offered",
        "https://example.com/photo.jpg?w=1080&h=1350",
        "held until 2026-01-01 10:00 UTC: quota",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert scrub_text(text) == text


def test_a_known_secret_is_scrubbed_wherever_it_appears() -> None:
    text = f"Malformed access token {TOKEN} here"
    assert scrub_text(text, known=[TOKEN]) == f"Malformed access token {REDACTED} here"
    assert scrub_text("short x stays", known=["x"]) == "short x stays"  # too short to look for


def test_an_httpx_status_error_names_its_url_and_is_scrubbed() -> None:
    request = httpx.Request("GET", REFRESH_URL)
    try:
        httpx.Response(400, request=request).raise_for_status()
    except httpx.HTTPStatusError as exc:
        assert TOKEN in str(exc)  # the reason all of this exists
        assert TOKEN not in scrub_text(str(exc))


def test_redact_nested_values() -> None:
    value: dict[str, Any] = {
        "headers": {"Authorization": "Bearer x", "accept": "application/json"},
        "accounts": [{"access_token": TOKEN, "user_id": "1784"}],
        "apiKey": "k-123",
        "usage": {"prompt_tokens": 812, "total_tokens": 900},
        "url": REFRESH_URL,
        "expires_at": None,
        "token_count": 3,
        "tuple": ("a", f"token={TOKEN}"),
    }
    assert redact(value) == {
        "headers": {"Authorization": REDACTED, "accept": "application/json"},
        "accounts": [{"access_token": REDACTED, "user_id": "1784"}],
        "apiKey": REDACTED,
        "usage": {"prompt_tokens": 812, "total_tokens": 900},
        "url": REFRESH_URL.replace(TOKEN, REDACTED),
        "expires_at": None,
        "token_count": 3,  # numbers are kept even under a secret's name
        "tuple": ("a", f"token={REDACTED}"),
    }


def test_an_object_whose_text_holds_a_secret_is_replaced_by_its_scrubbed_text() -> None:
    url = httpx.URL(REFRESH_URL)
    assert redact(url) == REFRESH_URL.replace(TOKEN, REDACTED)
    plain = httpx.URL("https://example.com/a")
    assert redact(plain) is plain


def test_the_processor_redacts_keys_and_event_text() -> None:
    event = {
        "event": f"GET {REFRESH_URL} failed",
        "token": "abc",
        "nested": {"client_secret": "s", "inner": {"password": "p", "ok": "fine"}},
        "attempts": 2,
    }
    out = redact_event_dict(None, "info", event)
    assert out == {
        "event": f"GET {REFRESH_URL.replace(TOKEN, REDACTED)} failed",
        "token": REDACTED,
        "nested": {"client_secret": REDACTED, "inner": {"password": REDACTED, "ok": "fine"}},
        "attempts": 2,
    }


def _fail_with_a_token_in_scope() -> None:
    token = TOKEN  # a local variable: rich tracebacks print them
    request = httpx.Request("GET", REFRESH_URL, headers={"Authorization": f"Bearer {token}"})
    httpx.Response(401, request=request).raise_for_status()


def test_structlog_lines_carry_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    log = structlog.get_logger("test")
    log.debug("refreshing", url=REFRESH_URL, headers={"Authorization": f"Bearer {TOKEN}"})
    log.info(f"raw event text with access_token={TOKEN}")
    log.warning("settings secret in passing", note=f"the jwt secret is {DEV_JWT_SECRET}")
    try:
        _fail_with_a_token_in_scope()
    except httpx.HTTPStatusError:
        log.exception("refresh.failed")
    out = capsys.readouterr().out
    assert "refreshing" in out and "refresh.failed" in out and "HTTPStatusError" in out
    assert TOKEN not in out
    assert DEV_JWT_SECRET not in out


def test_standard_library_records_carry_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging()
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("test.stdlib")
    log.info("HTTP Request: %s %s", "GET", httpx.URL(REFRESH_URL))
    log.debug("params %(access_token)s", {"access_token": TOKEN})
    try:
        _fail_with_a_token_in_scope()
    except httpx.HTTPStatusError as exc:
        log.error("failed: %s", exc, exc_info=True)
    assert "HTTP Request: GET https://graph.instagram.com" in caplog.text
    assert "HTTPStatusError" in caplog.text
    assert TOKEN not in caplog.text
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_an_access_log_record_keeps_its_shape(caplog: pytest.LogCaptureFixture) -> None:
    # uvicorn's access formatter unpacks exactly five arguments; they stay five.
    configure_logging()
    caplog.set_level(logging.INFO)
    path = f"/v25.0/refresh_access_token?access_token={TOKEN}"
    logging.getLogger("test.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200
    )
    (record,) = [r for r in caplog.records if r.name == "test.access"]
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.getMessage().endswith(
        f'refresh_access_token?access_token={REDACTED} HTTP/1.1" 200'
    )
