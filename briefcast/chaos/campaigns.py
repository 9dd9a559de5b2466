"""Campaigns in the drill: created through the API with occurrences due while the drill runs,
then checked against the schedules, PostgreSQL and the sandboxes.

The API allows at most hourly rules (no SECONDLY or MINUTELY), so the drill's campaigns put
their occurrences a minute apart the ways a customer can: an hourly rule listing several
minutes (BYMINUTE) with a COUNT, and a slot queue with a slot a minute for each queued item.
Each occurrence posts an item of its own, so every caption is distinct: the audit matches
platform posts by caption, and LinkedIn refuses a repeated text.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from briefcast.models.campaigns import CampaignOccurrence, OccurrenceStatus
from briefcast.models.posts import Post, PostStatus
from briefcast.models.runs import Brief, Run
from briefcast.pipeline.campaigns import schedule

Say = Callable[[str], None]
PATH = "/api/v1/campaigns"
# A zone ahead of UTC by a half hour, one behind, one with the usual offset: the rules are
# written in local time, so a wrong conversion would move every occurrence.
ZONES = ("Asia/Kolkata", "America/New_York", "Europe/Berlin")
TEMPLATE = {
    "key_points": ["Small steps every day", "Measured, not guessed"],
    "brand_voice": "warm, practical",
    "audience": "small business owners",
    "brand_color": "#6A1B9A",
    "platforms": ["instagram", "linkedin"],
}
Key = tuple[uuid.UUID, datetime]


@dataclass(frozen=True)
class DrillCampaign:
    id: uuid.UUID
    name: str
    zone: str
    schedule: dict[str, Any]  # as the API stored it
    created: datetime  # the API's clock at creation: occurrences after it are due
    items: int

    def occurrences(self, through: datetime) -> list[datetime]:
        """What the schedule says is due in (created, through]: a recurrence's occurrences;
        a slot queue's first free slots for its items, as they were queued at creation."""
        sched = schedule.parse(self.schedule, self.zone)
        if isinstance(sched, schedule.SlotQueue):
            slots = sched.next_free(self.created, self.items)
            return [t for t in slots if t <= through]
        return sched.occurrences(self.created, through)


def _minute_ceiling(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def campaign_body(n: int, times: list[datetime]) -> dict[str, Any]:
    """Campaign `n` posting at `times` (UTC, whole minutes, under an hour apart in all)."""
    zone = ZONES[n % len(ZONES)]
    local = [schedule.to_local(t, ZoneInfo(zone)) for t in times]
    if n % len(ZONES) == 2:
        document: dict[str, Any] = {
            "kind": "slots",
            "slots": [
                {"days": [schedule.WEEKDAYS[at.weekday()]], "time": at.strftime("%H:%M")}
                for at in local
            ],
        }
    else:
        # Hourly at the listed minutes from the first one on; COUNT stops it after the last.
        minutes = ",".join(str(m) for m in sorted({at.minute for at in local}))
        document = {
            "kind": "recurrence",
            "rrule": f"FREQ=HOURLY;BYMINUTE={minutes}",
            "start": local[0].isoformat(),
            "count": len(times),
        }
    return {
        "name": f"Chaos drill campaign {n + 1}",
        "timezone": zone,
        "schedule": document,
        "template": TEMPLATE,
        "items": [
            {"topic": f"Drill campaign {n + 1}, post {k + 1}: a tip a minute"}
            for k in range(len(times))
        ],
    }


def create_campaigns(
    api_url: str, token: str, count: int, occurrences: int, say: Say
) -> list[DrillCampaign]:
    """`count` campaigns through POST /api/v1/campaigns, each with `occurrences` a minute
    apart; campaign n's first is n + 1 whole minutes from now, so they interleave."""
    start = _minute_ceiling(datetime.now(UTC))
    created = []
    with httpx.Client(base_url=api_url, timeout=30) as http:
        for n in range(count):
            times = [start + timedelta(minutes=n + 1 + k) for k in range(occurrences)]
            response = http.post(
                PATH, json=campaign_body(n, times), headers={"Authorization": f"Bearer {token}"}
            )
            if response.is_error:
                raise RuntimeError(f"POST {PATH}: {response.status_code} {response.text}")
            body = response.json()
            campaign = DrillCampaign(
                id=uuid.UUID(body["id"]),
                name=body["name"],
                zone=body["timezone"],
                schedule=body["schedule"],
                created=datetime.fromisoformat(body["materialized_through"]).astimezone(UTC),
                items=occurrences,
            )
            created.append(campaign)
            kind = campaign.schedule["kind"]
            detail = campaign.schedule.get("rrule") or f"{occurrences} slots"
            say(
                f"campaign {campaign.name!r} ({kind}, {detail}, {campaign.zone}): occurrences "
                + ", ".join(f"{t:%H:%M}Z" for t in campaign.occurrences(start + timedelta(days=1)))
            )
    return created


def planned(campaigns: list[DrillCampaign], through: datetime) -> set[Key]:
    return {(c.id, t) for c in campaigns for t in c.occurrences(through)}


def materialized(engine: Engine, campaigns: list[DrillCampaign]) -> int:
    """Occurrence rows of the drill's campaigns so far (the drill waits for all of them)."""
    with Session(engine) as session:
        found = session.scalar(
            select(func.count()).where(
                CampaignOccurrence.campaign_id.in_([c.id for c in campaigns])
            )
        )
    return found or 0


@dataclass
class CampaignAudit:
    campaigns: int = 0
    due: int = 0  # by the schedules, between each campaign's creation and the audit
    rows: Counter[str] = field(default_factory=Counter)  # occurrence rows by status
    runs: int = 0
    posts: Counter[str] = field(default_factory=Counter)
    held_once: int = 0  # published posts the platform holds exactly once
    after_beat_restart: int = 0  # rows created after beat came back
    late: int = 0  # rows made after their occurrence was due (beat down, a killed worker)
    most_late_s: float = 0.0
    missing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicates or self.unexpected)


def audit_campaigns(
    session: Session,
    campaigns: list[DrillCampaign],
    end: datetime,
    matches: dict[uuid.UUID, int],
    beat_restarted: datetime | None,
) -> CampaignAudit:
    """Each occurrence due by `end` has exactly one row; each created one exactly one run,
    due at the occurrence; each of its posts is on its platform once if published, else not
    at all (`matches`: platform posts per post, from the drill's audit)."""
    result = CampaignAudit(campaigns=len(campaigns))
    due = planned(campaigns, end)
    result.due = len(due)
    ids = [c.id for c in campaigns]
    rows = session.execute(
        select(
            CampaignOccurrence.campaign_id,
            CampaignOccurrence.occurs_at,
            CampaignOccurrence.status,
            CampaignOccurrence.run_id,
            CampaignOccurrence.created_at,
        ).where(CampaignOccurrence.campaign_id.in_(ids))
    ).all()
    runs = session.execute(
        select(Run.id, Brief.campaign_id, Brief.publish_at)
        .join(Brief, Brief.id == Run.brief_id)
        .where(Brief.campaign_id.in_(ids))
    ).all()
    posts = session.execute(
        select(Post.id, Post.run_id, Post.platform, Post.status).where(
            Post.run_id.in_([run_id for run_id, _, _ in runs])
        )
    ).all()

    seen: Counter[Key] = Counter()
    created: dict[tuple[Any, Any], uuid.UUID] = {}
    for campaign_id, at, status, its_run, made in rows:
        key = (campaign_id, at)
        seen[key] += 1
        result.rows[status] += 1
        if beat_restarted is not None and made > beat_restarted:
            result.after_beat_restart += 1
        if made > at:
            result.late += 1
            result.most_late_s = max(result.most_late_s, (made - at).total_seconds())
        if status == OccurrenceStatus.CREATED and its_run is not None:
            created[key] = its_run
    for key in sorted(due - set(seen)):
        result.missing.append(f"campaign {key[0]} at {key[1]:%H:%M:%S}Z: no occurrence row")
    for key in sorted(set(seen) - due):
        result.unexpected.append(f"campaign {key[0]} at {key[1]:%H:%M:%S}Z: not due")
    for key, n in seen.items():
        if n > 1:
            result.duplicates.append(f"campaign {key[0]} at {key[1]:%H:%M:%S}Z: {n} rows")

    result.runs = len(runs)
    runs_of: Counter[tuple[Any, Any]] = Counter()
    for run_id, its_campaign, publish_at in runs:
        run_key = (its_campaign, publish_at)
        runs_of[run_key] += 1
        if created.get(run_key) != run_id:
            result.unexpected.append(f"run {run_id}: no created occurrence names it")
    for key, run_id in created.items():
        if runs_of[key] == 0:
            result.missing.append(f"campaign {key[0]} at {key[1]:%H:%M:%S}Z: run {run_id} absent")
        elif runs_of[key] > 1:
            result.duplicates.append(
                f"campaign {key[0]} at {key[1]:%H:%M:%S}Z: {runs_of[key]} runs"
            )

    per_run: Counter[uuid.UUID] = Counter()
    for post_id, run_id, platform, status in posts:
        per_run[run_id] += 1
        result.posts[status] += 1
        held = matches.get(post_id, 0)
        label = f"{platform} post {post_id} (run {run_id}, {status})"
        if status == PostStatus.PUBLISHED and held == 1:
            result.held_once += 1
        elif status == PostStatus.PUBLISHED:
            (result.duplicates if held > 1 else result.missing).append(
                f"{label}: the platform holds it {held} times"
            )
        elif held:
            result.unexpected.append(f"{label}: not published, the platform holds it")
    for run_id, _, _ in runs:
        if per_run[run_id] != len(TEMPLATE["platforms"]):
            result.missing.append(f"run {run_id}: {per_run[run_id]} posts")
    return result


def render(result: CampaignAudit, beat: str, max_listed: int = 20) -> list[str]:
    def counts(counter: Counter[str]) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(counter.items())) or "-"

    lines = [
        f"campaigns:        {result.campaigns} via POST {PATH}; {result.due} occurrences due "
        f"by their schedules",
        f"  occurrences:    {counts(result.rows)}; runs {result.runs}; "
        f"posts {counts(result.posts)}",
        f"  on platforms:   {result.held_once} published posts held exactly once",
        f"  beat:           {beat}; rows created after its restart: {result.after_beat_restart}",
        f"  made late:      {result.late} rows after their due time (at most "
        f"{result.most_late_s:.0f} s; within the lateness window, so still fired)",
    ]
    for name, items in (
        ("CAMPAIGN MISSING", result.missing),
        ("CAMPAIGN DUPLICATES", result.duplicates),
        ("CAMPAIGN UNEXPECTED", result.unexpected),
    ):
        lines.append(f"{name + ':':<21} {len(items)}")
        lines.extend(f"  - {item}" for item in items[:max_listed])
    return lines
