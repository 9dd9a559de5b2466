"""The campaigns API on the real stack: validation, tenancy, schedules in local time, edits
that change only future occurrences, pause/resume, bulk items (JSON and CSV)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from briefcast.models import (
    Brief,
    Campaign,
    CampaignItem,
    CampaignOccurrence,
    MetricSnapshot,
    OutboxMessage,
    Post,
    Run,
    RunStatus,
)
from briefcast.models.events import CAMPAIGN_CHANGED
from briefcast.models.session import worker_session
from tests.integration.factories import make_run
from tests.live import ApiAs

pytestmark = pytest.mark.integration
BERLIN = ZoneInfo("Europe/Berlin")

TEMPLATE = {
    "topic": "Tuesday tips for runners",
    "key_points": ["Stretch before you run"],
    "platforms": ["instagram", "linkedin"],
}
WEEKLY = {
    "kind": "recurrence",
    "rrule": "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=9;BYMINUTE=0",
    "start": "2030-01-01T09:00:00",
    "until": "2030-03-31",
    "skip_dates": ["2030-01-24"],
    "overrides": {
        "2030-01-29T09:00:00": {"topic": "Month in review"},
        "2030-02-05T09:00:00": {"skip": True},
    },
}
RFC_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _weekday_from_now(days: int) -> tuple[str, str]:
    """A weekday `days` from today in Berlin, as the RFC 5545 code and strftime's name.

    Slots are filled from now, so the tests' slots stay days away: none can fall inside the
    materializer's horizon while a test runs, whatever the day and hour of the run."""
    day = datetime.now(BERLIN) + timedelta(days=days)
    return RFC_DAYS[day.weekday()], day.strftime("%a")


(FIRST_DAY, FIRST_NAME), (SECOND_DAY, SECOND_NAME) = _weekday_from_now(2), _weekday_from_now(5)
SLOTS = {
    "kind": "slots",
    "slots": [{"days": [FIRST_DAY], "time": "17:00"}, {"days": [SECOND_DAY], "time": "09:00"}],
}


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Tuesday tips",
        "timezone": "Europe/Berlin",
        "schedule": WEEKLY,
        "template": TEMPLATE,
    }
    body.update(overrides)
    return body


def _plain(rule: str) -> dict[str, Any]:
    return {"kind": "recurrence", "rrule": rule, "start": "2030-01-01T09:00:00"}


def _create(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/campaigns", json=_body(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code, body
    details: dict[str, Any] = body["details"]
    return details


def _campaign(campaign_id: str) -> Campaign | None:
    with worker_session() as session:
        return session.get(Campaign, uuid.UUID(campaign_id))


def _count(model: type[Any]) -> int:
    with worker_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _slots(campaign_id: str) -> list[tuple[int, datetime | None]]:
    with worker_session() as session:
        rows = session.execute(
            select(CampaignItem.position, CampaignItem.slot_at)
            .where(CampaignItem.campaign_id == uuid.UUID(campaign_id))
            .order_by(CampaignItem.position)
        )
        return [(position, slot) for position, slot in rows]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ---- create ------------------------------------------------------------------------------


def test_create_recurrence_stores_the_campaign_and_asks_the_materializer(
    api_as: ApiAs, org_token: str
) -> None:
    before = datetime.now(UTC)
    response = api_as(org_token).post(
        "/api/v1/campaigns",
        json=_body(items=[{"topic": "Hydration basics"}, {"key_points": ["Rest days count"]}]),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"] == f"/api/v1/campaigns/{created['id']}"
    assert created["status"] == "active"
    assert created["lateness_minutes"] == 60
    assert created["content"] == {"mode": "in_order", "cooldown_days": 0, "max_uses": None}
    # The template as sent: an unset brand_voice stays unset, for a brand voice to fill.
    assert created["template"] == TEMPLATE
    assert created["schedule"]["overrides"]["2030-02-05T09:00:00"] == {"skip": True}
    # The first occurrence: Tuesday 1 January 2030, 09:00 in Berlin.
    assert created["next_due_at"] == "2030-01-01T09:00:00+01:00"
    assert before <= _at(created["materialized_through"]) <= datetime.now(UTC)
    assert created["totals"]["items"] == created["totals"]["unused_items"] == 2
    with worker_session() as session:
        stored = session.get(Campaign, uuid.UUID(created["id"]))
        assert stored is not None
        assert stored.lateness_s == 3600
        assert stored.next_due_at == datetime(2030, 1, 1, 8, tzinfo=UTC)
        items = session.scalars(
            select(CampaignItem).order_by(CampaignItem.position)
        ).all()  # fmt: skip
        assert [i.content for i in items] == [
            {"topic": "Hydration basics"},
            {"key_points": ["Rest days count"]},
        ]
        assert all(i.slot_at is None for i in items)  # a recurrence takes items by position
        events = session.scalars(select(OutboxMessage)).all()
    assert [(e.topic, e.payload) for e in events] == [
        (CAMPAIGN_CHANGED, {"campaign_id": created["id"]})
    ]


def test_create_slot_queue_gives_items_slots_in_order_across_weeks(
    api_as: ApiAs, org_token: str
) -> None:
    client = api_as(org_token)
    items = [{"topic": f"Tip number {n}"} for n in range(4)]
    created = _create(client, name="Queue", schedule=SLOTS, items=items)
    slots = [slot for _, slot in _slots(created["id"])]
    assert all(slot is not None for slot in slots)
    local = [s.astimezone(BERLIN) for s in slots if s is not None]
    assert local == sorted(local) and len(set(local)) == 4
    # The two weekly slots alternate, and four of them span a week boundary.
    kinds = [(t.strftime("%a"), t.strftime("%H:%M")) for t in local]
    assert set(kinds) <= {(FIRST_NAME, "17:00"), (SECOND_NAME, "09:00")}
    assert all(a != b for a, b in pairwise(kinds))
    assert any(b.isocalendar().week != a.isocalendar().week for a, b in pairwise(local))
    assert _at(created["next_due_at"]) == local[0]
    assert [o["item_position"] for o in created["next_occurrences"]] == [0, 1, 2, 3]
    assert [_at(o["at"]) for o in created["next_occurrences"]] == local
    # Items added later queue after the last assigned slot.
    added = client.post(f"/api/v1/campaigns/{created['id']}/items", json={"items": items[:2]})
    assert added.status_code == 201, added.text
    new = [_at(s) for s in added.json()["slots"]]
    assert len(new) == 2 and local[-1] < new[0] < new[1]
    assert [slot for _, slot in _slots(created["id"])][4:] == new


def test_a_slot_queue_without_items_needs_no_whole_template(api_as: ApiAs, org_token: str) -> None:
    created = _create(api_as(org_token), schedule=SLOTS, template={"platforms": ["instagram"]})
    assert (created["status"], created["next_due_at"], created["next_occurrences"]) == (
        "active",
        None,
        [],
    )


def test_a_schedule_already_over_is_created_completed(api_as: ApiAs, org_token: str) -> None:
    over = {"kind": "recurrence", "rrule": "FREQ=DAILY", "start": "2020-01-01T09:00", "count": 3}
    created = _create(api_as(org_token), schedule=over)
    assert (created["status"], created["next_due_at"]) == ("completed", None)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"schedule": {**WEEKLY, "rrule": "FREQ=WEEKLY;BYDAY=XX"}}, "schedule.recurrence"),
        ({"schedule": {**WEEKLY, "rrule": "FREQ=DAILY;COUNT=10001"}}, "schedule.recurrence"),
        ({"schedule": {**WEEKLY, "rrule": "DTSTART:20300101T090000\nRRULE:FREQ=DAILY"}},
         "schedule.recurrence.rrule"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"schedule": {**WEEKLY, "start": "2030-01-01T09:00:00+01:00"}},
         "schedule.recurrence.start"),
        ({"schedule": {**WEEKLY, "count": 10}}, "schedule.recurrence"),
        ({"schedule": {"kind": "slots", "slots": [{"days": ["MO"], "time": "25:00"}]}},
         "schedule.slots.slots.0.time"),
        ({"lateness_minutes": 1441}, "lateness_minutes"),
        ({"content": {"mode": "in_order", "cooldown_days": 7}}, "content"),
        ({"template": {**TEMPLATE, "publish_at": "2027-01-01T09:00:00+00:00"}},
         "template.publish_at"),
        ({"surprise": True}, "surprise"),
    ],
)  # fmt: skip
def test_invalid_campaign_is_422_with_the_field_and_stores_nothing(
    api_as: ApiAs, org_token: str, overrides: dict[str, Any], field: str
) -> None:
    response = api_as(org_token).post("/api/v1/campaigns", json=_body(**overrides))
    details = _error(response, 422, "validation_error")
    assert field in [f["field"] for f in details["fields"]]
    assert _count(Campaign) == 0


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MINUTELY",
        "FREQ=SECONDLY;COUNT=61",
        # Dense without saying so: every minute of every hour of every day.
        "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24)))
        + ";BYMINUTE=" + ",".join(map(str, range(60))),
    ],
)  # fmt: skip
def test_an_open_ended_rule_minutes_apart_is_refused(
    api_as: ApiAs, org_token: str, rule: str
) -> None:
    response = api_as(org_token).post("/api/v1/campaigns", json=_body(schedule=_plain(rule)))
    details = _error(response, 422, "schedule_too_dense")
    assert details["shortest_gap_s"] < 15 * 60 and details["max_count"] == 60
    assert _count(Campaign) == 0


def test_a_rule_with_no_occurrence_at_all_is_refused_within_the_budget(
    api_as: ApiAs, org_token: str
) -> None:
    started = time.monotonic()
    response = api_as(org_token).post(
        "/api/v1/campaigns",
        json=_body(schedule=_plain("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")),
    )
    assert _error(response, 422, "invalid_schedule")["reason"].startswith("the rule has no")
    assert time.monotonic() - started < 10  # not the walk to the year 9999
    ok = api_as(org_token).post("/api/v1/campaigns", json=_body(name="Still served"))
    assert ok.status_code == 201, ok.text


def test_count_in_the_rule_is_kept_as_the_schedules_count(api_as: ApiAs, org_token: str) -> None:
    created = _create(
        api_as(org_token),
        schedule=_plain("FREQ=WEEKLY;COUNT=4;BYDAY=TU,TH;BYHOUR=9;BYMINUTE=0"),
    )
    assert created["schedule"]["count"] == 4
    assert "COUNT" not in created["schedule"]["rrule"]


def test_a_short_burst_finer_than_hourly_is_allowed_with_a_count(
    api_as: ApiAs, org_token: str
) -> None:
    burst = {"kind": "recurrence", "rrule": "FREQ=SECONDLY;INTERVAL=10;COUNT=3",
             "start": "2030-01-01T09:00:00"}  # fmt: skip
    created = _create(api_as(org_token), schedule=burst)
    assert [o["at"][11:19] for o in created["next_occurrences"]] == [
        "09:00:00", "09:00:10", "09:00:20",
    ]  # fmt: skip


def test_bad_items_are_reported_with_their_index(api_as: ApiAs, org_token: str) -> None:
    items = [
        {"topic": "A fine item"},
        {"topic": "ok", "key_points": []},  # topic too short, no key points
        {"topic": "Another fine item"},
        {"headline": "not an item field"},
    ]
    template = {"key_points": ["Stretch"], "platforms": ["instagram"]}  # no topic: items give it
    response = api_as(org_token).post(
        "/api/v1/campaigns", json=_body(template=template, items=items)
    )
    rows = _error(response, 422, "invalid_items")["rows"]
    assert [row["index"] for row in rows] == [1, 3]
    assert {e["field"] for e in rows[0]["errors"]} == {"topic", "key_points"}
    assert [e["type"] for e in rows[1]["errors"]] == ["extra_forbidden"]
    assert _count(Campaign) == 0


def test_an_item_is_checked_merged_over_the_template(api_as: ApiAs, org_token: str) -> None:
    template = {"key_points": ["Stretch"], "platforms": ["instagram"]}
    items = [{"topic": "Has a topic"}, {"quote": "Misses the topic the template lacks"}]
    response = api_as(org_token).post(
        "/api/v1/campaigns", json=_body(template=template, items=items)
    )
    rows = _error(response, 422, "invalid_items")["rows"]
    assert rows == [
        {"index": 1, "errors": [{"field": "topic", "problem": "Field required", "type": "missing"}]}
    ]


def test_a_recurrence_without_items_needs_a_whole_template(api_as: ApiAs, org_token: str) -> None:
    response = api_as(org_token).post(
        "/api/v1/campaigns", json=_body(template={"platforms": ["instagram"]})
    )
    details = _error(response, 422, "incomplete_template")
    assert {e["field"] for e in details["errors"]} == {"topic", "key_points"}


def test_an_override_must_fall_on_an_occurrence(api_as: ApiAs, org_token: str) -> None:
    schedule = {**WEEKLY, "overrides": {"2030-01-02T09:00:00": {"topic": "A Wednesday"}}}
    response = api_as(org_token).post("/api/v1/campaigns", json=_body(schedule=schedule))
    details = _error(response, 422, "invalid_overrides")
    assert details["overrides"][0]["at"] == "2030-01-02T09:00:00"
    assert details["overrides"][0]["errors"][0]["type"] == "no_occurrence"


def test_duplicate_name_is_409(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    _create(client)
    _error(client.post("/api/v1/campaigns", json=_body()), 409, "campaign_name_taken")
    assert _count(Campaign) == 1


def test_campaigns_are_invisible_to_other_organizations(
    api_as: ApiAs, org_token: str, other_org_token: str
) -> None:
    mine = _create(api_as(org_token))
    path = f"/api/v1/campaigns/{mine['id']}"
    other = api_as(other_org_token)
    assert other.get("/api/v1/campaigns").json()["items"] == []
    _error(other.get(path), 404, "campaign_not_found")
    _error(other.patch(path, json={"name": "Mine now"}), 404, "campaign_not_found")
    _error(other.post(f"{path}/pause"), 404, "campaign_not_found")
    _error(other.post(f"{path}/resume"), 404, "campaign_not_found")
    _error(other.post(f"{path}/items", json={"items": [{}]}), 404, "campaign_not_found")
    _error(other.delete(path), 404, "campaign_not_found")
    # The same name is free in another organization.
    assert other.post("/api/v1/campaigns", json=_body()).status_code == 201
    stored = _campaign(mine["id"])
    assert stored is not None and stored.name == "Tuesday tips"


def test_a_template_naming_another_organizations_voice_is_422(
    api_as: ApiAs, org_token: str, other_org_token: str
) -> None:
    voice = api_as(other_org_token).post(
        "/api/v1/brand-voices", json={"name": "Theirs", "tone": "dry"}
    )
    assert voice.status_code == 201
    template = {**TEMPLATE, "brand_voice_id": voice.json()["id"]}
    response = api_as(org_token).post("/api/v1/campaigns", json=_body(template=template))
    _error(response, 422, "unknown_brand_voice")


# ---- reading -----------------------------------------------------------------------------


def test_next_occurrences_are_local_times_across_a_dst_change(
    api_as: ApiAs, org_token: str
) -> None:
    schedule = {
        "kind": "recurrence",
        "rrule": "FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
        "start": "2030-03-25T09:00:00",
        "skip_dates": ["2030-04-02"],
    }
    created = _create(api_as(org_token), schedule=schedule)
    view = api_as(org_token).get(f"/api/v1/campaigns/{created['id']}").json()
    upcoming = view["next_occurrences"]
    days = [date(2030, 3, 25) + timedelta(days=n) for n in range(10)]
    assert [o["at"] for o in upcoming] == [
        # Summer time from Sunday 31 March: still 09:00 on the wall clock.
        f"{day}T09:00:00{'+02:00' if day >= date(2030, 3, 31) else '+01:00'}"
        for day in days
    ]
    reasons = {o["at"][:10]: o["skipped_reason"] for o in upcoming if o["skipped_reason"]}
    assert reasons == {"2030-04-02": "2030-04-02 is one of the campaign's skipped dates"}


def test_view_shows_past_occurrences_and_totals(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    created = _create(client)
    campaign_id = uuid.UUID(created["id"])
    run_id, post_ids = make_run(org="acme", status=RunStatus.PUBLISHED)
    at = datetime(2026, 11, 26, 8, tzinfo=UTC)
    with worker_session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        brief = session.get(Brief, run.brief_id)
        assert brief is not None
        brief.campaign_id = campaign_id
        session.add_all(
            [
                CampaignOccurrence(
                    campaign_id=campaign_id, occurs_at=at, status="created", run_id=run_id
                ),
                CampaignOccurrence(
                    campaign_id=campaign_id,
                    occurs_at=at + timedelta(days=1),
                    status="skipped",
                    reason="the campaign was paused",
                ),
            ]
        )
        # Two readings of the first post (the later one counts), one of the second.
        for post_id, offset, metrics in (
            (post_ids[0], 3600, {"likes": 5, "reach": 100}),
            (post_ids[0], 86400, {"likes": 7, "reach": 250}),
            (post_ids[1], 3600, {"likes": 3, "impressions": 40}),
        ):
            session.add(
                MetricSnapshot(
                    post_id=post_id, offset_s=offset, due_at=at, collected_at=at, metrics=metrics
                )
            )
    view = client.get(f"/api/v1/campaigns/{created['id']}").json()
    assert view["totals"]["metrics"] == {"impressions": 40, "likes": 10, "reach": 250}
    assert view["totals"]["occurrences"] == {"published": 1, "skipped": 1}
    past = view["past_occurrences"]
    assert [(p["occurs_at"], p["status"], p["run_status"]) for p in past] == [
        ("2026-11-27T09:00:00+01:00", "skipped", None),
        ("2026-11-26T09:00:00+01:00", "created", "published"),
    ]
    assert past[1]["run_id"] == str(run_id)
    assert past[0]["reason"] == "the campaign was paused"


def test_list_is_paged_summaries(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    for name in ("First", "Second", "Third"):
        _create(client, name=name)
    page = client.get("/api/v1/campaigns", params={"limit": 2, "offset": 1}).json()
    assert [c["name"] for c in page["items"]] == ["Second", "Third"]
    assert page["items"][0]["kind"] == "recurrence"
    assert page["items"][0]["next_due_at"] == "2030-01-01T09:00:00+01:00"
    assert client.get("/api/v1/campaigns", params={"limit": 101}).status_code == 422


# ---- changes -----------------------------------------------------------------------------


def test_patch_moves_next_due_but_not_the_cursor(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    created = _create(client)
    path = f"/api/v1/campaigns/{created['id']}"
    wednesdays = {"kind": "recurrence", "rrule": "FREQ=WEEKLY;BYDAY=WE;BYHOUR=10",
                  "start": "2030-01-01T10:00:00"}  # fmt: skip
    response = client.patch(path, json={"schedule": wednesdays, "lateness_minutes": 5})
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["next_due_at"] == "2030-01-02T10:00:00+01:00"
    assert patched["materialized_through"] == created["materialized_through"]
    assert (patched["lateness_minutes"], patched["name"]) == (5, created["name"])
    assert patched["updated_at"] is not None
    stored = _campaign(created["id"])
    assert stored is not None
    assert stored.materialized_through == _at(created["materialized_through"])
    assert stored.next_due_at == datetime(2030, 1, 2, 9, tzinfo=UTC)
    with worker_session() as session:
        topics = session.scalars(select(OutboxMessage.topic)).all()
    assert topics == [CAMPAIGN_CHANGED, CAMPAIGN_CHANGED]
    # A schedule with nothing left completes the campaign; a new one starts it again.
    over = {**wednesdays, "until": "2026-11-01", "start": "2026-10-01T10:00:00"}
    assert client.patch(path, json={"schedule": over}).json()["status"] == "completed"
    again = client.patch(path, json={"schedule": wednesdays}).json()
    assert (again["status"], again["next_due_at"]) == ("active", "2030-01-02T10:00:00+01:00")


def test_patch_validation(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    _create(client, name="Taken")
    created = _create(client, items=[{"topic": "An item topic"}])
    path = f"/api/v1/campaigns/{created['id']}"
    _error(client.patch(path, json={"name": "Taken"}), 409, "campaign_name_taken")
    _error(client.patch(path, json={"timezone": None}), 422, "validation_error")
    _error(client.patch(path, json={"timezone": "Nowhere/Land"}), 422, "validation_error")
    # The stored item has no key points of its own: the template must keep giving them.
    bare = {"topic": "A topic", "platforms": ["instagram"]}
    details = _error(client.patch(path, json={"template": bare}), 422, "template_breaks_items")
    assert details["items"][0]["position"] == 0
    renamed = client.patch(path, json={"name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"


def test_changing_slots_reassigns_unused_future_items(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    created = _create(client, schedule=SLOTS, items=[{"topic": f"Tip {n}"} for n in range(3)])
    code, name = _weekday_from_now(3)
    weekly = {"kind": "slots", "slots": [{"days": [code], "time": "11:30"}]}
    patched = client.patch(f"/api/v1/campaigns/{created['id']}", json={"schedule": weekly})
    assert patched.status_code == 200, patched.text
    local = [s.astimezone(BERLIN) for _, s in _slots(created["id"]) if s is not None]
    assert len(local) == 3
    assert {(t.strftime("%a"), t.strftime("%H:%M")) for t in local} == {(name, "11:30")}
    assert [(b - a).days for a, b in pairwise(local)] == [7, 7]
    assert _at(patched.json()["next_due_at"]) == local[0]


def test_pause_and_resume(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    # Twelve hours from now: never inside the materializer's horizon during the test.
    hour = (datetime.now(BERLIN).hour + 12) % 24
    daily = {"kind": "recurrence", "rrule": f"FREQ=DAILY;BYHOUR={hour};BYMINUTE=0",
             "start": "2026-01-01T00:00"}  # fmt: skip
    created = _create(client, schedule=daily)
    path = f"/api/v1/campaigns/{created['id']}"
    paused = client.post(f"{path}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert client.post(f"{path}/pause").json()["status"] == "paused"  # idempotent
    # Time passes while paused: say the campaign's rows stopped three days ago.
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    with worker_session() as session:
        stored = session.get(Campaign, uuid.UUID(created["id"]))
        assert stored is not None
        stored.materialized_through = three_days_ago
        stored.schedule_anchor = None  # it was an occurrence after the old cursor
    before = datetime.now(UTC)
    resumed = client.post(f"{path}/resume").json()
    assert resumed["status"] == "active"
    assert before <= _at(resumed["paused_until"]) <= datetime.now(UTC)
    # The first occurrence after the cursor, in the past: the materializer records it.
    assert three_days_ago < _at(resumed["next_due_at"]) < three_days_ago + timedelta(days=1)
    # ...as skipped, never fired: the campaign.changed event brought it at once.
    skipped = _wait_for_occurrences(created["id"], 3)
    assert {o.reason for o in skipped} == {"the campaign was paused"}
    assert {o.status for o in skipped} == {"skipped"} and _count(Run) == 0


def _wait_for_occurrences(campaign_id: str, n: int, timeout_s: float = 15) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        with worker_session() as session:
            found = session.scalars(
                select(CampaignOccurrence).where(
                    CampaignOccurrence.campaign_id == uuid.UUID(campaign_id)
                )
            ).all()
            if len(found) >= n or time.monotonic() > deadline:
                session.expunge_all()
                assert len(found) >= n, f"{len(found)} occurrences"
                return list(found)
        time.sleep(0.2)


def test_a_completed_campaign_cannot_be_paused(api_as: ApiAs, org_token: str) -> None:
    over = {"kind": "recurrence", "rrule": "FREQ=DAILY", "start": "2020-01-01T09:00", "count": 1}
    created = _create(api_as(org_token), schedule=over)
    path = f"/api/v1/campaigns/{created['id']}"
    _error(api_as(org_token).post(f"{path}/pause"), 409, "campaign_completed")
    _error(api_as(org_token).post(f"{path}/resume"), 409, "campaign_completed")


def test_delete_keeps_the_runs_it_created(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    created = _create(client, items=[{"topic": "An item topic"}])
    run_id, _ = make_run(org="acme", status=RunStatus.PUBLISHED)
    with worker_session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        brief = session.get(Brief, run.brief_id)
        assert brief is not None
        brief.campaign_id = uuid.UUID(created["id"])
        brief_id = brief.id
    path = f"/api/v1/campaigns/{created['id']}"
    response = client.delete(path)
    assert response.status_code == 204 and response.content == b""
    _error(client.get(path), 404, "campaign_not_found")
    _error(client.delete(path), 404, "campaign_not_found")
    assert (_count(Campaign), _count(CampaignItem), _count(Run)) == (0, 0, 1)
    with worker_session() as session:
        kept = session.get(Brief, brief_id)
        assert kept is not None and kept.campaign_id is None
    assert _count(Post) == 2


# ---- bulk items --------------------------------------------------------------------------


def test_items_json_reject_stores_nothing_keep_valid_stores_the_good(
    api_as: ApiAs, org_token: str
) -> None:
    client = api_as(org_token)
    created = _create(client)
    path = f"/api/v1/campaigns/{created['id']}/items"
    items = [{"topic": "Good one"}, {"topic": "x"}, {"topic": "Good two", "template": "photo"}]
    rows = _error(client.post(path, json={"items": items}), 422, "invalid_items")["rows"]
    assert [(r["index"], [e["field"] for e in r["errors"]]) for r in rows] == [
        (1, ["topic"]),
        (2, [""]),  # the photo template needs a photo: a rule of the whole brief
    ]
    assert _count(CampaignItem) == 0
    kept = client.post(path, json={"items": items, "on_error": "keep_valid"})
    assert kept.status_code == 201, kept.text
    assert kept.json()["added"] == 1
    assert [r["index"] for r in kept.json()["rejected"]] == [1, 2]
    with worker_session() as session:
        contents = session.scalars(select(CampaignItem.content)).all()
    assert contents == [{"topic": "Good one"}]
    view = client.get(f"/api/v1/campaigns/{created['id']}").json()
    assert (view["totals"]["items"], view["totals"]["unused_items"]) == (1, 1)


def test_items_csv_reports_the_file_line(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    created = _create(client, template={"platforms": ["linkedin"]}, items=[
        {"topic": "First item", "key_points": ["One"]}])  # fmt: skip
    path = f"/api/v1/campaigns/{created['id']}/items"
    csv_text = (
        "topic,key_points,quote,attribution\n"  # line 1
        "Why we compost,Less waste|Better soil,,\n"  # line 2
        "\n"  # line 3: blank, skipped
        '"A topic over\ntwo lines",Point,"Be kind",Ann\n'  # lines 4-5
        "ab,Too short a topic,,\n"  # line 6
        '"No key points,\nover two lines",,,\n'  # lines 7-8: reported where it starts
        "Last but fine,Point,,\n"  # line 9
    )
    headers = {"Content-Type": "text/csv; charset=utf-8"}
    rejected = client.post(path, content=csv_text, headers=headers)
    rows = _error(rejected, 422, "invalid_items")["rows"]
    assert [(r["line"], r["errors"][0]["field"]) for r in rows] == [(6, "topic"), (7, "key_points")]
    assert _count(CampaignItem) == 1
    kept = client.post(path, content=csv_text, headers=headers, params={"on_error": "keep_valid"})
    assert kept.status_code == 201, kept.text
    assert (kept.json()["added"], [r["line"] for r in kept.json()["rejected"]]) == (3, [6, 7])
    with worker_session() as session:
        contents = session.scalars(
            select(CampaignItem.content).order_by(CampaignItem.position)
        ).all()
    assert contents[1:] == [
        {"topic": "Why we compost", "key_points": ["Less waste", "Better soil"]},
        {"topic": "A topic over\ntwo lines", "key_points": ["Point"], "quote": "Be kind",
         "attribution": "Ann"},
        {"topic": "Last but fine", "key_points": ["Point"]},
    ]  # fmt: skip


def test_items_csv_with_an_unknown_column_is_refused(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    created = _create(client)
    response = client.post(
        f"/api/v1/campaigns/{created['id']}/items",
        content="topic,headline\nA topic,A headline\n",
        headers={"Content-Type": "text/csv"},
    )
    assert "headline" in _error(response, 422, "invalid_csv")["reason"]


def test_more_than_500_items_is_422(api_as: ApiAs, org_token: str) -> None:
    client = api_as(org_token)
    created = _create(client)
    path = f"/api/v1/campaigns/{created['id']}/items"
    # JSON: the schema's maxItems; CSV (no schema): the same rule, said by its own code.
    too_many = client.post(path, json={"items": [{"topic": "Same"}] * 501})
    assert _error(too_many, 422, "validation_error")["fields"][0]["field"] == "items"
    csv_text = "topic\n" + "A topic\n" * 501
    response = client.post(path, content=csv_text, headers={"Content-Type": "text/csv"})
    _error(response, 422, "too_many_items")
    # 500 is the limit, not over it.
    assert client.post(path, json={"items": [{"topic": "Same"}] * 500}).status_code == 201
    assert _count(CampaignItem) == 500


def test_a_completed_campaign_given_a_new_schedule_owes_nothing_from_before_the_edit(
    api_as: ApiAs, org_token: str
) -> None:
    client = api_as(org_token)
    ended = {"kind": "recurrence", "rrule": "FREQ=DAILY", "start": "2020-01-01T09:00:00",
             "count": 1}  # fmt: skip
    created = _create(client, schedule=ended)
    assert created["status"] == "completed"
    with worker_session() as session:  # as if it had ended long ago
        stored = session.get(Campaign, uuid.UUID(created["id"]))
        assert stored is not None
        stored.materialized_through = datetime(2020, 1, 2, tzinfo=UTC)
    before = datetime.now(UTC)
    hourly = {**_plain("FREQ=HOURLY;BYMINUTE=0"), "start": "2020-01-01T00:00:00"}
    patched = client.patch(f"/api/v1/campaigns/{created['id']}", json={"schedule": hourly})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["status"] == "active"
    assert _at(body["materialized_through"]) >= before  # not 2020: no backlog of skips
    assert before < _at(body["next_due_at"]) <= before + timedelta(hours=1)
