"""Campaign schedules in local time: daylight saving, ends, skips, overrides, slot queues."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from briefcast.pipeline.campaigns.content import brief_fields
from briefcast.pipeline.campaigns.schedule import (
    Recurrence,
    ScheduleError,
    SlotQueue,
    parse,
    to_local,
)


def _recurrence(rule: str, start: str, zone: str, **extra: Any) -> Recurrence:
    sched = parse({"kind": "recurrence", "rrule": rule, "start": start, **extra}, zone)
    assert isinstance(sched, Recurrence)
    return sched


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _local_times(sched: Recurrence | SlotQueue, times: list[datetime]) -> list[str]:
    return [to_local(t, sched.zone).isoformat(timespec="minutes") for t in times]


@pytest.mark.parametrize(
    ("zone", "start", "window", "offsets"),
    [
        # Europe/Berlin springs forward on 2027-03-28 and falls back on 2027-10-31.
        ("Europe/Berlin", "2027-03-26T09:00:00", (_utc(2027, 3, 26), _utc(2027, 3, 31)), {1, 2}),
        ("Europe/Berlin", "2027-10-29T09:00:00", (_utc(2027, 10, 29), _utc(2027, 11, 3)), {1, 2}),
        # America/New_York: 2027-03-14 and 2027-11-07.
        ("America/New_York", "2027-03-12T09:00:00", (_utc(2027, 3, 12), _utc(2027, 3, 17)), {4, 5}),
        (
            "America/New_York",
            "2027-11-05T09:00:00",
            (_utc(2027, 11, 5), _utc(2027, 11, 10)),
            {4, 5},
        ),
    ],
)
def test_nine_local_stays_nine_local_across_dst(
    zone: str, start: str, window: tuple[datetime, datetime], offsets: set[int]
) -> None:
    sched = _recurrence("FREQ=DAILY;BYHOUR=9;BYMINUTE=0", start, zone)
    times = sched.occurrences(*window)
    assert _local_times(sched, times) == [
        (date.fromisoformat(start[:10]) + timedelta(days=i)).isoformat() + "T09:00"
        for i in range(5)
    ]
    # The UTC hour moved by exactly the change of offset: both offsets appear.
    assert {abs(t.hour - 9) for t in times} == offsets


def test_spring_forward_gap_fires_once_an_hour_later_and_fall_back_fires_once() -> None:
    sched = _recurrence("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "2027-03-27T02:30:00", "Europe/Berlin")
    spring = sched.occurrences(_utc(2027, 3, 27), _utc(2027, 3, 30))
    # 02:30 does not exist on the 28th: RFC 5545 reads it with the offset before the gap.
    assert _local_times(sched, spring) == [
        "2027-03-27T02:30",
        "2027-03-28T03:30",
        "2027-03-29T02:30",
    ]
    autumn = sched.occurrences(_utc(2027, 10, 30), _utc(2027, 11, 2))
    # 02:30 happens twice on the 31st: one occurrence, at the first of them (+02:00).
    assert [t.isoformat() for t in autumn] == [
        "2027-10-30T00:30:00+00:00",
        "2027-10-31T00:30:00+00:00",
        "2027-11-01T01:30:00+00:00",
    ]


def test_count_and_until_end_the_schedule() -> None:
    by_count = _recurrence("FREQ=DAILY;BYHOUR=9", "2027-01-01T09:00:00", "UTC", count=3)
    assert len(by_count.occurrences(_utc(2026, 12, 31), _utc(2027, 2, 1))) == 3
    assert by_count.first_after(_utc(2027, 1, 3, 9)) is None
    by_date = _recurrence(
        "FREQ=DAILY;BYHOUR=9", "2027-01-01T09:00:00", "Asia/Tokyo", until="2027-01-04"
    )
    times = by_date.occurrences(_utc(2026, 12, 31), _utc(2027, 2, 1))
    assert _local_times(by_date, times)[-1] == "2027-01-04T09:00"
    assert len(times) == 4


def test_window_is_half_open_so_adjacent_windows_never_share_an_occurrence() -> None:
    sched = _recurrence("FREQ=HOURLY", "2027-01-01T00:00:00", "Europe/Berlin")
    first = sched.occurrences(_utc(2027, 1, 1), _utc(2027, 1, 1, 5))
    second = sched.occurrences(_utc(2027, 1, 1, 5), _utc(2027, 1, 1, 10))
    assert len(first) == len(second) == 5
    assert not set(first) & set(second)


def test_skipped_dates_and_overrides_are_per_local_occurrence() -> None:
    sched = _recurrence(
        "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=9;BYMINUTE=0",
        "2026-12-01T09:00:00",
        "Europe/Berlin",
        skip_dates=["2026-12-24"],
        overrides={
            "2026-12-29T09:00:00": {"topic": "Our year in review"},
            "2026-12-31T09:00:00": {"skip": True},
        },
    )
    # Keyed by the local time the rule produced.
    dec_24, dec_29, dec_31 = (datetime(2026, 12, d, 9) for d in (24, 29, 31))
    assert sched.skip_reason(dec_24) == "2026-12-24 is one of the campaign's skipped dates"
    assert sched.skip_reason(dec_29) is None
    assert sched.override(dec_29) == {"topic": "Our year in review"}
    assert "set to skip" in (sched.skip_reason(dec_31) or "")
    assert sched.override(dec_31) == {}


def test_upcoming_lists_the_next_occurrences_in_order() -> None:
    sched = _recurrence("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", "2027-01-04T09:00:00", "UTC")
    upcoming = sched.upcoming(_utc(2027, 1, 4, 9), 3)
    assert [at for _, at in upcoming] == [
        _utc(2027, 1, 11, 9), _utc(2027, 1, 18, 9), _utc(2027, 1, 25, 9),
    ]  # fmt: skip
    assert sched.upcoming(_utc(2027, 1, 4, 9), 0) == []


def test_slot_queue_fills_slots_in_order_across_a_week_boundary_and_dst() -> None:
    queue = parse(
        {"kind": "slots", "slots": [{"days": ["FR", "MO"], "time": "09:00"},
                                    {"days": ["MO"], "time": "12:30"}]},
        "America/New_York",
    )  # fmt: skip
    assert isinstance(queue, SlotQueue)
    # Friday 2027-11-05 08:00 local; the clocks go back on Sunday the 7th.
    slots = queue.next_free(_utc(2027, 11, 5, 12), 5)
    assert _local_times(queue, slots) == [
        "2027-11-05T09:00",
        "2027-11-08T09:00",
        "2027-11-08T12:30",
        "2027-11-12T09:00",
        "2027-11-15T09:00",
    ]
    assert slots[0].hour == 13 and slots[1].hour == 14  # -04:00, then -05:00
    # After the last taken slot, the next ones follow it.
    assert queue.next_free(slots[-1], 1) == [_utc(2027, 11, 15, 17, 30)]


@pytest.mark.parametrize(
    ("document", "zone"),
    [
        ({"kind": "recurrence", "rrule": "FREQ=SOMETIMES", "start": "2027-01-01T09:00:00"}, "UTC"),
        (
            {"kind": "recurrence", "rrule": "FREQ=DAILY", "start": "2027-01-01T09:00:00"},
            "Mars/Base",
        ),
        ({"kind": "cron"}, "UTC"),
    ],
)
def test_a_schedule_that_cannot_be_expanded_says_why(document: dict[str, Any], zone: str) -> None:
    with pytest.raises(ScheduleError):
        sched = parse(document, zone)
        assert isinstance(sched, Recurrence)
        sched.first_after(_utc(2027, 1, 1))


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;BYHOUR=9;BYMINUTE=0",
        "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1;BYHOUR=17",
        "FREQ=DAILY;BYHOUR=2,9;BYMINUTE=30",
        "FREQ=HOURLY;INTERVAL=5",
        "FREQ=MONTHLY;INTERVAL=3",
        "FREQ=YEARLY;BYMONTH=3,10;BYMONTHDAY=-1",
    ],
)
def test_expanding_from_an_anchor_gives_the_same_occurrences_as_from_the_start(
    rule: str,
) -> None:
    plain = _recurrence(rule, "2026-01-06T09:00:00", "Europe/Berlin")
    for k in (3, 7):
        anchor_local, anchor_utc = plain.expand(_utc(2026, 1, 1), _utc(2031, 1, 1))[k]
        anchored = parse(plain_document(rule), "Europe/Berlin", anchor=anchor_local)
        assert isinstance(anchored, Recurrence)
        window = (anchor_utc - timedelta(seconds=1), anchor_utc + timedelta(days=800))
        assert anchored.occurrences(*window) == plain.occurrences(*window)
        assert anchored.next_occurrence(anchor_utc) == plain.next_occurrence(anchor_utc)


def plain_document(rule: str) -> dict[str, Any]:
    return {"kind": "recurrence", "rrule": rule, "start": "2026-01-06T09:00:00"}


def test_a_counted_rule_anchored_at_its_end_gives_the_same_occurrences() -> None:
    counted = _recurrence("FREQ=DAILY;BYHOUR=9", "2026-01-01T09:00:00", "Europe/Berlin", count=400)
    ends_at = counted.last_occurrence()
    assert ends_at is not None and to_local(ends_at, counted.zone).date() == date(2027, 2, 4)
    anchor_local, anchor_utc = counted.expand(_utc(2026, 6, 1), _utc(2026, 6, 3))[0]
    fast = parse(
        {"kind": "recurrence", "rrule": "FREQ=DAILY;BYHOUR=9", "start": "2026-01-01T09:00:00",
         "count": 400},
        "Europe/Berlin", anchor=anchor_local, ends_at=ends_at,
    )  # fmt: skip
    assert isinstance(fast, Recurrence)
    window = (anchor_utc - timedelta(seconds=1), _utc(2027, 6, 1))
    assert fast.occurrences(*window) == counted.occurrences(*window)
    assert len(fast.occurrences(*window)) == 249  # 2026-06-02 .. 2027-02-04
    assert fast.first_after(ends_at) is None


def test_count_inside_the_rule_is_refused_here_the_api_moves_it_to_count() -> None:
    with pytest.raises(ScheduleError, match="count"):
        _recurrence("FREQ=DAILY;COUNT=3", "2027-01-01T09:00:00", "UTC").first_after(
            _utc(2027, 1, 1)
        )


def test_densest_gap_of_a_rule() -> None:
    dense = _recurrence("FREQ=DAILY;BYHOUR=9;BYMINUTE=0,5,30", "2027-01-01T09:00:00", "UTC")
    assert dense.densest_gap(50) == timedelta(minutes=5)
    weekly = _recurrence("FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9", "2027-01-04T09:00:00", "UTC")
    assert weekly.densest_gap(50) == timedelta(days=3)


def test_an_override_on_a_time_in_the_spring_forward_gap_still_applies() -> None:
    sched = _recurrence(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "2027-03-27T02:30:00", "Europe/Berlin",
        overrides={"2027-03-28T02:30:00": {"topic": "The night the clocks go forward"}},
    )  # fmt: skip
    ((local, at),) = sched.expand(_utc(2027, 3, 28), _utc(2027, 3, 28, 12))
    assert (local, to_local(at, sched.zone)) == (
        datetime(2027, 3, 28, 2, 30), datetime(2027, 3, 28, 3, 30),
    )  # fmt: skip
    assert sched.override(local) == {"topic": "The night the clocks go forward"}


def test_slots_on_the_spring_forward_day_come_in_the_order_they_happen() -> None:
    queue = parse(
        {"kind": "slots", "slots": [{"days": ["SU"], "time": "02:30"},
                                    {"days": ["SU"], "time": "03:15"}]},
        "Europe/Berlin",
    )  # fmt: skip
    assert isinstance(queue, SlotQueue)
    first, second = queue.next_free(_utc(2027, 3, 27), 2)
    assert first < second
    # 03:15 exists; 02:30 does not and lands at 03:30, after it.
    assert [to_local(t, queue.zone).time().isoformat() for t in (first, second)] == [
        "03:15:00", "03:30:00",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("item", "override", "photo"),
    [
        ({"photo_upload_id": "u-1"}, {"photo_url": "https://example.com/a.jpg"},
         {"photo_url": "https://example.com/a.jpg"}),
        ({"photo_url": "https://example.com/a.jpg"}, {"topic": "No photo change"},
         {"photo_url": "https://example.com/a.jpg"}),
        ({}, {"photo_upload_id": "u-2"}, {"photo_upload_id": "u-2"}),
    ],
)  # fmt: skip
def test_a_later_photo_replaces_an_earlier_one_in_either_form(
    item: dict[str, Any], override: dict[str, Any], photo: dict[str, Any]
) -> None:
    template = {"topic": "T", "photo_url": "https://example.com/template.jpg"}
    fields = brief_fields(template, item, override)
    assert {k: v for k, v in fields.items() if k.startswith("photo")} == photo
