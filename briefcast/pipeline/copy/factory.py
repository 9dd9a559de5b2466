"""Building the copy chain from settings, once per process and configuration."""

from __future__ import annotations

from functools import lru_cache

from openai import OpenAI

from briefcast.pipeline.copy.cache import RedisCopyCache
from briefcast.pipeline.copy.chain import FallbackChain
from briefcast.pipeline.copy.model import CopyModel
from briefcast.pipeline.copy.offline import OfflineCopywriter
from briefcast.pipeline.copy.openai_model import OpenAICopyModel
from briefcast.settings import Settings, get_settings


def copy_chain(settings: Settings | None = None) -> CopyModel:
    """OpenAI (primary, then fallback) when a key is configured, always ending offline."""
    settings = settings or get_settings()
    if settings.openai_api_key is None:
        return OfflineCopywriter()
    return _chain(
        settings.openai_api_key.get_secret_value(),
        settings.openai_base_url,
        settings.openai_model,
        settings.openai_fallback_model,
        settings.redis_cache_url if settings.redis_url else None,
    )


@lru_cache(maxsize=4)
def _chain(
    key: str, base_url: str | None, model: str, fallback: str | None, cache_url: str | None
) -> CopyModel:
    settings = get_settings()
    # One pooled client per process; retries are ours (resilience.py), so the SDK's are off.
    client = OpenAI(
        api_key=key, base_url=base_url, timeout=settings.openai_timeout_s, max_retries=0
    )
    cache = RedisCopyCache(cache_url, settings.copy_cache_ttl_s) if cache_url else None
    models: list[CopyModel] = [
        OpenAICopyModel(
            client,
            name,
            cache=cache,
            attempts=settings.openai_attempts,
            hashtag_cap=settings.instagram_hashtag_cap,
        )
        for name in dict.fromkeys([model, fallback] if fallback else [model])
    ]
    return FallbackChain([*models, OfflineCopywriter()])
