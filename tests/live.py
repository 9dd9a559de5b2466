"""What tests share about the stack the suite runs: the repository root, the rate limits it
runs with, and `Live`, the handle the `live` fixture (tests/conftest.py) yields."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# The suite posts far more briefs, uploads and reads from one address and one user than the
# product's rate limits allow; tests/integration/test_api_edge.py checks the real defaults.
TEST_LIMITS = {
    "RATE_LIMIT_CONTENT": "1000000/minute",
    "RATE_LIMIT_IMAGES": "1000000/minute",
    "RATE_LIMIT_PUBLISHING": "1000000/minute",
    "RATE_LIMIT_ANALYTICS": "1000000/minute",
    "BRIEFS_PER_ORG_PER_DAY": "100000000",
}

# The `api_as` fixture: opens a client of the API as the holder of a token (or of none).
ApiAs = Callable[[str | None], httpx.Client]


class Live:
    """The live parts of a test stack: sandboxes, the API on a real port, an in-process worker."""

    def __init__(self, api_url: str, instagram_url: str, linkedin_url: str, openai_url: str):
        self.api_url = api_url
        self.instagram_url = instagram_url
        self.linkedin_url = linkedin_url
        self.openai_url = openai_url

    def api_client(self, token: str | None) -> httpx.Client:
        """The API as the holder of `token` (None: no Authorization); the caller closes it."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30)

    def sandbox_posts(self, platform: str) -> list[dict[str, object]]:
        base = self.instagram_url if platform == "instagram" else self.linkedin_url
        posts: list[dict[str, object]] = httpx.get(f"{base}/_sandbox/posts").json()
        return posts

    def reset_sandboxes(self) -> None:
        for base in (self.instagram_url, self.linkedin_url, self.openai_url):
            httpx.post(f"{base}/_sandbox/reset").raise_for_status()
