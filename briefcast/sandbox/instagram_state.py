"""Instagram sandbox state: containers, media, tokens and the rolling windows (§2.3 to §2.6).

Section numbers (§) refer to docs/contracts/.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from briefcast.sandbox.common import Accounts, IdGen, SandboxCore

DAY_S = 24 * 3600
CONTAINER_TTL_S = DAY_S  # §2.3 "Containers expire after 24 hours"
CONTAINER_WINDOW_S = DAY_S  # §2.3 400 containers per rolling 24 h
QUOTA_WINDOW_S = DAY_S  # §2.6 rolling 24 h publishing window
CONTAINER_LIMIT = 400  # §2.3 [V]
STATUS_TEXT = {  # §2.4 (FINISHED captured; the others [I])
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "PUBLISHED": "Published: Media has been published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
}


@dataclass
class Container:
    id: str
    owner: str
    image_url: str
    caption: str
    alt_text: str
    created_at: float
    polls: int = 0
    media_id: str | None = None


@dataclass
class Media:
    id: str
    owner: str
    caption: str
    media_url: str
    permalink: str
    timestamp: str
    published_at: float
    container_id: str
    media_type: str = "IMAGE"


@dataclass
class InstagramConfig:
    """The knobs the Instagram contract leaves open ([I]/[C], §0.6); see
    `instagram.create_app` for each."""

    quota_total: int = 100  # §2.6: 25 → 50 → 100 over time; read at runtime
    finish_after_polls: int = 0  # §2.4 fake: N polls before FINISHED
    finish_after_s: float = 0.0  # ... and/or this many seconds on the sandbox clock
    container_limit: int = CONTAINER_LIMIT
    insights_delay_s: float = 0.0  # §2.8: data can lag up to 48 h; empty `data` until then
    insights_min_reach: int = 0  # §2.8: below this reach, code 10 "Not enough viewers"
    expired_tokens: frozenset[str] = field(default_factory=frozenset)
    # token → the IG user it acts as; the quota and the container cap are per user (§2.3, §2.6)
    accounts: dict[str, str] = field(default_factory=dict)


class InstagramState:
    def __init__(self, core: SandboxCore, config: InstagramConfig) -> None:
        self.core = core
        self.config = config
        self.traces = IdGen(core.ids.seed + 1)  # fbtrace ids must not shift the object ids
        self.accounts = Accounts(config.accounts)
        self.reset()

    def reset(self) -> None:
        self.containers: dict[str, Container] = {}
        self.media: dict[str, Media] = {}
        self.publish_times: defaultdict[str, list[float]] = defaultdict(list)  # per IG user
        # token → when it expired (epoch s); configured ones count as expired since the start.
        self.expired: dict[str, float] = dict.fromkeys(self.config.expired_tokens, 0.0)
        self.traces.reset()
        self.accounts.reset()

    def status_code(self, c: Container) -> str:
        """§2.4 state machine: PUBLISHED, else EXPIRED at 24 h, else FINISHED once both the
        poll count and the processing delay have passed, else IN_PROGRESS."""
        if c.media_id is not None:
            return "PUBLISHED"
        age = self.core.clock.now() - c.created_at
        if age >= CONTAINER_TTL_S:
            return "EXPIRED"
        ready = c.polls >= self.config.finish_after_polls and age >= self.config.finish_after_s
        return "FINISHED" if ready else "IN_PROGRESS"

    def _in_window(self, times: list[float], window_s: float) -> int:
        now = self.core.clock.now()
        return sum(1 for t in times if now - window_s < t <= now)

    def quota_usage(self, owner: str) -> int:  # §2.6 moving window per user, no daily reset
        return self._in_window(self.publish_times[owner], QUOTA_WINDOW_S)

    def containers_in_window(self, owner: str) -> int:  # §2.3 rolling 24 h
        times = [c.created_at for c in self.containers.values() if c.owner == owner]
        return self._in_window(times, CONTAINER_WINDOW_S)
