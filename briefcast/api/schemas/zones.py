"""IANA time zones as the schemas take them: checked against this machine's tz database."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones


@cache
def zones() -> frozenset[str]:
    # "localtime" is this machine's zone, not an IANA name.
    return frozenset(available_timezones() - {"localtime"})


def zone_enum(schema: dict[str, Any]) -> None:
    """The schema lists the zones the server accepts (this machine's tz database)."""
    schema["enum"] = sorted(zones())


def known_zone(value: str) -> str:
    if value not in zones():
        raise ValueError("must be an IANA time zone, e.g. Europe/Berlin")
    return value
