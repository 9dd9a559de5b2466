"""Request rate limits and the daily brief quota, counted in Redis db 0.

A limited route has one dependency from here (`dependencies=[...]` on its decorator), and it
costs one Redis round trip: a Lua script looks at every counter the request counts against
(for a brief: its client IP's content limit and its organization's daily quota) and, only if
all have room, counts it in all of them. A refused request is not counted, so a client that
keeps retrying does not push its own window out.

The windows are fixed, as slowapi's default (the `limits` library's fixed-window strategy):
a counter starts with its first request and expires a window later; Retry-After is what is
left of it. The limits are written in the notation slowapi takes ("10/minute", settings
RATE_LIMIT_*), and the client IP is slowapi's key function (`request.client`: behind a proxy,
uvicorn's --proxy-headers and FORWARDED_ALLOW_IPS make it the real client). slowapi's Limiter
itself does not count here: it is synchronous, so every check would block the event loop for
a Redis round trip, and it spends a round trip per limit.

The daily quota counts briefs per organization per UTC day, under a key per day that expires
after it; a 429 `daily_quota_exceeded` says when it resets (Retry-After: until midnight UTC).

Campaign occurrences the materializer turns into runs do not count: they never pass here.

When Redis cannot be reached, requests are let through (the limits protect the service; they
must not be what takes it down) and Redis is left alone for a few seconds before the next try.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

import structlog
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from limits import RateLimitItem, parse_many
from redis.asyncio import Redis
from redis.exceptions import RedisError
from slowapi.util import get_remote_address
from starlette.routing import BaseRoute

from briefcast.api.auth import Principal
from briefcast.api.deps import PrincipalDep
from briefcast.api.errors import ApiError
from briefcast.settings import Settings, get_settings

log = structlog.get_logger(__name__)

# After Redis failed, count nothing for this long: every limited request would otherwise wait
# out the client's timeout first.
REST_AFTER_FAILURE_S = 5.0
# The daily quota's key outlives its day by this much (clocks of API hosts differ a little).
QUOTA_KEY_SLACK_MS = 60_000

# KEYS: the counters; ARGV: per counter, its limit and its window in ms. Returns {0, 0} when
# the request was counted everywhere, else {i, ms}: counter i (from 1) is full for ms more.
_ADMIT = """
for i = 1, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      ttl = tonumber(ARGV[2 * i])
      if used > 0 then redis.call('PEXPIRE', KEYS[i], ttl) end
    end
    return {i, ttl}
  end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
  end
end
return {0, 0}
"""


@dataclass(frozen=True)
class Rule:
    """A group of routes sharing one limit (setting `rate_limit_<name>`), per IP or per user."""

    name: Literal["content", "images", "publishing", "analytics"]
    per: Literal["ip", "user"]

    @property
    def setting(self) -> str:
        return f"rate_limit_{self.name}"


CONTENT = Rule("content", "ip")
IMAGES = Rule("images", "ip")
PUBLISHING = Rule("publishing", "user")
ANALYTICS = Rule("analytics", "user")
RULES = (CONTENT, IMAGES, PUBLISHING, ANALYTICS)


@lru_cache(maxsize=64)
def parse_limit(text: str) -> RateLimitItem:
    """One limit in the `limits` notation, e.g. "10/minute" or "5 per 30 seconds"."""
    items = parse_many(text)
    if len(items) != 1:
        raise ValueError(f"one rate limit expected, not {text!r}")
    return items[0]


def check_settings(settings: Settings) -> None:
    """Fail at start-up, not at the first request, on a limit that does not parse."""
    for rule in RULES:
        value = getattr(settings, rule.setting)
        try:
            parse_limit(value)
        except ValueError as exc:
            raise ValueError(f"{rule.setting.upper()}={value!r}: {exc}") from exc


Counter = tuple[str, int, int]  # key, limit, window in ms


class RateLimiter:
    """The counting, on the API process's Redis client (db 0). One per process."""

    def __init__(self, redis: Redis[bytes]) -> None:
        self._script = redis.register_script(_ADMIT)
        self._resting_until = 0.0

    async def admit(self, counters: list[Counter]) -> tuple[int, int]:
        """(0, 0): the request is within every limit and counted. Else (i, ms): counters[i-1]
        is full for `ms` more milliseconds, and nothing was counted."""
        if self._resting_until and time.monotonic() < self._resting_until:
            return 0, 0
        args: list[int] = []
        for _, limit, window_ms in counters:
            args += (limit, window_ms)
        try:
            full, ttl_ms = await self._script(keys=[key for key, _, _ in counters], args=args)
        except (RedisError, OSError) as exc:
            self._resting_until = time.monotonic() + REST_AFTER_FAILURE_S
            log.warning(
                "ratelimit.redis_unavailable",
                error=type(exc).__name__,
                letting_through_s=REST_AFTER_FAILURE_S,
            )
            return 0, 0
        self._resting_until = 0.0
        return int(full), int(ttl_ms)


def _counter(rule: Rule, settings: Settings, request: Request, principal: Principal) -> Counter:
    item = parse_limit(getattr(settings, rule.setting))
    if rule.per == "ip":
        who = f"ip:{get_remote_address(request)}"
    else:
        who = f"user:{principal.organization_id}:{principal.subject}"
    window = f"{item.amount}/{item.multiples}{item.GRANULARITY.name}"
    return f"ratelimit:{rule.name}:{who}:{window}", item.amount, item.get_expiry() * 1000


def _rate_limited(rule: Rule, settings: Settings, ttl_ms: int) -> ApiError:
    item = parse_limit(getattr(settings, rule.setting))
    retry_after = max(1, math.ceil(ttl_ms / 1000))
    who = "this address" if rule.per == "ip" else "this user"
    return ApiError(
        429,
        "rate_limited",
        f"Too many {rule.name} requests from {who}: the limit is {item}. Retry in {retry_after} s.",
        {"limit": str(item), "scope": rule.name, "per": rule.per, "retry_after_s": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def _midnight_after(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _quota_exceeded(quota: int, now: datetime) -> ApiError:
    resets_at = _midnight_after(now)
    retry_after = max(1, math.ceil((resets_at - now).total_seconds()))
    return ApiError(
        429,
        "daily_quota_exceeded",
        f"The organization has submitted its {quota} briefs for today (UTC). "
        f"It resets at {resets_at.isoformat()}.",
        {
            "limit": quota,
            "period": "day (UTC)",
            "resets_at": resets_at.isoformat(),
            "retry_after_s": retry_after,
        },
        headers={"Retry-After": str(retry_after)},
    )


async def _check(rule: Rule, request: Request, principal: Principal) -> None:
    settings = get_settings()
    limiter: RateLimiter = request.app.state.limiter
    full, ttl_ms = await limiter.admit([_counter(rule, settings, request, principal)])
    if full:
        raise _rate_limited(rule, settings, ttl_ms)


# The principal comes first (FastAPI resolves it once per request, shared with the route):
# a request without a valid token is answered 401 without a round trip to Redis.


async def limit_brief(request: Request, principal: PrincipalDep) -> None:
    """POST /briefs: the client IP's content limit and the organization's daily quota."""
    settings = get_settings()
    counters = [_counter(CONTENT, settings, request, principal)]
    quota = settings.briefs_per_org_per_day
    if quota:
        now = datetime.now(UTC)
        day_ms = math.ceil((_midnight_after(now) - now).total_seconds() * 1000)
        day_ms += QUOTA_KEY_SLACK_MS
        counters.append((f"quota:briefs:{principal.organization_id}:{now:%Y-%m-%d}", quota, day_ms))
    limiter: RateLimiter = request.app.state.limiter
    full, ttl_ms = await limiter.admit(counters)
    if full == 1:
        raise _rate_limited(CONTENT, settings, ttl_ms)
    if full == 2:
        raise _quota_exceeded(quota, datetime.now(UTC))


async def limit_content(request: Request, principal: PrincipalDep) -> None:
    await _check(CONTENT, request, principal)


async def limit_images(request: Request, principal: PrincipalDep) -> None:
    await _check(IMAGES, request, principal)


async def limit_publishing(request: Request, principal: PrincipalDep) -> None:
    await _check(PUBLISHING, request, principal)


async def limit_analytics(request: Request, principal: PrincipalDep) -> None:
    await _check(ANALYTICS, request, principal)


# For a route decorator: `dependencies=[CONTENT_LIMIT]`.
BRIEF_LIMITS = Depends(limit_brief)
CONTENT_LIMIT = Depends(limit_content)
IMAGES_LIMIT = Depends(limit_images)
PUBLISHING_LIMIT = Depends(limit_publishing)
ANALYTICS_LIMIT = Depends(limit_analytics)
_LIMITS = {limit_brief, limit_content, limit_images, limit_publishing, limit_analytics}
_429 = {
    "description": "error_code: rate_limited",
    "headers": {
        "Retry-After": {
            "description": "Seconds until the request may be made again.",
            "schema": {"type": "integer"},
        }
    },
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error_code", "message", "timestamp", "details"],
                "properties": {
                    "error_code": {"type": "string"},
                    "message": {"type": "string"},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "details": {"type": "object"},
                },
            }
        }
    },
}


def document_limits(routes: Iterable[BaseRoute]) -> None:
    """Name the 429 in the OpenAPI document of every route a limit applies to (call it on
    `app.routes` before the first request)."""
    for route in routes:
        if isinstance(route, APIRoute):
            limits = {d.dependency for d in route.dependencies} & _LIMITS
            if limit_brief in limits:
                route.responses.setdefault(
                    429, {**_429, "description": "error_code: rate_limited, daily_quota_exceeded"}
                )
            elif limits:
                route.responses.setdefault(429, _429)
        elif (included := getattr(route, "original_router", None)) is not None:
            document_limits(included.routes)  # FastAPI keeps an included router as one route
