"""The report's summary, computed from the readings: the best and the worst post by engagement
rate, and how the period compares with the one before it (same length, just before).

Pure functions over Grouping.POST rows of the two periods, so every figure the report states
is one a test can check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from briefcast.pipeline.analytics.queries import Row

# Audience sizes compared between periods: Instagram's reach and LinkedIn's impressions
# (the denominators of each platform's engagement rate, see `measures.ENGAGEMENT`).
AUDIENCE_METRICS = ("reach", "impressions")


@dataclass(frozen=True)
class Trend:
    current: float | None
    previous: float | None

    @property
    def change_pct(self) -> float | None:
        """Percent change from the previous period; None without a previous figure (or from 0)."""
        if self.current is None or self.previous is None or self.previous == 0:
            return None
        return (self.current - self.previous) / self.previous * 100


@dataclass(frozen=True)
class Summary:
    posts: int
    best: Row | None  # the highest engagement rate
    worst: Row | None  # the lowest; None with fewer than two rated posts
    mean_rate: Trend  # the mean of the posts' own engagement rates
    audience: dict[str, Trend]  # "reach" / "impressions": totals of the posts' latest readings


def _rated(rows: Sequence[Row]) -> list[Row]:
    return [row for row in rows if row.engagement_rate is not None]


def mean_rate(rows: Sequence[Row]) -> float | None:
    rates = [row.engagement_rate for row in rows if row.engagement_rate is not None]
    return sum(rates) / len(rates) if rates else None


def total(rows: Sequence[Row], metric: str) -> int | None:
    """The metric summed over the posts that have it; None when none has."""
    values = [row.metrics[metric] for row in rows if metric in row.metrics]
    return sum(values) if values else None


def summarise(current: Sequence[Row], previous: Sequence[Row]) -> Summary:
    rated = sorted(_rated(current), key=lambda row: row.engagement_rate or 0.0)
    audience: dict[str, Trend] = {}
    for metric in AUDIENCE_METRICS:
        now = total(current, metric)
        if now is not None or total(previous, metric) is not None:
            audience[metric] = Trend(_float(now), _float(total(previous, metric)))
    return Summary(
        posts=len(current),
        best=rated[-1] if rated else None,
        worst=rated[0] if len(rated) >= 2 else None,
        mean_rate=Trend(mean_rate(current), mean_rate(previous)),
        audience=audience,
    )


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)


def describe_change(trend: Trend) -> str:
    """ "+12.5% against the previous period", or why there is no comparison."""
    if trend.current is None:
        return "no data in this period"
    if trend.previous is None:
        return "no previous data"
    change = trend.change_pct
    if change is None:
        return "previous period was 0"
    return f"{change:+.1f}% against the previous period"
