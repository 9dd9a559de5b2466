"""When a campaign's occurrences fall: pure functions of its schedule and time zone.

Two kinds of schedule, stored as a JSON document on the campaign:

- a recurrence: an RFC 5545 RRULE (python-dateutil) from a local start time, with an
  optional COUNT or end date, skipped dates and per-occurrence overrides;
- weekly posting slots (a slot queue): each item joining the queue takes the next free slot.

Rules are expanded in local wall-clock time and only then converted to UTC, so 09:00 in
Europe/Berlin stays 09:00 across daylight-saving changes. A local time that does not exist
(spring forward, 02:30) is read with the offset before the gap, so it fires at 03:30; a time
that happens twice (fall back) fires once, at its first instance: both as RFC 5545 says.
Nothing here looks at when anything last ran.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

RECURRENCE = "recurrence"
SLOTS = "slots"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Expanding a window in local time: widen it by more than any UTC offset, then filter in UTC.
_MARGIN = timedelta(days=1, hours=2)


class ScheduleError(ValueError):
    """A schedule document that cannot be expanded (bad RRULE, unknown zone…)."""


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall time in `zone` as UTC; fold=0 gives RFC 5545's reading of times in
    a gap (the offset before it) and of repeated times (the first instance)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


@dataclass(frozen=True)
class Recurrence:
    rule: str  # "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=9;BYMINUTE=0", without DTSTART
    start: datetime  # naive, local
    zone: ZoneInfo
    count: int | None = None
    until: date | None = None  # inclusive, local
    skip_dates: frozenset[date] = frozenset()
    # Local occurrence time (naive) -> brief fields for that occurrence, or {"skip": True}.
    overrides: dict[datetime, dict[str, Any]] = field(default_factory=dict)
    # A known occurrence of this rule (local, naive, as the rule produced it): dateutil walks
    # every occurrence from the start to answer "what comes after t", a year of an hourly
    # rule is ~80 ms a call, so the walk starts here instead. From any occurrence the series
    # continues the same (intervals and BY- parts stay aligned). COUNT counts from the
    # start, so a counted rule is anchored only once its last occurrence (`ends_at`, UTC)
    # is known and stands in for the count.
    anchor: datetime | None = None
    ends_at: datetime | None = None

    def _rule(self) -> rrule:
        counted = self.count is not None and self.ends_at is None
        dtstart = self.start
        if self.anchor is not None and not counted and self.anchor > self.start:
            dtstart = self.anchor
        try:
            parsed = rrulestr(self.rule, dtstart=dtstart, ignoretz=True)
        except (ValueError, TypeError) as exc:
            raise ScheduleError(f"invalid RRULE: {exc}") from exc
        if not isinstance(parsed, rrule):
            raise ScheduleError("give one RRULE")
        # The API moves COUNT to the schedule's `count`; dateutil keeps it private.
        if getattr(parsed, "_count", None) is not None:
            raise ScheduleError("give COUNT as the schedule's count, not in the rule")
        changes: dict[str, Any] = {}
        if counted:
            changes["count"] = self.count
        if self.until is not None:
            changes["until"] = datetime.combine(self.until, time.max)
        return parsed.replace(**changes) if changes else parsed

    def last_occurrence(self) -> datetime | None:
        """UTC of a counted rule's last occurrence (None for an open-ended rule). Walks the
        whole count once: done when the campaign is saved, kept as `ends_at`."""
        if self.count is None:
            return None
        last = None
        for last in dataclasses.replace(self, anchor=None, ends_at=None)._rule():  # noqa: B007
            pass
        return None if last is None else to_utc(last, self.zone)

    def _within_end(self, instant: datetime) -> bool:
        return self.ends_at is None or instant <= self.ends_at

    def occurrences(self, after: datetime, through: datetime) -> list[datetime]:
        """UTC times of the occurrences in (after, through], skipped dates included (the
        caller records them as skipped), in order."""
        return [instant for _, instant in self.expand(after, through)]

    def expand(self, after: datetime, through: datetime) -> list[tuple[datetime, datetime]]:
        """(local as the rule produced it, UTC) for each occurrence in (after, through]."""
        rule = self._rule()
        local_from = to_local(after, self.zone) - _MARGIN
        local_to = to_local(through, self.zone) + _MARGIN
        found = []
        seen: set[datetime] = set()
        for local in rule.between(local_from, local_to, inc=True):
            instant = to_utc(local, self.zone)
            if after < instant <= through and instant not in seen and self._within_end(instant):
                seen.add(instant)
                found.append((local, instant))
        # A time in a spring-forward gap lands an hour on, possibly after later local times.
        return sorted(found, key=lambda pair: pair[1])

    def first_after(self, after: datetime) -> datetime | None:
        found = self.next_occurrence(after)
        return None if found is None else found[1]

    def next_occurrence(self, after: datetime) -> tuple[datetime, datetime] | None:
        """(local as the rule produced it, UTC) of the first occurrence after `after`: the
        local part is a valid anchor for any expansion from `after` on."""
        return next(self._after(after), None)

    def _after(self, after: datetime) -> Iterator[tuple[datetime, datetime]]:
        """(local, UTC) of every occurrence after `after`, in order, from one walk."""
        local = to_local(after, self.zone) - _MARGIN
        for candidate in self._rule().xafter(local, inc=True):
            instant = to_utc(candidate, self.zone)
            if not self._within_end(instant):
                return
            if instant > after:
                yield candidate, instant

    def upcoming(self, after: datetime, count: int) -> list[tuple[datetime, datetime]]:
        """(local, UTC) of the next `count` occurrences after `after`, skipped ones included."""
        found: list[tuple[datetime, datetime]] = []
        if count <= 0:
            return found
        for local, instant in self._after(after):
            if all(instant != taken for _, taken in found):  # two local times, one instant
                found.append((local, instant))
            if len(found) == count:
                break
        return found

    def densest_gap(self, occurrences: int) -> timedelta | None:
        """The shortest time between two of the first `occurrences` occurrences: a rule's
        pattern repeats every period, so its first few hundred show how dense it gets."""
        times = [instant for _, instant in itertools.islice(self._after(to_utc(
            self.start, self.zone) - timedelta(seconds=1)), occurrences)]  # fmt: skip
        gaps = [b - a for a, b in itertools.pairwise(times)]
        return min(gaps) if gaps else None

    # Skips and overrides are keyed by the local time the rule produced (a time in a
    # spring-forward gap is still 02:30 here, though it fires at 03:30).
    def skip_reason(self, local: datetime) -> str | None:
        if local.date() in self.skip_dates:
            return f"{local.date().isoformat()} is one of the campaign's skipped dates"
        if self.overrides.get(local, {}).get("skip"):
            return f"the occurrence at {local.isoformat(timespec='minutes')} is set to skip"
        return None

    def override(self, local: datetime) -> dict[str, Any]:
        fields = dict(self.overrides.get(local, {}))
        fields.pop("skip", None)
        return fields


@dataclass(frozen=True)
class Slot:
    weekday: int  # 0 = Monday
    at: time


@dataclass(frozen=True)
class SlotQueue:
    slots: tuple[Slot, ...]
    zone: ZoneInfo

    def slots_after(self, after: datetime) -> Iterator[datetime]:
        """Every slot strictly after `after`, in UTC, in order, for ever."""
        if not self.slots:
            return
        day = to_local(after, self.zone).date() - timedelta(days=1)
        while True:
            today = {s.at for s in self.slots if s.weekday == day.weekday()}
            # By instant: a slot in a spring-forward gap (02:30) lands at 03:30.
            for instant in sorted(to_utc(datetime.combine(day, at), self.zone) for at in today):
                if instant > after:
                    yield instant
            day += timedelta(days=1)

    def next_free(self, after: datetime, count: int) -> list[datetime]:
        """The next `count` slots after `after` (the caller passes the last taken slot)."""
        found: list[datetime] = []
        for instant in self.slots_after(after):
            if instant in found:  # two slots at one instant (a repeated local time)
                continue
            found.append(instant)
            if len(found) == count:
                break
        return found


Schedule = Recurrence | SlotQueue


def parse(
    document: dict[str, Any],
    timezone: str,
    anchor: datetime | None = None,
    ends_at: datetime | None = None,
) -> Schedule:
    """A campaign's stored schedule document as a schedule (validated by the API first);
    `anchor` and `ends_at`: what the campaign row keeps to expand it cheaply (Recurrence)."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ScheduleError(f"unknown time zone {timezone!r}") from exc
    kind = document.get("kind")
    if kind == RECURRENCE:
        return Recurrence(
            rule=document["rrule"],
            start=datetime.fromisoformat(document["start"]),
            zone=zone,
            count=document.get("count"),
            until=date.fromisoformat(document["until"]) if document.get("until") else None,
            skip_dates=frozenset(date.fromisoformat(d) for d in document.get("skip_dates", [])),
            overrides={
                datetime.fromisoformat(k): v for k, v in document.get("overrides", {}).items()
            },
            anchor=anchor,
            ends_at=ends_at,
        )
    if kind == SLOTS:
        return SlotQueue(slots=tuple(parse_slots(document.get("slots", []))), zone=zone)
    raise ScheduleError(f"unknown schedule kind {kind!r}")


def parse_slots(slots: Sequence[dict[str, Any]]) -> Iterator[Slot]:
    for slot in slots:
        at = time.fromisoformat(slot["time"])
        for day in slot["days"]:
            yield Slot(weekday=WEEKDAYS.index(day), at=at)
