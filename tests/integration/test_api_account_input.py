"""PUT /api/v1/accounts/{platform}: `expires_at` is the date-time the schema says it is."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("expires_at", "status"),
    [
        (0, 422),  # a number of seconds is not a date-time string
        ("2027-01-01T09:00:00", 422),  # no offset: which 09:00?
        ("2027-01-01T09:00:00+01:00", 200),
        (None, 200),
    ],
)
def test_expires_at_must_be_a_date_time_with_an_offset(
    client: httpx.Client, expires_at: Any, status: int
) -> None:
    response = client.put(
        "/api/v1/accounts/instagram",
        json={"account_ref": "17841400000000001", "access_token": "EAAB-token",
              "expires_at": expires_at},
    )  # fmt: skip
    assert response.status_code == status, response.text
    if status == 422:
        assert "expires_at" in response.text
    else:
        stored = response.json()["token_expires_at"]
        assert (stored is None) == (expires_at is None)


@pytest.mark.parametrize(
    ("account_ref", "status"),
    [
        ("1784\u00001400", 422),  # PostgreSQL text cannot hold a NUL byte
        ("urn:li:person:abc def", 422),
        ("17841400\u00e9", 422),
        ("", 422),
        ("urn:li:organization:2414183", 200),
    ],
)
def test_account_ref_is_a_printable_id(client: httpx.Client, account_ref: str, status: int) -> None:
    response = client.put(
        "/api/v1/accounts/linkedin",
        json={"account_ref": account_ref, "access_token": "AQX-token"},
    )
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["details"]["fields"][0]["field"] == "account_ref"
    else:
        assert response.json()["account_ref"] == account_ref
