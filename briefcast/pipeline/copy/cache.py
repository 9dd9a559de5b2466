"""Copy cache in Redis db 2: the same request to the same model is answered once.

The key is a hash of the normalised request (model, messages, schema). The prompt carries the
brand voice and its version, so editing a voice changes every key made from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any, Protocol

import redis

PREFIX = "copy:v1:"


def cache_key(model: str, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
    canonical = json.dumps([model, messages, schema], sort_keys=True, separators=(",", ":"))
    return PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


class CopyCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, value: dict[str, Any]) -> None: ...


class RedisCopyCache:
    def __init__(self, url: str, ttl_s: int):
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.ttl_s = ttl_s

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self.client.get(key)
        except redis.RedisError:
            return None  # a cache outage costs money, not correctness
        return None if raw is None else dict(json.loads(raw))

    def set(self, key: str, value: dict[str, Any]) -> None:
        with contextlib.suppress(redis.RedisError):  # the copy is still good, just not kept
            self.client.set(key, json.dumps(value), ex=self.ttl_s)
