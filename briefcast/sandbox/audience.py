"""When the sandboxes' audience is there, and how a post's numbers accrue after publishing.

Both sandboxes (Instagram insights, LinkedIn share statistics) shape their per-post numbers
with this one module, so they agree on the best time to post and tests can rely on it:

- A weekly profile, in UTC: a weekday factor times an hour-of-day curve, highest exactly in
  the hour starting BEST_HOUR:00 on BEST_WEEKDAY (Wednesday 18:00-18:59 UTC) and lower in every
  other weekday x hour slot. A post published in a better slot reaches more people and more of
  them interact, so both audience and engagement rate scale with the factor.
- A saturating growth curve on the sandbox clock: a post has `1 - exp(-age / GROWTH_TAU_S)` of
  its final numbers at `age` seconds (about 4 % at 15 min, 15 % at 1 h, 63 % at 6 h, 98 % at
  24 h, all of it by 72 h). The shape is this sandbox's choice; the numbers it grows are the
  lifetime metrics Meta documents at
  https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights
  and LinkedIn's share statistics at
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics
- Per post, a deterministic variation of a few percent from the post id's hash, so two posts
  differ but never enough to move the best slot.

This is the sandbox's built-in profile, not real platform data.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

BEST_WEEKDAY = 2  # Wednesday, as `datetime.weekday()` counts (Monday = 0)
BEST_HOUR = 18  # UTC
# Monday .. Sunday; Wednesday alone is 1.0, the working week around it well below.
WEEKDAY_FACTORS = (0.7, 0.8, 1.0, 0.8, 0.7, 0.5, 0.45)
HOUR_FLOOR = 0.3  # the night-time share of the audience
HOUR_SPREAD = 1.5  # hours; the hour either side of the best one gets 0.75
GROWTH_TAU_S = 6 * 3600.0
JITTER = 0.05  # per-post variation: a factor within 1 +- JITTER


def hour_factor(hour: int) -> float:
    """The hour-of-day curve: 1.0 at BEST_HOUR, falling off (circularly) to HOUR_FLOOR."""
    distance = min((hour - BEST_HOUR) % 24, (BEST_HOUR - hour) % 24)
    return HOUR_FLOOR + (1 - HOUR_FLOOR) * math.exp(-((distance / HOUR_SPREAD) ** 2))


def audience_factor(published_at_utc: datetime | float) -> float:
    """How good the publishing slot is, in (0, 1]; exactly 1.0 only at the best slot.

    Takes an aware datetime or epoch seconds (the sandbox clock's unit)."""
    at = (
        datetime.fromtimestamp(published_at_utc, UTC)
        if isinstance(published_at_utc, int | float)
        else published_at_utc.astimezone(UTC)
    )
    return WEEKDAY_FACTORS[at.weekday()] * hour_factor(at.hour)


def grown_fraction(age_s: float) -> float:
    """The share of its final numbers a post has at `age_s`; 0 before publishing."""
    return 1 - math.exp(-max(age_s, 0.0) / GROWTH_TAU_S)


def grow(final: float, age_s: float) -> int:
    """An integer count at `age_s` that never decreases as the post ages."""
    return math.floor(final * grown_fraction(age_s))


def jitter(post_id: str, count: int) -> list[float]:
    """`count` deterministic factors within 1 +- JITTER for one post."""
    digest = hashlib.sha256(post_id.encode()).digest()
    return [1 - JITTER + 2 * JITTER * digest[i] / 255 for i in range(count)]


def grown_actions(
    final_audience: float,
    rates: Mapping[str, float],
    factor: float,
    jitters: Sequence[float],
    age_s: float,
) -> dict[str, int]:
    """Each action's count at `age_s`: its rate of the final audience, scaled by the slot's
    factor (a better slot also brings a larger share who act) and the post's own jitter."""
    return {
        name: grow(final_audience * rate * factor * j, age_s)
        for (name, rate), j in zip(rates.items(), jitters, strict=True)
    }
