"""One publisher per platform per process, built from settings (pooled HTTP clients)."""

from __future__ import annotations

from functools import cache

from briefcast.models.posts import Platform
from briefcast.pipeline.adapters.publisher import Publisher
from briefcast.settings import get_settings


@cache
def publisher_for(platform: str) -> Publisher:
    settings = get_settings()
    if platform == Platform.INSTAGRAM:
        from briefcast.pipeline.adapters.instagram import InstagramPublisher

        return InstagramPublisher.from_settings(settings)
    if platform == Platform.LINKEDIN:
        from briefcast.pipeline.adapters.linkedin import LinkedInPublisher

        return LinkedInPublisher.from_settings(settings)
    raise ValueError(f"no publisher for platform {platform!r}")
