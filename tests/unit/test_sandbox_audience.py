"""The sandboxes' audience: growth on the sandbox clock, the weekly profile, determinism."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from briefcast.pipeline.adapters.linkedin import SHARE_STATS
from briefcast.pipeline.analytics import measures
from briefcast.sandbox import audience
from briefcast.sandbox.instagram_rules import insight_values
from briefcast.sandbox.linkedin_rules import share_statistics

Reader = Callable[[str, datetime, float], dict[str, int]]
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, 00:00 UTC
WEEK = [MONDAY + timedelta(hours=h) for h in range(7 * 24)]
AGES = [-60, 0, 60, 900, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400]
DAY_S, WEEK_S = 86400, 7 * 86400
POSTS = ["17890000000000001", "17890000000000002", "urn:li:share:7000000000000000009"]


def _instagram(post: str, at: datetime, age_s: float) -> dict[str, int]:
    published = at.timestamp()
    return insight_values(post, published, published + age_s)


def _linkedin(post: str, at: datetime, age_s: float) -> dict[str, int]:
    published = at.timestamp()
    stats = share_statistics(post, published, published + age_s)
    return {k: v for k, v in stats.items() if isinstance(v, int)}


READERS: list[Reader] = [_instagram, _linkedin]


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize("post", POSTS)
def test_counts_never_decrease_with_age_and_saturate(read: Reader, post: str) -> None:
    at = MONDAY + timedelta(days=2, hours=9)
    series = [read(post, at, age) for age in AGES]
    assert all(v == 0 for v in series[0].values())  # nothing before publishing
    for before, after in pairwise(series):
        assert all(after[name] >= before[name] for name in before), (before, after)
    at_72h, at_7d, at_30d = series[-3:]
    assert at_7d == at_30d  # saturated
    assert all(at_30d[n] - at_72h[n] <= max(1, at_30d[n] // 100) for n in at_30d)  # near-final
    hour, day = series[4], series[6]
    assert 0 < hour[next(iter(hour))] < day[next(iter(day))]  # still growing in the first day


def test_growth_curve_shape() -> None:
    assert audience.grown_fraction(-5) == audience.grown_fraction(0) == 0
    fractions = [audience.grown_fraction(a) for a in AGES]
    assert fractions == sorted(fractions) and fractions[-1] <= 1
    assert 0.6 < audience.grown_fraction(audience.GROWTH_TAU_S) < 0.64  # 1 - 1/e
    assert audience.grown_fraction(3 * DAY_S) > 0.999
    counts = [audience.grow(1234.5, a) for a in range(0, WEEK_S, 600)]
    assert counts == sorted(counts) and counts[-1] == 1234


def test_the_weekly_profile_peaks_exactly_at_the_best_slot() -> None:
    factors = {(t.weekday(), t.hour): audience.audience_factor(t) for t in WEEK}
    best = max(factors, key=factors.__getitem__)
    assert best == (audience.BEST_WEEKDAY, audience.BEST_HOUR) == (2, 18)
    assert factors[best] == 1.0
    assert all(f < 1.0 for slot, f in factors.items() if slot != best)
    # The whole hour counts, and epoch seconds mean the same as a datetime.
    slot = MONDAY + timedelta(days=audience.BEST_WEEKDAY, hours=audience.BEST_HOUR)
    assert audience.audience_factor(slot + timedelta(minutes=59)) == 1.0
    assert audience.audience_factor(slot.timestamp()) == 1.0
    assert audience.audience_factor(slot + timedelta(hours=1)) < 0.8


def _stored(platform: str, values: dict[str, int]) -> dict[str, int]:
    """Sandbox numbers under the names the adapters store (Instagram's are the same)."""
    if platform == "instagram":
        return values
    return {ours: values[theirs] for ours, theirs in SHARE_STATS}


@pytest.mark.parametrize(("platform", "read"), [("instagram", _instagram), ("linkedin", _linkedin)])
@pytest.mark.parametrize("post", POSTS)
def test_both_platforms_engage_most_at_the_best_slot(
    platform: str, read: Reader, post: str
) -> None:
    rates: dict[tuple[int, int], float | None] = {}
    audiences: dict[tuple[int, int], int] = {}
    _, audience_name = measures.ENGAGEMENT[platform]
    for t in WEEK:
        metrics = measures.normalise(platform, _stored(platform, read(post, t, WEEK_S)))
        rates[(t.weekday(), t.hour)] = measures.engagement_rate(platform, metrics)
        audiences[(t.weekday(), t.hour)] = metrics[audience_name]
    best = (audience.BEST_WEEKDAY, audience.BEST_HOUR)
    assert max(rates, key=lambda s: rates[s] or 0) == best
    assert max(audiences, key=audiences.__getitem__) == best


@pytest.mark.parametrize("read", READERS)
def test_numbers_are_deterministic_per_post(read: Reader) -> None:
    at = MONDAY + timedelta(days=4, hours=12)
    first = [read(post, at, DAY_S) for post in POSTS]
    assert first == [read(post, at, DAY_S) for post in POSTS]
    assert len({tuple(sorted(v.items())) for v in first}) == len(POSTS)  # posts differ


def test_any_post_at_the_best_slot_beats_any_post_elsewhere() -> None:
    """The per-post variation is smaller than the step to the next-best slot."""
    slot = MONDAY + timedelta(days=audience.BEST_WEEKDAY, hours=audience.BEST_HOUR)
    worst_best = (1 - audience.JITTER) ** 2
    runner_up = max(audience.audience_factor(t) for t in WEEK if t != slot)
    assert worst_best > runner_up * (1 + audience.JITTER) ** 2
