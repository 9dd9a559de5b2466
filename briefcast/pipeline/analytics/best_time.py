"""`publish_at: "best"`: the weekday and hour at which an organization's posts engage best,
and the next time that cell comes round.

Each weekday x hour cell (local to the chosen time zone) is scored with a shrinkage estimate:

    score = (n * cell_rate + K * prior) / (n + K)

where `n` is the number of the cell's posts with an engagement rate in the last 90 days,
`cell_rate` their mean rate (`measures.engagement_rate`, through `queries.grouped_sync`), and
`prior` the organization's average rate over all cells times the default weekly profile's
factor for the cell. A cell's own posts weigh as much as the prior once it has K of them and
outweigh it as they grow; with no data at all the profile alone decides. Ties go to the cell
that comes round first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from briefcast.models.posts import Platform
from briefcast.pipeline.analytics import queries
from briefcast.pipeline.campaigns.schedule import to_utc

LOOKBACK = timedelta(days=90)
# The time is chosen when the images are ready (the schedule stage), so the lead leaves room
# for the dispatcher to claim the post and for a person to read the run before it goes out.
LEAD = timedelta(minutes=5)
# K above: how many posts of its own a cell needs before they count as much as the prior.
PRIOR_POSTS = 5

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The default weekly profile, in local time: the shape of when posts do better or worse than
# average, by the hour they go out and the day. The shape is the common finding of published
# posting-time studies for business accounts on Instagram and LinkedIn: working-day mornings
# (the commute and the first coffee), lunch and the early evening engage best, nights least,
# and weekends somewhat less than midweek.
_HOUR_SHAPE = (
    0.4, 0.3, 0.3, 0.3, 0.3, 0.4,  # 00-05: asleep
    0.6, 0.9, 1.1, 1.3, 1.2, 1.1,  # 06-11: commute, start of the working day
    1.2, 1.0, 1.0, 1.0, 1.1, 1.2,  # 12-17: lunch, afternoon, leaving work
    1.3, 1.2, 1.0, 0.8, 0.6, 0.5,  # 18-23: early evening, then winding down
)  # fmt: skip
_DAY_SHAPE = (1.0, 1.1, 1.1, 1.05, 0.95, 0.8, 0.8)  # Monday .. Sunday
# The shape is a preference, not a forecast for any one audience, so the prior moves a cell
# at most about 20 % from the organization's average: a cell whose own posts do clearly
# better wins once it has a few of them, rather than losing to a cell nobody posted in.
PROFILE_AMPLITUDE = 0.25


def _profile() -> dict[tuple[int, int], float]:
    raw = {
        (d, h): day * hour for d, day in enumerate(_DAY_SHAPE) for h, hour in enumerate(_HOUR_SHAPE)
    }
    mean = sum(raw.values()) / len(raw)
    return {cell: 1 + PROFILE_AMPLITUDE * (value / mean - 1) for cell, value in raw.items()}


# (weekday 0 = Monday, hour) -> the prior's factor on the average, averaging 1 over the week.
DEFAULT_PROFILE: dict[tuple[int, int], float] = _profile()


@dataclass(frozen=True)
class Cell:
    weekday: int
    hour: int
    posts: int  # posts with an engagement rate
    rate: float | None  # their mean rate
    score: float


@dataclass(frozen=True)
class BestTime:
    at: datetime  # aware, in the chosen zone
    weekday: int
    hour: int
    reason: str


def score_cells(rows: Sequence[queries.Row]) -> list[Cell]:
    """Every weekday x hour cell, scored; `rows` are `Grouping.WEEKDAY_HOUR` rows."""
    seen: dict[tuple[int, int], tuple[int, float]] = {}
    for row in rows:
        if row.engagement_rate is None or row.posts <= 0:
            continue  # no post of the cell had an audience to divide by
        key = (int(row.key["weekday"] or 0), int(row.key["hour"] or 0))
        seen[key] = (row.posts, row.engagement_rate)
    total = sum(n for n, _ in seen.values())
    # The prior's level: the organization's own average, or unitless without data.
    baseline = sum(n * r for n, r in seen.values()) / total if total else 1.0
    cells = []
    for (weekday, hour), factor in DEFAULT_PROFILE.items():
        n, rate = seen.get((weekday, hour), (0, 0.0))
        score = (n * rate + PRIOR_POSTS * baseline * factor) / (n + PRIOR_POSTS)
        cells.append(Cell(weekday, hour, n, rate if n else None, score))
    return cells


def next_occurrence(weekday: int, hour: int, zone: ZoneInfo, not_before: datetime) -> datetime:
    """The first `weekday` at `hour`:00 local time at or after `not_before`. Computed on the
    local calendar, so 18:00 stays 18:00 across a daylight-saving change; an hour that does
    not exist that day (spring forward) is read as the campaign schedules read it
    (`schedule.to_utc`: the offset before the gap, so 02:00 becomes 03:00)."""
    start = not_before.astimezone(zone).date()
    for days in range(15):
        day = start + timedelta(days=days)
        if day.weekday() != weekday:
            continue
        at = to_utc(datetime.combine(day, time(hour)), zone)
        if at >= not_before:
            return at.astimezone(zone)
    raise AssertionError("a weekday comes round within two weeks")


def choose(
    rows: Sequence[queries.Row],
    zone_name: str,
    not_before: datetime,
    platform: str | None = None,
) -> BestTime:
    """The best cell's next occurrence at or after `not_before`, with the reason."""
    zone = ZoneInfo(zone_name)
    cells = score_cells(rows)
    timed = [(c, next_occurrence(c.weekday, c.hour, zone, not_before)) for c in cells]
    best, at = min(timed, key=lambda pair: (-pair[0].score, pair[1]))
    return BestTime(at, best.weekday, best.hour, _reason(best, cells, zone_name, platform))


def _reason(best: Cell, cells: Sequence[Cell], zone_name: str, platform: str | None) -> str:
    when = f"{WEEKDAY_NAMES[best.weekday]} {best.hour:02d}:00 {zone_name}"
    total = sum(c.posts for c in cells)
    if best.posts >= PRIOR_POSTS and best.rate is not None:
        average = sum(c.posts * (c.rate or 0.0) for c in cells) / total
        where = f"{Platform(platform).label} " if platform else ""
        return (
            f"{when}: best {where}engagement of your last {LOOKBACK.days} days "
            f"({best.posts} posts, {best.rate * 100:.1f} % vs {average * 100:.1f} % average)"
        )
    return (
        f"{when}: from the default profile: fewer than {PRIOR_POSTS} posts of your own at "
        f"this hour yet ({best.posts} of {total} in the last {LOOKBACK.days} days)"
    )


def best_time(
    session: Session,
    organization_id: uuid.UUID,
    zone_name: str,
    not_before: datetime,
    now: datetime,
    platform: str | None = None,
) -> BestTime:
    """The best time for an organization's next post on `platform` (None: all platforms),
    from its own engagement over the last 90 days in `zone_name`."""
    where = queries.Filter(
        organization_id, since=now - LOOKBACK, until=now, platform=platform, timezone=zone_name
    )
    rows = queries.grouped_sync(session, where, queries.Grouping.WEEKDAY_HOUR)
    return choose(rows, zone_name, not_before, platform)
