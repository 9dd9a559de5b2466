"""A small HTTP client for the API, used by the CLI and the demo."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from briefcast.api.auth import Role, create_token
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.session import worker_session
from briefcast.settings import get_settings


def bootstrap_token(org_slug: str = "demo", role: Role = Role.ADMIN) -> str:
    """Make sure the organization exists and mint a token for it (local use; admin unless
    another role is asked for)."""
    with worker_session() as session:
        org_id = ensure_organization(session, org_slug, org_slug.title())
    return create_token(get_settings(), org_id, subject=f"cli:{org_slug}", role=role)


class ApiClient:
    """One keep-alive connection to the API; close it (or use it in a `with`) when done."""

    def __init__(self, base_url: str, token: str):
        # 30 s, not httpx's 5: an API process's first campaign request starts its schedule
        # worker (api/schedule_worker.py), which took over 10 s on a loaded two-core machine
        # (the demo's campaign creation timed out there).
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def submit(self, brief: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        response = self.http.post("/api/v1/briefs", json=brief, headers=headers)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/runs/{run_id}")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def create_campaign(self, campaign: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/api/v1/campaigns", json=campaign)
        _raise_with_body(response)
        body: dict[str, Any] = response.json()
        return body

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/campaigns/{campaign_id}")
        _raise_with_body(response)
        body: dict[str, Any] = response.json()
        return body


def _raise_with_body(response: httpx.Response) -> None:
    """Like raise_for_status, with the API's error body in the message: it says what to fix."""
    if response.is_error:
        raise httpx.HTTPStatusError(
            f"{response.status_code} {response.reason_phrase}: {response.text}",
            request=response.request,
            response=response,
        )


def load_json(path: Path) -> dict[str, Any]:
    brief: dict[str, Any] = json.loads(path.read_text())
    return brief
