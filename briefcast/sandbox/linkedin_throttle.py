"""LinkedIn daily rate limits (§3.8): per-app and per-member counters per endpoint.

Limits reset at 00:00 UTC on the sandbox clock. LinkedIn publishes no standard numbers, so
every limit is configuration; an endpoint without one is never throttled.
Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from briefcast.sandbox.common import Clock

DAY_S = 24 * 3600


def endpoint_key(method: str, path: str) -> str:
    """`POST /rest/posts`, `GET /rest/socialActions`: the resource, not the URN in the path."""
    parts = path.split("/")
    resource = "/".join(parts[:3]) if len(parts) > 2 else path
    return f"{method.upper()} {resource}"


class DailyThrottle:
    def __init__(
        self,
        clock: Clock,
        app_limits: Mapping[str, int] | None = None,
        member_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.clock = clock
        self.app_limits = dict(app_limits or {})
        self.member_limits = dict(member_limits or {})
        self._lock = threading.Lock()
        self._counts: dict[tuple[int, str, str], int] = {}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def allow(self, member: str, endpoint: str) -> bool:
        """Count one call; False when the app or this member is over today's limit.

        Epoch days start at 00:00 UTC, so `now // DAY_S` is the UTC day (§3.8). A refused call
        is not counted: it never reached the resource.
        """
        day = int(self.clock.now() // DAY_S)
        scopes = (("app", self.app_limits), (f"member:{member}", self.member_limits))
        with self._lock:
            keys = [((day, who, endpoint), lim[endpoint]) for who, lim in scopes if endpoint in lim]
            if any(self._counts.get(key, 0) >= limit for key, limit in keys):
                return False
            for key, _ in keys:
                self._counts[key] = self._counts.get(key, 0) + 1
            for stale in [k for k in self._counts if k[0] < day]:
                del self._counts[stale]
        return True
