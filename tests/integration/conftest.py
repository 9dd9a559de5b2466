"""Fixtures for the integration tests: the API as the test organization."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Live


@pytest.fixture
def client(live: Live, org_token: str) -> Iterator[httpx.Client]:
    """The API as the test organization, with fresh sandboxes."""
    live.reset_sandboxes()
    with httpx.Client(
        base_url=live.api_url, headers={"Authorization": f"Bearer {org_token}"}, timeout=30
    ) as http:
        yield http
