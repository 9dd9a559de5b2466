"""OpenAI moderation for the gate, used when an OpenAI key is configured (docs/contracts §1.5)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from openai import OpenAI

from briefcast.pipeline.copy.resilience import call_with_retries
from briefcast.settings import Settings

MODEL = "omni-moderation-latest"


class Moderator(Protocol):
    def flags(self, texts: Sequence[str]) -> list[list[str]]:
        """For each text, the categories it was flagged for (empty when clean)."""
        ...


class OpenAIModerator:
    def __init__(self, client: OpenAI, attempts: int = 3):
        self.client = client
        self.attempts = attempts

    def flags(self, texts: Sequence[str]) -> list[list[str]]:
        if not texts:
            return []
        response = call_with_retries(
            lambda: self.client.moderations.create(model=MODEL, input=list(texts)),
            self.attempts,
        )
        return [
            sorted(name for name, hit in result.categories.model_dump(by_alias=True).items() if hit)
            for result in response.results
        ]


def moderator(settings: Settings) -> Moderator | None:
    """OpenAI moderation when a key is configured; without one the gate runs without it."""
    if settings.openai_api_key is None:
        return None
    return _openai_moderator(
        settings.openai_api_key.get_secret_value(),
        settings.openai_base_url,
        settings.openai_attempts,
    )


@lru_cache(maxsize=4)
def _openai_moderator(key: str, base_url: str | None, attempts: int) -> Moderator:
    return OpenAIModerator(OpenAI(api_key=key, base_url=base_url, max_retries=0), attempts)
