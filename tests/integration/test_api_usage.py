"""GET /api/v1/usage: one calendar month at a time, and months the server cannot hold are
refused by the schema rather than answered with a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from briefcast.models import ModelUsage
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.session import worker_session

pytestmark = pytest.mark.integration


def _spend(at: datetime, cost: str, tokens: int) -> None:
    with worker_session() as session:
        session.add(
            ModelUsage(
                organization_id=ensure_organization(session, "acme"), stage="copy",
                model="gpt-4o-mini", prompt_tokens=tokens, completion_tokens=0,
                cost_usd=Decimal(cost), cached=False, created_at=at,
            )
        )  # fmt: skip


def test_a_month_counts_only_that_month(client: httpx.Client) -> None:
    _spend(datetime(2026, 1, 31, 23, 59, tzinfo=UTC), "1.00", 100)
    _spend(datetime(2026, 2, 1, 0, 0, tzinfo=UTC), "2.00", 200)
    _spend(datetime(2026, 12, 31, 12, 0, tzinfo=UTC), "4.00", 400)
    january = client.get("/api/v1/usage", params={"month": "2026-01"}).json()
    assert (january["prompt_tokens"], Decimal(january["cost_usd"])) == (100, Decimal("1"))
    assert january["until"].startswith("2026-02-01T00:00:00")
    december = client.get("/api/v1/usage", params={"month": "2026-12"}).json()
    assert december["prompt_tokens"] == 400
    assert december["until"].startswith("2027-01-01T00:00:00")  # the year rolls over


@pytest.mark.parametrize("month", ["0000-01", "1999-12", "2026-13", "2026-1", "10000-01"])
def test_a_month_outside_the_schema_is_a_422(client: httpx.Client, month: str) -> None:
    response = client.get("/api/v1/usage", params={"month": month})
    assert response.status_code == 422, response.text
    assert response.json()["error_code"] == "validation_error"
