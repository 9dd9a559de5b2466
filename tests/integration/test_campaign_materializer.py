"""The campaign materializer against a real PostgreSQL, with an injected clock: each occurrence
exactly once, late ones skipped with a reason, pauses and edits that do not burst or rewrite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from briefcast.models import (
    Brief,
    Campaign,
    CampaignItem,
    CampaignOccurrence,
    CampaignStatus,
    ContentMode,
    OutboxMessage,
    Run,
)
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.session import worker_session
from briefcast.pipeline.campaigns import schedule
from briefcast.pipeline.campaigns.materialize import TickReport, materialize

pytestmark = pytest.mark.integration

TEMPLATE = {"key_points": ["One idea a week"], "platforms": ["instagram", "linkedin"]}
HORIZON = timedelta(minutes=5)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_campaign(
    created: datetime,
    document: dict[str, Any],
    *,
    zone: str = "UTC",
    items: list[dict[str, Any]] | None = None,
    template: dict[str, Any] | None = None,
    mode: ContentMode = ContentMode.IN_ORDER,
    cooldown_days: int = 0,
    max_uses: int | None = None,
    lateness_s: int = 3600,
    org: str = "campaign-org",
) -> uuid.UUID:
    """A campaign as the API stores it at `created`: its cursor there, its first occurrence."""
    sched = schedule.parse(document, zone)
    with worker_session() as session:
        campaign = Campaign(
            id=uuid.uuid4(),
            organization_id=ensure_organization(session, org),
            name=f"campaign {uuid.uuid4().hex[:8]}",
            timezone=zone,
            schedule=document,
            brief_template=template or {"topic": "A weekly tip", **TEMPLATE},
            content_mode=mode,
            cooldown_days=cooldown_days,
            max_uses=max_uses,
            lateness_s=lateness_s,
            status=CampaignStatus.ACTIVE,
            materialized_through=created,
        )
        session.add(campaign)
        session.flush()
        slots: list[datetime | None] = [None] * len(items or [])
        if isinstance(sched, schedule.SlotQueue):
            slots = list(sched.next_free(created, len(items or [])))
        for position, (content, slot) in enumerate(zip(items or [], slots, strict=True)):
            session.add(
                CampaignItem(
                    campaign_id=campaign.id, position=position, content=content, uses=0,
                    slot_at=slot,
                )
            )  # fmt: skip
        if isinstance(sched, schedule.Recurrence):
            campaign.next_due_at = sched.first_after(created)
        else:
            campaign.next_due_at = min((s for s in slots if s), default=None)
        return campaign.id


def tick(now: datetime, campaign_id: uuid.UUID | None = None) -> TickReport:
    with worker_session() as session:
        return materialize(session, now, horizon=HORIZON, campaign_id=campaign_id)


def run_clock(start: datetime, end: datetime, every: timedelta) -> Iterator[datetime]:
    now = start
    while now <= end:
        yield now
        now += every


def occurrences(campaign_id: uuid.UUID) -> list[CampaignOccurrence]:
    with worker_session() as session:
        return list(
            session.scalars(
                select(CampaignOccurrence)
                .where(CampaignOccurrence.campaign_id == campaign_id)
                .order_by(CampaignOccurrence.occurs_at)
            )
        )


def topics_of_runs(campaign_id: uuid.UUID) -> list[str]:
    with worker_session() as session:
        rows = session.execute(
            select(Brief.topic, Brief.publish_at)
            .join(Run, Run.brief_id == Brief.id)
            .where(Brief.campaign_id == campaign_id)
            .order_by(Brief.publish_at)
        )
        return [topic for topic, _ in rows]


def local(occurrence: CampaignOccurrence, zone: str) -> str:
    return schedule.to_local(occurrence.occurs_at, ZoneInfo(zone)).isoformat(timespec="minutes")


DAILY_NINE = {"kind": "recurrence", "rrule": "FREQ=DAILY;BYHOUR=9;BYMINUTE=0"}


@pytest.mark.parametrize(
    ("zone", "first_day"),
    [("Europe/Berlin", 26), ("America/New_York", 12)],  # March 2027: DST starts on 28th / 14th
)
def test_a_daily_campaign_ticked_across_spring_forward_fires_every_local_nine_once(
    db: None, zone: str, first_day: int
) -> None:
    start = _utc(2027, 3, first_day)
    campaign = make_campaign(
        start, {**DAILY_NINE, "start": f"2027-03-{first_day:02}T09:00:00"}, zone=zone
    )
    for now in run_clock(start, start + timedelta(days=5), timedelta(minutes=20)):
        tick(now)
    rows = occurrences(campaign)
    assert [local(o, zone) for o in rows] == [f"2027-03-{first_day + i:02}T09:00" for i in range(5)]
    assert {o.status for o in rows} == {"created"}
    assert len(topics_of_runs(campaign)) == 5


def test_fall_back_neither_doubles_nor_shifts_an_occurrence(db: None) -> None:
    zone = "Europe/Berlin"
    start = _utc(2027, 10, 30)
    campaign = make_campaign(
        start,
        {"kind": "recurrence", "rrule": "FREQ=DAILY;BYHOUR=2,9;BYMINUTE=30",
         "start": "2027-10-30T02:30:00"},
        zone=zone,
    )  # fmt: skip
    for now in run_clock(start, start + timedelta(days=2, hours=9), timedelta(minutes=30)):
        tick(now)
    assert [local(o, zone) for o in occurrences(campaign)] == [
        "2027-10-30T02:30",
        "2027-10-30T09:30",
        "2027-10-31T02:30",  # the repeated hour: once
        "2027-10-31T09:30",
        "2027-11-01T02:30",
        "2027-11-01T09:30",
    ]


def test_count_ends_the_campaign_and_it_is_marked_completed(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00", "count": 2})
    for now in run_clock(start, start + timedelta(days=4), timedelta(hours=1)):
        tick(now)
    assert len(occurrences(campaign)) == 2
    with worker_session() as session:
        row = session.get(Campaign, campaign)
        assert row is not None
        assert row.status == CampaignStatus.COMPLETED and row.next_due_at is None


def test_until_date_ends_the_campaign(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(
        start, {**DAILY_NINE, "start": "2027-01-01T09:00:00", "until": "2027-01-03"}
    )
    for now in run_clock(start, start + timedelta(days=5), timedelta(hours=1)):
        tick(now)
    assert [o.occurs_at.day for o in occurrences(campaign)] == [1, 2, 3]


def test_skipped_dates_and_overrides(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(
        start,
        {**DAILY_NINE, "start": "2027-01-01T09:00:00", "count": 3, "skip_dates": ["2027-01-02"],
         "overrides": {"2027-01-03T09:00:00": {"topic": "A special edition"}}},
    )  # fmt: skip
    for now in run_clock(start, start + timedelta(days=3), timedelta(hours=1)):
        tick(now)
    rows = occurrences(campaign)
    assert [o.status for o in rows] == ["created", "skipped", "created"]
    assert rows[1].reason == "2027-01-02 is one of the campaign's skipped dates"
    assert rows[1].run_id is None
    assert topics_of_runs(campaign) == ["A weekly tip", "A special edition"]


def test_each_run_is_due_at_its_occurrence_with_one_outbox_event(db: None) -> None:
    start = _utc(2027, 1, 1, 8, 58)
    campaign = make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00", "count": 1})
    report = tick(start)
    assert report.created == 1 and len(report.runs) == 1
    with worker_session() as session:
        brief = session.scalars(select(Brief).where(Brief.campaign_id == campaign)).one()
        assert brief.publish_at == _utc(2027, 1, 1, 9)
        events = session.scalars(select(OutboxMessage)).all()
        assert [e.payload["run_id"] for e in events] == [str(report.runs[0].run_id)]


def test_downtime_longer_than_the_lateness_window_skips_with_a_reason(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(
        start, {"kind": "recurrence", "rrule": "FREQ=HOURLY;BYMINUTE=0",
                "start": "2027-01-01T00:00:00"}, lateness_s=3600,
    )  # fmt: skip
    # Down from 00:00 to 05:30: 01:00-04:00 are more than an hour late, 05:00 is not.
    report = tick(_utc(2027, 1, 1, 5, 30))
    rows = occurrences(campaign)
    assert [(o.occurs_at.hour, o.status) for o in rows] == [
        (1, "skipped"), (2, "skipped"), (3, "skipped"), (4, "skipped"), (5, "created"),
    ]  # fmt: skip
    assert rows[0].reason is not None and "lateness window (60 min)" in rows[0].reason
    assert report.created == 1 and report.skipped == 4


def test_pause_then_resume_records_the_paused_occurrences_and_fires_no_burst(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(
        start, {"kind": "recurrence", "rrule": "FREQ=HOURLY;BYMINUTE=0",
                "start": "2027-01-01T00:00:00"}, lateness_s=6 * 3600,
    )  # fmt: skip
    tick(_utc(2027, 1, 1, 0, 56))  # 01:00 is within the horizon: created
    with worker_session() as session:
        row = session.get(Campaign, campaign)
        assert row is not None
        row.status = CampaignStatus.PAUSED
    for now in run_clock(_utc(2027, 1, 1, 1), _utc(2027, 1, 1, 4, 10), timedelta(minutes=10)):
        assert tick(now).campaigns == 0  # paused: not even looked at
    resumed_at = _utc(2027, 1, 1, 4, 10)
    with worker_session() as session:  # what the API's resume does
        row = session.get(Campaign, campaign)
        assert row is not None
        row.status, row.paused_until = CampaignStatus.ACTIVE, resumed_at
    report = tick(resumed_at)
    rows = occurrences(campaign)
    assert [(o.occurs_at.hour, o.status) for o in rows] == [
        (1, "created"), (2, "skipped"), (3, "skipped"), (4, "skipped"),
    ]  # fmt: skip
    assert {o.reason for o in rows[1:]} == {"the campaign was paused"}
    assert report.created == 0  # within the lateness window, and still not fired
    tick(_utc(2027, 1, 1, 4, 56))
    assert occurrences(campaign)[-1].status == "created"  # 05:00 fires as usual


def test_an_edit_changes_only_occurrences_not_yet_materialized(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00"})
    for now in run_clock(start, _utc(2027, 1, 2, 12), timedelta(hours=1)):
        tick(now)
    with worker_session() as session:  # what the API's PATCH does: the cursor stays
        row = session.get(Campaign, campaign)
        assert row is not None
        row.schedule = {"kind": "recurrence", "rrule": "FREQ=DAILY;BYHOUR=17;BYMINUTE=0",
                        "start": "2027-01-01T17:00:00"}  # fmt: skip
        row.brief_template = {"topic": "An evening tip", **TEMPLATE}
        row.schedule_anchor = None  # an occurrence of the old rule
        rule = schedule.parse(row.schedule, "UTC")
        assert isinstance(rule, schedule.Recurrence)
        row.next_due_at = rule.first_after(row.materialized_through)
    for now in run_clock(_utc(2027, 1, 2, 13), _utc(2027, 1, 3, 18), timedelta(hours=1)):
        tick(now)
    assert [o.occurs_at for o in occurrences(campaign)] == [
        _utc(2027, 1, 1, 9), _utc(2027, 1, 2, 9), _utc(2027, 1, 2, 17), _utc(2027, 1, 3, 17),
    ]  # fmt: skip
    assert topics_of_runs(campaign) == ["A weekly tip"] * 2 + ["An evening tip"] * 2


def test_a_deleted_campaign_makes_nothing_more_and_its_runs_stay(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00"})
    tick(_utc(2027, 1, 1, 8, 58))
    with worker_session() as session:
        row = session.get(Campaign, campaign)
        session.delete(row)
    assert tick(_utc(2027, 1, 2, 8, 58)).campaigns == 0
    with worker_session() as session:
        assert session.scalar(select(Run.id)) is not None  # the first occurrence's run
        assert session.scalars(select(CampaignOccurrence)).all() == []


def test_two_materializers_at_once_create_each_occurrence_once(db: None) -> None:
    start = _utc(2027, 1, 1)
    ids = [
        make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00"}, org=f"org-{i % 4}")
        for i in range(40)
    ]
    now = _utc(2027, 1, 1, 8, 58)
    barrier = threading.Barrier(4)
    reports: list[TickReport] = []

    def materializer() -> None:
        barrier.wait()
        reports.append(tick(now))

    threads = [threading.Thread(target=materializer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.created for r in reports) == 40
    for campaign in ids:
        assert len(occurrences(campaign)) == 1
        assert len(topics_of_runs(campaign)) == 1
    assert sum(tick(now).created for _ in range(2)) == 0  # a redelivered tick: a no-op


def test_a_materializer_killed_mid_tick_leaves_nothing_half_done(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00"})
    now = "2027-01-01T08:58:00+00:00"
    # A separate process materializes, then dies (SIGKILL) before its transaction commits.
    script = (
        "import sys, time\n"
        "from datetime import datetime, timedelta\n"
        "from briefcast.models.session import worker_session\n"
        "from briefcast.pipeline.campaigns.materialize import materialize\n"
        "with worker_session() as session:\n"
        f"    report = materialize(session, datetime.fromisoformat({now!r}),"
        " horizon=timedelta(minutes=5))\n"
        "    print(report.created, flush=True)\n"
        "    time.sleep(60)\n"
    )
    with subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "1"  # it made the run, uncommitted
        finally:
            os.kill(child.pid, signal.SIGKILL)
    assert occurrences(campaign) == []  # nothing of it survived
    assert tick(datetime.fromisoformat(now)).created == 1
    assert len(occurrences(campaign)) == 1 and len(topics_of_runs(campaign)) == 1


def test_in_order_items_each_post_once_then_occurrences_say_why_they_are_skipped(
    db: None,
) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(
        start, {**DAILY_NINE, "start": "2027-01-01T09:00:00", "count": 3},
        items=[{"topic": "First tip"}, {"topic": "Second tip"}],
    )  # fmt: skip
    for now in run_clock(start, start + timedelta(days=3), timedelta(hours=1)):
        tick(now)
    rows = occurrences(campaign)
    assert topics_of_runs(campaign) == ["First tip", "Second tip"]
    assert rows[2].status == "skipped" and "no item left" in (rows[2].reason or "")


def test_evergreen_items_wait_out_their_cool_down_and_stop_at_max_uses(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(
        start, {**DAILY_NINE, "start": "2027-01-01T09:00:00"},
        items=[{"topic": "Tip A"}, {"topic": "Tip B"}],
        mode=ContentMode.ROTATE, cooldown_days=3, max_uses=2,
    )  # fmt: skip
    for now in run_clock(start, start + timedelta(days=9), timedelta(hours=1)):
        tick(now)
    rows = occurrences(campaign)
    # Day 1 A, day 2 B; days 3 and 4 both cooling down; day 4 is 3 days after A's use.
    assert [o.status for o in rows[:6]] == [
        "created", "created", "skipped", "created", "created", "skipped",
    ]  # fmt: skip
    assert topics_of_runs(campaign) == ["Tip A", "Tip B", "Tip A", "Tip B"]
    assert all(o.status == "skipped" for o in rows[5:])  # each used twice: nothing left
    assert "cool-down" in (rows[2].reason or "")


def test_a_slot_queue_posts_its_items_at_their_slots_in_order(db: None) -> None:
    zone = "America/New_York"
    start = _utc(2027, 11, 5, 12)  # Friday 08:00 local; clocks go back on Sunday
    campaign = make_campaign(
        start,
        {"kind": "slots", "slots": [{"days": ["FR", "MO"], "time": "09:00"}]},
        zone=zone,
        items=[{"topic": f"Queued post {i}"} for i in range(3)],
    )
    for now in run_clock(start, start + timedelta(days=8), timedelta(hours=1)):
        tick(now)
    rows = occurrences(campaign)
    assert [local(o, zone) for o in rows] == [
        "2027-11-05T09:00", "2027-11-08T09:00", "2027-11-12T09:00",
    ]  # fmt: skip
    assert topics_of_runs(campaign) == ["Queued post 0", "Queued post 1", "Queued post 2"]


def test_an_occurrences_copy_is_shown_the_campaigns_recent_posts(db: None) -> None:
    from briefcast.models import Post
    from briefcast.pipeline.copy.prompts import build_messages
    from briefcast.pipeline.copy.service import _claim

    start = _utc(2027, 1, 1)
    make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00", "count": 2})
    first = tick(_utc(2027, 1, 1, 8, 58)).runs[0]
    with worker_session() as session:
        for post in session.scalars(select(Post).where(Post.run_id == first.run_id)):
            post.caption = f"Yesterday's {post.platform} tip: warm up first"
    second = tick(_utc(2027, 1, 2, 8, 58)).runs[0]
    with worker_session() as session:
        claimed = _claim(session, second.run_id)
    assert claimed is not None
    assert sorted(claimed.brief.recent_posts) == [
        "Yesterday's instagram tip: warm up first",
        "Yesterday's linkedin tip: warm up first",
    ]
    prompt = build_messages(claimed.brief)[1]["content"]
    assert "do not repeat" in prompt and "> Yesterday's linkedin tip" in prompt
    with worker_session() as session:  # a brief outside any campaign is shown nothing
        claimed_first = _claim(session, first.run_id)
    assert claimed_first is not None and claimed_first.brief.recent_posts == []


def test_a_campaign_that_cannot_be_planned_is_parked_and_the_others_go_on(db: None) -> None:
    start = _utc(2027, 1, 1)
    healthy = make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00"})
    broken = make_campaign(start, {**DAILY_NINE, "start": "2027-01-01T09:00:00"})
    with worker_session() as session:  # a stored rule no schedule can expand
        row = session.get(Campaign, broken)
        assert row is not None
        row.schedule = {**row.schedule, "rrule": "FREQ=NEVER"}
    report = tick(_utc(2027, 1, 1, 8, 58))
    assert (report.created, report.parked) == (1, 1)
    assert len(occurrences(healthy)) == 1 and occurrences(broken) == []
    with worker_session() as session:
        parked = session.get(Campaign, broken)
        assert parked is not None and parked.status == CampaignStatus.FAILED
        assert "invalid RRULE" in (parked.status_reason or "")
        assert parked.materialized_through == start  # nothing of the tick kept
    assert tick(_utc(2027, 1, 2, 8, 58)).parked == 0  # parked: no longer picked up


def test_a_long_outage_of_a_dense_rule_records_the_skips_in_a_bounded_number_of_rows(
    db: None,
) -> None:
    from briefcast.pipeline.campaigns.planning import MAX_SKIP_ROWS

    start = _utc(2027, 1, 1)
    campaign = make_campaign(
        start, {"kind": "recurrence", "rrule": "FREQ=MINUTELY", "start": "2027-01-01T00:00:00"},
        lateness_s=60,
    )  # fmt: skip
    report = tick(_utc(2027, 1, 1, 3))  # 3 hours down: 178 minutes more than a minute late
    rows = occurrences(campaign)
    skipped = [o for o in rows if o.status == "skipped"]
    assert len(skipped) == MAX_SKIP_ROWS + 1
    assert "this row stands for 128 occurrences" in (skipped[-1].reason or "")
    # 02:59 is exactly a minute late (still within the window), then 03:00 to the horizon.
    assert report.created == len(rows) - len(skipped) == 7


def test_a_queued_item_whose_slot_fell_while_paused_moves_to_the_end_of_the_queue(
    db: None,
) -> None:
    start = _utc(2027, 1, 4, 8)  # Monday
    campaign = make_campaign(
        start,
        {"kind": "slots", "slots": [{"days": ["MO", "TU", "WE"], "time": "09:00"}]},
        items=[{"topic": "Monday's post"}, {"topic": "Tuesday's post"}],
    )
    with worker_session() as session:  # paused over Monday, resumed Monday at noon
        row = session.get(Campaign, campaign)
        assert row is not None
        row.paused_until = _utc(2027, 1, 4, 12)
    tick(_utc(2027, 1, 4, 12))
    for now in run_clock(_utc(2027, 1, 4, 13), _utc(2027, 1, 6, 10), timedelta(hours=1)):
        tick(now)
    rows = occurrences(campaign)
    assert [(o.occurs_at.day, o.status) for o in rows] == [
        (4, "skipped"), (5, "created"), (6, "created"),
    ]  # fmt: skip
    assert "moved to 2027-01-06T09:00:00+00:00" in (rows[0].reason or "")
    assert topics_of_runs(campaign) == ["Tuesday's post", "Monday's post"]


def test_rotation_with_a_cap_does_not_reuse_an_item_within_one_window(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(
        start, {"kind": "recurrence", "rrule": "FREQ=HOURLY;BYMINUTE=0,15,30,45",
                "start": "2027-01-01T00:00:00"},
        items=[{"topic": "Tip A"}, {"topic": "Tip B"}], mode=ContentMode.ROTATE, max_uses=1,
    )  # fmt: skip
    tick(_utc(2027, 1, 1, 0, 50))  # three occurrences in one window, two items, one use each
    assert sorted(topics_of_runs(campaign)) == ["Tip A", "Tip B"]
    assert [o.status for o in occurrences(campaign)] == ["created", "created", "skipped"]


def test_a_counted_rule_learns_its_end_once_and_then_expands_from_its_anchor(db: None) -> None:
    start = _utc(2027, 1, 1)
    campaign = make_campaign(start, {**DAILY_NINE, "start": "2026-01-01T09:00:00", "count": 400})
    for now in run_clock(_utc(2027, 1, 1, 8, 58), _utc(2027, 3, 1), timedelta(days=1)):
        tick(now)
    with worker_session() as session:
        row = session.get(Campaign, campaign)
        assert row is not None
        assert row.ends_at == _utc(2027, 2, 4, 9)  # the 400th day from 2026-01-01
    assert occurrences(campaign)[-1].occurs_at.date().isoformat() == "2027-02-04"
