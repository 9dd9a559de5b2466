"""Tokens and roles at the live API: refusals are 401/403 with the standard error body."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from pydantic import SecretStr

from briefcast.api.auth import Role, create_token
from briefcast.client import bootstrap_token
from briefcast.settings import DEFAULT_JWT_KID, get_settings
from tests.integration.live import submit
from tests.live import Live

pytestmark = pytest.mark.integration
ACCOUNT = {"account_ref": "17841400000000001", "access_token": "IGQVJ-roles-test"}


def _as(live: Live, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


@pytest.fixture
def viewer(live: Live, db: None) -> Iterator[httpx.Client]:
    with _as(live, bootstrap_token("acme", Role.VIEWER)) as client:
        yield client


@pytest.fixture
def editor(live: Live, db: None) -> Iterator[httpx.Client]:
    with _as(live, bootstrap_token("acme", Role.EDITOR)) as client:
        yield client


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    assert set(body) == {"error_code", "message", "timestamp", "details"}
    assert body["error_code"] == code
    return body


def test_a_viewer_reads_a_run_but_cannot_submit_a_brief(
    viewer: httpx.Client, editor: httpx.Client
) -> None:
    run_id = submit(editor)  # an editor submits
    assert viewer.get(f"/api/v1/runs/{run_id}").status_code == 200
    assert viewer.get("/api/v1/accounts").status_code == 200
    refused = viewer.post("/api/v1/briefs", json={"topic": "Not mine to post"})
    body = _assert_error(refused, 403, "forbidden_role")
    assert body["details"] == {"required_role": "editor", "role": "viewer"}


def test_an_editor_cannot_connect_an_account_or_set_the_budget(
    editor: httpx.Client, client: httpx.Client
) -> None:
    refused = editor.put("/api/v1/accounts/instagram", json=ACCOUNT)
    body = _assert_error(refused, 403, "forbidden_role")
    assert body["details"] == {"required_role": "admin", "role": "editor"}
    budget = {"monthly_budget_usd": 10}
    _assert_error(editor.put("/api/v1/usage/budget", json=budget), 403, "forbidden_role")
    assert editor.get("/api/v1/accounts").json() == []  # nothing was connected
    # The admin token of `client` (what `briefcast token` mints) may do both.
    assert client.put("/api/v1/accounts/instagram", json=ACCOUNT).status_code == 200
    assert client.put("/api/v1/usage/budget", json=budget).status_code == 200


def test_the_role_is_checked_before_the_body(viewer: httpx.Client) -> None:
    # A viewer learns nothing about what a valid campaign or review would be.
    _assert_error(viewer.post("/api/v1/campaigns", json={}), 403, "forbidden_role")
    run = f"/api/v1/runs/{uuid.uuid4()}/review"
    _assert_error(viewer.post(run, json={"decision": "approve"}), 403, "forbidden_role")


def _claims(org_id: str, **changes: object) -> dict[str, object]:
    settings = get_settings()
    claims: dict[str, object] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "test",
        "org": org_id,
        "role": "admin",
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _token(claims: dict[str, object], kid: str = DEFAULT_JWT_KID, secret: str | None = None) -> str:
    key = secret or get_settings().jwt_secret.get_secret_value()
    return jwt.encode(claims, key, "HS256", headers={"kid": kid})


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"exp": datetime.now(UTC) - timedelta(minutes=1)}, "token_expired"),
        ({"exp": None}, "invalid_token"),
        ({"aud": "another-api"}, "invalid_token"),
        ({"iss": "https://someone-else.example.com"}, "invalid_token"),
        ({"role": None}, "invalid_token"),
    ],
    ids=["expired", "no-exp", "wrong-audience", "wrong-issuer", "no-role"],
)
def test_a_bad_token_is_a_401_with_the_standard_body(
    live: Live, org_token: str, change: dict[str, object], code: str
) -> None:
    org_id = jwt.decode(org_token, options={"verify_signature": False})["org"]
    with _as(live, _token(_claims(org_id))) as control:  # the same token, unchanged: accepted
        assert control.get("/api/v1/accounts").status_code == 200
    with _as(live, _token(_claims(org_id, **change))) as bad:
        response = bad.get("/api/v1/accounts")
    _assert_error(response, 401, code)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_unknown_kid_is_a_401(live: Live, org_token: str) -> None:
    org_id = jwt.decode(org_token, options={"verify_signature": False})["org"]
    with _as(live, _token(_claims(org_id), kid="retired-2020")) as bad:
        _assert_error(bad.get("/api/v1/accounts"), 401, "invalid_token")


def test_during_a_rotation_both_keys_are_accepted(
    live: Live, org_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = get_settings().jwt_secret.get_secret_value()
    new = "rotated-in-" + "k" * 40
    rotating = get_settings().model_copy(
        update={
            "jwt_keys": {DEFAULT_JWT_KID: SecretStr(old), "2026-07": SecretStr(new)},
            "jwt_active_kid": "2026-07",
        }
    )
    # The API reads get_settings() per request: it now holds both keys and signs with the new.
    monkeypatch.setattr("briefcast.api.deps.get_settings", lambda: rotating)
    org_id = uuid.UUID(jwt.decode(org_token, options={"verify_signature": False})["org"])
    fresh = create_token(rotating, org_id)
    assert jwt.get_unverified_header(fresh)["kid"] == "2026-07"
    for token in (org_token, fresh):  # signed before the rotation, and after
        with _as(live, token) as http:
            assert http.get("/api/v1/accounts").status_code == 200
    forged = _token(_claims(str(org_id)), kid="2026-07", secret=old)  # kid names the other key
    with _as(live, forged) as bad:
        _assert_error(bad.get("/api/v1/accounts"), 401, "invalid_token")


def test_openapi_names_the_403_where_a_role_is_needed(live: Live) -> None:
    paths = httpx.get(f"{live.api_url}/openapi.json").json()["paths"]
    for path, method in [
        ("/api/v1/briefs", "post"),
        ("/api/v1/accounts/{platform}", "put"),
        ("/api/v1/usage/budget", "put"),
        ("/api/v1/uploads", "post"),
        ("/api/v1/runs/{run_id}/review", "post"),
        ("/api/v1/campaigns/{campaign_id}", "delete"),
    ]:
        assert "forbidden_role" in paths[path][method]["responses"]["403"]["description"], path
    assert (
        "unknown_organization"
        in paths["/api/v1/campaigns"]["post"]["responses"]["403"]["description"]
    )
    assert "403" not in paths["/api/v1/runs/{run_id}"]["get"]["responses"]
