"""What the numbers mean: each platform's metrics under one set of names, the engagement rate
each platform defines, and high-intent actions.

Snapshots store what the platform's API answered, under the API's own names (Instagram's
`saved`, LinkedIn's `likes` and `shares` as the adapters read them). Everything that reads
them back (queries, charts, the report, the best time to post) goes through `normalise`, so
a name is translated in this one place.

Engagement rate, per platform, as each platform defines it for a post:
- Instagram: interactions (likes + comments + saves + shares) / accounts reached, Meta's
  "engagement rate by reach".
- LinkedIn: (clicks + reactions + comments + reposts) / impressions, the `engagement` figure
  of LinkedIn's share statistics.
High intent: actions that cost the viewer more than a tap and predict reach: saves + shares
on Instagram, reposts on LinkedIn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# Our name -> the name the platform's API gives it (as stored in a snapshot).
METRICS: dict[str, dict[str, str]] = {
    "instagram": {
        "reach": "reach",
        "views": "views",
        "likes": "likes",
        "comments": "comments",
        "saves": "saved",
        "shares": "shares",
    },
    "linkedin": {
        "impressions": "impressions",
        "unique_impressions": "unique_impressions",
        "clicks": "clicks",
        "reactions": "likes",
        "comments": "comments",
        "reposts": "shares",
    },
}
# Per platform: (the actions counted as engagement, the audience it is divided by).
ENGAGEMENT: dict[str, tuple[tuple[str, ...], str]] = {
    "instagram": (("likes", "comments", "saves", "shares"), "reach"),
    "linkedin": (("clicks", "reactions", "comments", "reposts"), "impressions"),
}
HIGH_INTENT: dict[str, tuple[str, ...]] = {
    "instagram": ("saves", "shares"),
    "linkedin": ("reposts",),
}


def normalise(platform: str, stored: Mapping[str, object]) -> dict[str, int]:
    """A snapshot's stored values under our names; a metric the platform did not give is
    absent (not 0: "no data yet" and "nobody" are different answers)."""
    names = METRICS.get(platform, {})
    out: dict[str, int] = {}
    for ours, theirs in names.items():
        value = stored.get(theirs)
        if isinstance(value, int) and not isinstance(value, bool):
            out[ours] = value
    return out


def engagement_rate(platform: str, metrics: Mapping[str, int]) -> float | None:
    """The platform's engagement rate of normalised `metrics`; None without an audience."""
    actions, audience = ENGAGEMENT[platform]
    reached = metrics.get(audience, 0)
    if reached <= 0:
        return None
    return sum(metrics.get(name, 0) for name in actions) / reached


def high_intent(platform: str, metrics: Mapping[str, int]) -> int:
    return sum(metrics.get(name, 0) for name in HIGH_INTENT[platform])


def deltas(series: Sequence[Mapping[str, int]]) -> list[dict[str, int]]:
    """For each reading of a post, what each metric gained since the reading before (the
    first reading's gain is its whole value). A metric missing from either side is left out."""
    out: list[dict[str, int]] = []
    previous: Mapping[str, int] = {}
    for reading in series:
        out.append(
            {
                name: value - previous.get(name, 0)
                for name, value in reading.items()
                if not previous or name in previous
            }
        )
        previous = reading
    return out
