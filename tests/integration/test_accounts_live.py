"""Connected accounts: encrypted tokens, a refused token waits for a reconnect, then posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from briefcast.models import PlatformAccount
from briefcast.models.session import worker_session
from briefcast.pipeline.publish.tokens import refresh_due_tokens
from briefcast.security import cipher
from briefcast.settings import SANDBOX_TOKEN
from tests.integration.live import posts_by_platform, submit, wait_for
from tests.live import Live

pytestmark = pytest.mark.integration
IG_USER = "17841400000000001"


def test_a_refused_token_waits_for_a_reconnect_then_publishes(
    live: Live, client: httpx.Client
) -> None:
    wrong = {"account_ref": IG_USER, "access_token": "IGQVJ-revoked-token"}
    connected = client.put("/api/v1/accounts/instagram", json=wrong)
    assert connected.status_code == 200
    assert "access_token" not in connected.json() and connected.json()["status"] == "connected"
    with worker_session() as session:
        stored = session.scalars(select(PlatformAccount)).one()
    assert "revoked" not in stored.token_ciphertext  # encrypted at rest

    run_id = submit(client)
    # The run needs a person as soon as Instagram refuses; LinkedIn's post settles on its own.
    view = wait_for(
        client,
        run_id,
        lambda v: (
            v["status"] == "needs_reconnect"
            and posts_by_platform(v)["linkedin"]["status"] == "published"
        ),
    )
    instagram = posts_by_platform(view)["instagram"]
    assert instagram["status"] == "needs_reconnect"
    assert instagram["status_reason"].startswith("reconnect the instagram account:")
    assert posts_by_platform(view)["linkedin"]["status"] == "published"
    (account,) = client.get("/api/v1/accounts").json()
    assert account["status"] == "needs_reconnect"
    assert live.sandbox_posts("instagram") == []

    fixed = {"account_ref": IG_USER, "access_token": SANDBOX_TOKEN}
    assert client.put("/api/v1/accounts/instagram", json=fixed).json()["status"] == "connected"
    view = wait_for(client, run_id, lambda v: v["status"] == "published")
    assert posts_by_platform(view)["instagram"]["platform_post_id"]
    assert len(live.sandbox_posts("instagram")) == 1


def test_accounts_are_per_organization(
    live: Live, client: httpx.Client, other_org_token: str
) -> None:
    client.put("/api/v1/accounts/linkedin", json={"account_ref": "urn:li:organization:1",
                                                  "access_token": "x"})  # fmt: skip
    other = httpx.get(
        f"{live.api_url}/api/v1/accounts", headers={"Authorization": f"Bearer {other_org_token}"}
    )
    assert other.status_code == 200 and other.json() == []
    unknown = client.put("/api/v1/accounts/myspace", json={"account_ref": "a", "access_token": "b"})
    assert unknown.status_code == 422


def test_tokens_near_expiry_are_refreshed_and_refused_ones_need_a_reconnect(
    live: Live, client: httpx.Client, other_org_token: str
) -> None:
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    fresh_account = {"account_ref": IG_USER, "access_token": SANDBOX_TOKEN, "expires_at": soon}
    client.put("/api/v1/accounts/instagram", json=fresh_account).raise_for_status()
    httpx.put(
        f"{live.api_url}/api/v1/accounts/instagram",
        json={"account_ref": IG_USER, "access_token": "IGQVJ-revoked", "expires_at": soon},
        headers={"Authorization": f"Bearer {other_org_token}"},
    ).raise_for_status()
    with worker_session() as session:
        before = {
            a.organization_id: a.token_ciphertext for a in session.scalars(select(PlatformAccount))
        }

    assert refresh_due_tokens(worker_session) == 1

    with worker_session() as session:
        accounts = {a.status: a for a in session.scalars(select(PlatformAccount))}
    fresh, revoked = accounts["connected"], accounts["needs_reconnect"]
    assert fresh.token_expires_at is not None
    assert fresh.token_expires_at > datetime.now(UTC) + timedelta(days=59)
    assert fresh.token_ciphertext != before[fresh.organization_id]  # re-encrypted
    assert cipher().decrypt(fresh.token_ciphertext) == SANDBOX_TOKEN
    assert revoked.status_reason is not None
    assert revoked.status_reason.startswith("reconnect the instagram account:")
    # Not due again: nothing to refresh until ten days before the new expiry.
    assert refresh_due_tokens(worker_session) == 0


def test_a_refresh_the_platform_fails_for_a_while_keeps_the_account_connected(
    live: Live, client: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    soon = datetime.now(UTC) + timedelta(days=2)
    account = {
        "account_ref": IG_USER,
        "access_token": SANDBOX_TOKEN,
        "expires_at": soon.isoformat(),
    }
    client.put("/api/v1/accounts/instagram", json=account).raise_for_status()
    fault = {"path": "refresh_access_token", "status": 500}
    httpx.post(f"{live.instagram_url}/_sandbox/faults", json=fault).raise_for_status()

    assert refresh_due_tokens(worker_session) == 0
    assert "tokens.refresh_failed" in capfd.readouterr().out
    with worker_session() as session:
        stored = session.scalars(select(PlatformAccount)).one()
        assert (stored.status, stored.status_reason) == ("connected", None)
        assert stored.token_expires_at == soon

    # The next tick, the platform answering again, refreshes it.
    assert refresh_due_tokens(worker_session) == 1
    with worker_session() as session:
        stored = session.scalars(select(PlatformAccount)).one()
        assert stored.status == "connected"
        assert stored.token_expires_at is not None
        assert stored.token_expires_at > datetime.now(UTC) + timedelta(days=59)
