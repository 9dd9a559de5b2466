"""No token in any log line, stored reason or API answer, with every logger at DEBUG.

The live stack runs in this process (API, worker, sandboxes), so everything it logs is
captured here: the standard-library records (caplog, and a handler on every logger that does
not propagate), and what structlog and anything else print (capfd). The publish path, the
Graph token refresh (which carries `access_token` in its URL, and httpx logs URLs), a refused
token, 5xx answers that quote the token back, and a photo URL with a token in its query all
run; then no known secret may appear anywhere.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog

from briefcast.logs import configure_logging
from briefcast.models.session import worker_session
from briefcast.pipeline.publish.tokens import refresh_due_tokens
from briefcast.redaction import REDACTED
from briefcast.sandbox.openai_api import SANDBOX_API_KEY
from briefcast.settings import DEV_JWT_SECRET, SANDBOX_TOKEN, get_settings
from tests.integration.helpers import brief
from tests.integration.live import posts_by_platform, submit, wait_for
from tests.live import Live

pytestmark = pytest.mark.integration
IG_USER, LI_AUTHOR = "17841400000000001", "urn:li:organization:2414183"


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """Every logger at DEBUG, and all they emit as text."""
    caplog.set_level(logging.DEBUG)  # first: it puts back the root's level as it finds it
    configure_logging()  # what every process does at start-up (idempotent)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    named = [
        logger
        for logger in list(logging.root.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in [logging.root, *named]]
    for logger, _, _ in saved:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    with_handler = [logging.root, *(logger for logger in named if not logger.propagate)]
    for logger in with_handler:
        logger.addHandler(handler)
    try:
        yield lambda: buffer.getvalue() + "\n" + caplog.text
    finally:
        for logger in with_handler:
            logger.removeHandler(handler)
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled


@pytest.fixture
def trust_local_photos(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PHOTO_FETCH_ALLOWED_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _post(url: str, **body: Any) -> None:
    httpx.post(url, json=body).raise_for_status()


def _echoing_fault(
    base_url: str, method: str, path: str, token: str, *, refused: bool = False
) -> None:
    """A 5xx whose message quotes the token (and a URL with it), as a careless platform might;
    `refused`: a 400 refusing the token (Graph code 190) that quotes it."""
    message = f"Malformed access token {token} (GET /x?access_token={token})"
    error = {"message": message, "type": "OAuthException", "code": 2, "is_transient": True}
    if refused:
        error = {"message": message, "type": "OAuthException", "code": 190}
    _post(f"{base_url}/_sandbox/faults", method=method, path=path, status=400 if refused else 500,
          body={"error": error})  # fmt: skip


def _instagram(client: httpx.Client) -> dict[str, Any]:
    accounts = client.get("/api/v1/accounts").json()
    (account,) = [a for a in accounts if a["platform"] == "instagram"]
    return dict(account)


def _connect(client: httpx.Client, platform: str, ref: str, token: str, **extra: str) -> None:
    body = {"account_ref": ref, "access_token": token, **extra}
    response = client.put(f"/api/v1/accounts/{platform}", json=body)
    assert response.status_code == 200, response.text


def test_no_token_is_logged_stored_or_answered(
    live: Live,
    client: httpx.Client,
    org_token: str,
    other_org_token: str,
    all_logs: Callable[[], str],
    capfd: pytest.CaptureFixture[str],
    trust_local_photos: None,
) -> None:
    tag = uuid.uuid4().hex[:12]
    ig_token, li_token = f"IGQVJ-leak-{tag}", f"AQV-leak-{tag}"
    revoked, photo_token = f"IGQVJ-revoked-{tag}", f"photo-secret-{tag}"
    _post(f"{live.instagram_url}/_sandbox/accounts", token=ig_token, user_id=IG_USER)
    _post(f"{live.linkedin_url}/_sandbox/accounts", token=li_token, author=LI_AUTHOR)
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    _connect(client, "linkedin", LI_AUTHOR, li_token)

    # The token refresh: its URL carries the token (docs/contracts §2.12), and httpx logs URLs.
    _connect(client, "instagram", IG_USER, ig_token, expires_at=soon)
    refresh_due_tokens(worker_session)
    refreshed_until = datetime.fromisoformat(_instagram(client)["token_expires_at"])
    assert refreshed_until > datetime.now(UTC) + timedelta(days=59)
    # Again, answered by a 5xx that quotes the token: logged, the account left for the next tick.
    _connect(client, "instagram", IG_USER, ig_token, expires_at=soon)
    _echoing_fault(live.instagram_url, "GET", "refresh_access_token", ig_token)
    refresh_due_tokens(worker_session)
    assert _instagram(client)["status"] == "connected"
    # Then a refusal that quotes it: the account waits for a reconnect, its reason redacted.
    _connect(client, "instagram", IG_USER, ig_token, expires_at=soon)
    _echoing_fault(live.instagram_url, "GET", "refresh_access_token", ig_token, refused=True)
    refresh_due_tokens(worker_session)
    faulted = _instagram(client)
    assert faulted["status"] == "needs_reconnect" and REDACTED in faulted["status_reason"]
    # A refused token (Graph code 190), in another organization.
    with httpx.Client(
        base_url=live.api_url, headers={"Authorization": f"Bearer {other_org_token}"}
    ) as other:
        _connect(other, "instagram", IG_USER, revoked, expires_at=soon)
        refresh_due_tokens(worker_session)
        refused = _instagram(other)
    assert refused["status"] == "needs_reconnect"

    # Publishing, with a first Instagram attempt answered by a 5xx that quotes the token.
    _connect(client, "instagram", IG_USER, ig_token)
    _echoing_fault(live.instagram_url, "POST", "/media$", ig_token)
    run_id = submit(client)
    view = wait_for(client, run_id, lambda v: v["status"] == "published", timeout_s=60)
    errors = [a["error"] for a in posts_by_platform(view)["instagram"]["attempts"] if a["error"]]
    assert errors and all(REDACTED in error for error in errors)  # the failure was recorded

    # A photo URL with a token in its query that cannot be fetched fails the run.
    photo_url = f"{live.api_url}/media/none.jpg?access_token={photo_token}"
    photo_run = client.post("/api/v1/briefs", json=brief(template="photo", photo_url=photo_url))
    assert photo_run.status_code == 202, photo_run.text
    photo_view = wait_for(client, photo_run.json()["run_id"])
    assert photo_view["status"] == "failed"

    # structlog at DEBUG, with a token under a secret's name and inside a URL.
    structlog.get_logger("leak-probe").debug(
        "probe", access_token=ig_token, url=f"https://graph.example/x?access_token={ig_token}"
    )

    captured = capfd.readouterr()
    logged = "\n".join([all_logs(), captured.out, captured.err])
    answered = "\n".join(
        [
            client.get(f"/api/v1/runs/{run_id}").text,
            client.get(f"/api/v1/runs/{photo_run.json()['run_id']}").text,
            client.get("/api/v1/accounts").text,
            str(refused),
        ]
    )
    # The paths really were logged: the refresh request's line, the structlog probe.
    assert "refresh_access_token" in logged and f"access_token={REDACTED}" in logged
    assert "probe" in logged
    secrets = {
        "instagram token": ig_token,
        "linkedin token": li_token,
        "refused token": revoked,
        "photo URL token": photo_token,
        "API bearer token": org_token,
        "other API bearer token": other_org_token,
        "JWT secret": DEV_JWT_SECRET,
        "settings platform token": SANDBOX_TOKEN,
        "OpenAI key": SANDBOX_API_KEY,
    }
    for name, secret in secrets.items():
        assert secret not in logged, f"the {name} was logged"
        assert secret not in answered, f"the {name} is in an API answer"
