"""`briefcast campaign show` prints what a person needs from the campaign's view."""

from __future__ import annotations

from briefcast.cli_campaigns import describe

VIEW = {
    "id": "c0ffee00-0000-4000-8000-000000000001",
    "name": "Running tips",
    "status": "active",
    "timezone": "Europe/Berlin",
    "schedule": {"kind": "recurrence", "rrule": "FREQ=WEEKLY;BYDAY=TU",
                 "start": "2027-01-05T09:00:00", "until": "2027-03-31"},
    "next_occurrences": [
        {"at": "2027-03-23T09:00:00+01:00", "skipped_reason": None},
        {"at": "2027-03-30T09:00:00+02:00",
         "skipped_reason": "2027-03-30 is one of the campaign's skipped dates"},
    ],
    "past_occurrences": [
        {"occurs_at": "2027-03-16T09:00:00+01:00", "status": "created", "reason": None,
         "run_id": "r1", "run_status": "published"},
        {"occurs_at": "2027-03-09T09:00:00+01:00", "status": "skipped",
         "reason": "the campaign was paused", "run_id": None, "run_status": None},
    ],
    "totals": {"occurrences": {"published": 1, "skipped": 1}, "metrics": {"likes": 12},
               "items": 5, "unused_items": 4},
}  # fmt: skip


def test_describe_shows_schedule_next_and_past_occurrences_and_totals() -> None:
    text = describe(VIEW)
    assert (
        "FREQ=WEEKLY;BYDAY=TU from 2027-01-05T09:00:00, until 2027-03-31  [Europe/Berlin]" in text
    )
    assert "2027-03-30T09:00:00+02:00  skipped: 2027-03-30 is one" in text
    assert "2027-03-16T09:00:00+01:00  created  published" in text
    assert "2027-03-09T09:00:00+01:00  skipped  the campaign was paused" in text
    assert "occurrences: published 1, skipped 1" in text
    assert "items: 5 (4 not used yet)" in text and "metrics: likes 12" in text


def test_describe_a_slot_queue_with_nothing_yet() -> None:
    slots = [{"days": ["MO", "FR"], "time": "09:00"}]
    view = {**VIEW, "schedule": {"kind": "slots", "slots": slots},
            "next_occurrences": [], "past_occurrences": [],
            "totals": {"occurrences": {}, "metrics": {},
                       "items": 0, "unused_items": 0}}  # fmt: skip
    text = describe(view)
    assert "slot queue: MO,FR 09:00" in text
    assert "none yet" in text and "occurrences: none" in text and "metrics" not in text
