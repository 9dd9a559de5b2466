"""The campaigns `bench.campaigns` plants: a mix of schedules as customers set them up.

Each campaign is one row as the API stores it (schedule document, IANA zone, brief template,
content mode; a slot queue's items with their slots), inserted in bulk through the models.
Its recurrence started (DTSTART) up to --max-age-days before the bench's clock, and beat has
materialized it through `cursor`: the cursor, `next_due_at` and `schedule_anchor` are what
the API writes at creation (`next_occurrence` after the cursor), advanced to where the tick a
minute before the first measured one left them; a counted rule has its `ends_at`, as its
first tick leaves it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from briefcast.models.campaigns import Campaign, CampaignItem, CampaignStatus, ContentMode
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.session import worker_session
from briefcast.pipeline.campaigns import schedule

Say = Callable[[str], None]
ORG_PREFIX = "bench-campaigns-"
# Five zones with daylight saving (north and south), three without.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Kolkata",
)
# Share of the campaigns per kind. Hourly posting is the busy end of real use; most
# campaigns post daily or on a few weekdays.
KINDS = {"hourly": 0.20, "daily": 0.35, "weekly": 0.25, "slots": 0.12, "evergreen": 0.08}
WEEKDAY_SETS = ("MO,WE,FR", "TU,TH", "MO,TU,WE,TH,FR", "SA", "MO", "SU")
BUSINESS_HOURS = ",".join(str(h) for h in range(8, 19))
CHUNK = 1000  # campaigns per INSERT statement (and per progress line)


@dataclass(frozen=True)
class Planted:
    """What the check needs of a campaign: its schedule, and a slot queue's item slots."""

    id: uuid.UUID
    kind: str
    schedule: dict[str, Any]
    timezone: str
    slots: tuple[datetime, ...] | None  # a slot queue's queued items; None for a recurrence
    anchor: datetime | None = None  # as planted: where the materializer's expansion starts
    ends_at: datetime | None = None


def _local_start(cursor: datetime, zone: str, age: timedelta, at: str) -> str:
    day = schedule.to_local(cursor - age, ZoneInfo(zone)).date()
    return f"{day.isoformat()}T{at}:00"


def _document(kind: str, rng: random.Random, cursor: datetime, zone: str, age: timedelta) -> Any:
    minute = rng.randrange(60)
    hour = rng.randrange(6, 22)
    at = f"{hour:02}:{minute:02}"
    if kind == "slots":
        picks = rng.sample(WEEKDAY_SETS, rng.randint(1, 3))
        return {
            "kind": "slots",
            "slots": [
                {
                    "days": days.split(","),
                    "time": f"{rng.randrange(7, 21):02}:{rng.randrange(60):02}",
                }
                for days in picks
            ],
        }
    doc: dict[str, Any] = {"kind": "recurrence"}
    if kind == "hourly" or (kind == "evergreen" and rng.random() < 0.4):
        variant = rng.random()
        if variant < 0.5:
            doc["rrule"] = f"FREQ=HOURLY;BYMINUTE={minute}"
        elif variant < 0.7:
            doc["rrule"] = f"FREQ=HOURLY;INTERVAL=2;BYMINUTE={minute}"
        else:  # business hours, weekdays
            doc["rrule"] = (
                f"FREQ=HOURLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR={BUSINESS_HOURS};BYMINUTE={minute}"
            )
        doc["start"] = _local_start(cursor, zone, age, f"00:{minute:02}")
        return doc
    if kind == "weekly":
        doc["rrule"] = (
            f"FREQ=WEEKLY;BYDAY={rng.choice(WEEKDAY_SETS)};BYHOUR={hour};BYMINUTE={minute}"
        )
    else:
        doc["rrule"] = f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}"
    doc["start"] = _local_start(cursor, zone, age, at)
    extra = rng.random()
    if extra < 0.05:  # a year's run, counted or dated
        doc["count"] = 365
    elif extra < 0.10:
        doc["until"] = (cursor + timedelta(days=365)).date().isoformat()
    elif extra < 0.15:  # a holiday off: today's date in its zone, so some occurrences skip
        today = schedule.to_local(cursor, ZoneInfo(zone)).date()
        doc["skip_dates"] = [today.isoformat()]
    return doc


def _template(n: int) -> dict[str, Any]:
    return {
        "topic": f"Tip of the day from campaign {n}",
        "key_points": ["One practical idea", "Takes five minutes"],
        "brand_voice": "clear, warm and confident",
        "audience": "small business owners",
        "platforms": ["instagram", "linkedin"],
    }


def _items(
    kind: str,
    rng: random.Random,
    campaign_id: uuid.UUID,
    sched: schedule.Schedule,
    cursor: datetime,
) -> tuple[list[dict[str, Any]], dict[str, Any], tuple[datetime, ...] | None]:
    """(item rows, campaign column changes, a slot queue's slots)."""
    rows: list[dict[str, Any]] = []
    changes: dict[str, Any] = {}
    slots: tuple[datetime, ...] | None = None

    def item(position: int, **extra: Any) -> dict[str, Any]:
        # Every row has the same keys: one executemany per chunk.
        return {
            "id": uuid.uuid4(),
            "campaign_id": campaign_id,
            "position": position,
            "content": {"topic": f"Queued post {position + 1}"},
            "uses": 0,
            "last_used_at": None,
            "slot_at": None,
            **extra,
        }

    if isinstance(sched, schedule.SlotQueue):
        # As the API queues them: each item takes the next free slot after the last one.
        slots = tuple(sched.next_free(cursor, rng.randint(3, 10)))
        rows = [item(i, slot_at=at) for i, at in enumerate(slots)]
    elif kind == "evergreen":
        changes["content_mode"] = ContentMode.ROTATE.value
        count = rng.randint(4, 8)
        if rng.random() < 0.15:  # every item used yesterday, three days' cool-down: skips
            changes["cooldown_days"] = 3
            used = cursor - timedelta(days=1)
            rows = [item(i, uses=1, last_used_at=used) for i in range(count)]
        else:
            changes["cooldown_days"] = rng.choice((0, 0, 2))
            changes["max_uses"] = rng.choice((None, 50))
            rows = [item(i) for i in range(count)]
    elif kind == "daily" and rng.random() < 0.10:  # a queue of posts, each once, in order
        rows = [item(i) for i in range(20)]
    return rows, changes, slots


def plant(
    count: int,
    orgs: int,
    cursor: datetime,
    max_age_days: float,
    seed: int,
    say: Say,
) -> list[Planted]:
    """Insert `count` active campaigns over `orgs` organizations; returns what was planted."""
    rng = random.Random(seed)
    with worker_session() as session:
        org_ids = [
            ensure_organization(session, f"{ORG_PREFIX}{n + 1:02}", f"Bench campaigns {n + 1}")
            for n in range(orgs)
        ]
    planted: list[Planted] = []
    kinds = Counter[str]()
    started = time.monotonic()
    for first in range(0, count, CHUNK):
        campaigns, items = [], []
        for n in range(first, min(count, first + CHUNK)):
            kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
            zone = rng.choice(ZONES)
            age = timedelta(days=rng.uniform(0, max_age_days))
            document = _document(kind, rng, cursor, zone, age)
            sched = schedule.parse(document, zone)
            campaign_id = uuid.uuid4()
            rows, changes, slots = _items(kind, rng, campaign_id, sched, cursor)
            anchor = ends_at = None
            if slots is not None:
                next_due = min(slots, default=None)
            else:
                assert isinstance(sched, schedule.Recurrence)
                ends_at = sched.last_occurrence()
                following = sched.next_occurrence(cursor)
                anchor, next_due = following if following else (None, None)
            campaigns.append(
                {
                    "id": campaign_id,
                    "organization_id": org_ids[n % orgs],
                    "name": f"Bench campaign {n + 1}",
                    "timezone": zone,
                    "schedule": document,
                    "brief_template": _template(n + 1),
                    "content_mode": ContentMode.IN_ORDER.value,
                    "cooldown_days": 0,
                    "max_uses": None,
                    "lateness_s": 3600,
                    "status": CampaignStatus.ACTIVE.value,
                    "materialized_through": cursor,
                    "schedule_anchor": anchor,
                    "ends_at": ends_at,
                    "next_due_at": next_due,
                    "paused_until": None,
                    **changes,
                }
            )
            items.extend(rows)
            planted.append(Planted(campaign_id, kind, document, zone, slots, anchor, ends_at))
            kinds[kind] += 1
        with worker_session() as session:
            session.execute(insert(Campaign), campaigns)
            if items:
                session.execute(insert(CampaignItem), items)
        done = min(count, first + CHUNK)
        say(f"inserted {done}/{count} campaigns ({time.monotonic() - started:.1f} s)")
    say("campaigns by kind: " + " ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    return planted
