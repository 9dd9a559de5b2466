"""Campaigns: a brief template, a schedule in a time zone, and the items that vary per post.

The shapes here are checked field by field; what needs the template and the organization
together (every item merged over the template is a whole brief, the photos are the
organization's) is checked by the service, `briefcast/api/campaigns.py`.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal

from dateutil.rrule import rrule, rrulestr
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    NaiveDatetime,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from briefcast.api.schemas.numbers import JsonInt
from briefcast.api.schemas.patch import PatchModel
from briefcast.api.schemas.text import PLAIN, PLAIN_OR_BLANK, Len
from briefcast.api.schemas.zones import known_zone, zone_enum
from briefcast.models.campaigns import CampaignStatus, ContentMode
from briefcast.models.posts import Platform
from briefcast.pipeline.campaigns.content import ITEM_FIELDS

MAX_ITEMS_PER_REQUEST = 500
# COUNT is kept as the schedule's `count`, one place for it (the materializer works out the
# last occurrence from it once).
_COUNT_PART = re.compile(r";?\bCOUNT\s*=\s*\d+", re.IGNORECASE)
MAX_COUNT = 10_000
# The start time and zone are the campaign's own fields, never inside the rule.
_NOT_IN_RULE = re.compile(r"DTSTART|TZID|[\r\n]", re.IGNORECASE)
_SLOT_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"

TemplateName = Literal["headline", "quote", "photo"]
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class ErrorOut(BaseModel):
    """The body of every error answer (`briefcast/api/errors.py`)."""

    error_code: str
    message: str
    timestamp: datetime
    details: Any


# ---- content -----------------------------------------------------------------------------


class CampaignItemIn(BaseModel):
    """One item: the brief fields that vary per occurrence (`content.ITEM_FIELDS`)."""

    model_config = ConfigDict(extra="forbid")

    topic: Annotated[str, Len(3, 200), PLAIN] | None = None
    key_points: list[Annotated[str, Len(1, 280), PLAIN]] | None = Field(
        default=None, min_length=1, max_length=10
    )
    quote: Annotated[str, Len(1, 500), PLAIN] | None = None
    attribution: Annotated[str, Len(1, 200), PLAIN] | None = None
    photo_url: HttpUrl | None = None
    photo_upload_id: uuid.UUID | None = None
    template: TemplateName | None = None


assert set(CampaignItemIn.model_fields) == set(ITEM_FIELDS)

# Items are taken as plain objects and checked one by one by the service, so one bad item is
# reported with its position (or kept out with on_error=keep_valid) rather than failing the
# whole body; the documented schema is still the item's.
ItemObject = Annotated[dict[str, Any], WithJsonSchema(CampaignItemIn.model_json_schema())]


class BriefTemplateIn(BaseModel):
    """A brief whose `publish_at` is its occurrence's time, or "best"; `topic` and
    `key_points` may be left to the items. Fields left out stay unset, so a brand voice
    fills them."""

    model_config = ConfigDict(extra="forbid")

    topic: Annotated[str, Len(3, 200), PLAIN] | None = None
    key_points: list[Annotated[str, Len(1, 280), PLAIN]] | None = Field(
        default=None, min_length=1, max_length=10
    )
    brand_voice: Annotated[str, Len(1, 500), PLAIN] | None = None
    audience: Annotated[str, Len(0, 500), PLAIN_OR_BLANK] | None = None
    brand_color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
    brand_voice_id: uuid.UUID | None = None
    variants: JsonInt = Field(default=1, ge=1, le=3)
    template: TemplateName = "headline"
    quote: Annotated[str, Len(1, 500), PLAIN] | None = None
    attribution: Annotated[str, Len(1, 200), PLAIN] | None = None
    photo_upload_id: uuid.UUID | None = None
    photo_url: HttpUrl | None = None
    platforms: list[Platform] = Field(
        min_length=1, max_length=len(Platform), json_schema_extra={"uniqueItems": True}
    )
    publish_at: Literal["best"] | None = Field(
        default=None,
        description='Omit to publish at each occurrence; "best": at the best weekday and hour '
        "(in the campaign's time zone) after it, from the organization's own engagement.",
    )

    @field_validator("platforms")
    @classmethod
    def _unique_platforms(cls, value: list[Platform]) -> list[Platform]:
        if len(set(value)) != len(value):
            raise ValueError("each platform may appear once")
        return value


class ContentIn(BaseModel):
    """How items are used: each once in order, or round robin (with a cool-down and a cap
    per item: evergreen content)."""

    model_config = ConfigDict(extra="forbid")

    mode: ContentMode = ContentMode.IN_ORDER
    cooldown_days: JsonInt = Field(default=0, ge=0, le=3650)
    max_uses: JsonInt | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _limits_are_for_rotation(self) -> ContentIn:
        if self.mode == ContentMode.IN_ORDER and (self.cooldown_days or self.max_uses):
            raise ValueError("cooldown_days and max_uses apply to mode 'rotate'")
        return self


# ---- schedules ---------------------------------------------------------------------------


class OverrideIn(CampaignItemIn):
    """What one occurrence posts instead of the item's fields, or `skip`."""

    skip: bool = False


class RecurrenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["recurrence"]
    rrule: str = Field(
        min_length=1, max_length=500,
        description="An RFC 5545 RRULE without DTSTART or TZID, e.g. FREQ=WEEKLY;BYDAY=TU.",
    )  # fmt: skip
    start: NaiveDatetime = Field(description="Local date-time in the campaign's zone.")
    count: JsonInt | None = Field(default=None, ge=1, le=MAX_COUNT)
    until: date | None = Field(default=None, description="Last local date (inclusive).")
    skip_dates: list[date] = Field(default_factory=list, max_length=1000)
    overrides: dict[NaiveDatetime, OverrideIn] = Field(
        default_factory=dict, max_length=500, description="By local occurrence time."
    )

    @field_validator("rrule")
    @classmethod
    def _plain_rule(cls, value: str) -> str:
        value = value.strip().removeprefix("RRULE:")
        if _NOT_IN_RULE.search(value):
            raise ValueError("give the rule alone: start and timezone are separate fields")
        return value

    @model_validator(mode="after")
    def _bounded_once(self) -> RecurrenceIn:
        if match := _COUNT_PART.search(self.rrule):
            if self.count is not None:
                raise ValueError("give COUNT in the rule or as count, not both")
            self.count = int(match.group().split("=")[1])
            self.rrule = _COUNT_PART.sub("", self.rrule).strip(";")
            if not 1 <= self.count <= MAX_COUNT:
                raise ValueError(f"COUNT must be between 1 and {MAX_COUNT}")
        if self.count is not None and self.until is not None:
            raise ValueError("give count or until, not both")
        if self.until is not None and self.until < self.start.date():
            raise ValueError("until is before start")
        # The syntax only: parsing is cheap, expanding may not be (the service does that).
        try:
            parsed = rrulestr(self.rrule, dtstart=self.start, ignoretz=True)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"invalid RRULE: {exc}") from exc
        if not isinstance(parsed, rrule):
            raise ValueError("give one RRULE")
        return self

    def document(self) -> dict[str, Any]:
        """The stored form: an override keeps only the fields it sets (an unset one must not
        blank the item's)."""
        return {
            **self.model_dump(mode="json", exclude={"overrides", "skip_dates"}),
            "skip_dates": sorted({d.isoformat() for d in self.skip_dates}),
            "overrides": {
                at.isoformat(): o.model_dump(mode="json", exclude_unset=True)
                for at, o in sorted(self.overrides.items())
            },
        }


class SlotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[Weekday] = Field(min_length=1, max_length=7, json_schema_extra={"uniqueItems": True})
    time: str = Field(pattern=_SLOT_TIME, description="Local HH:MM.")

    @field_validator("days")
    @classmethod
    def _unique_days(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each day may appear once")
        return value


class SlotsIn(BaseModel):
    """Weekly posting slots: each item takes the next free slot when it joins the queue."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["slots"]
    slots: list[SlotIn] = Field(min_length=1, max_length=50)

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


ScheduleIn = Annotated[RecurrenceIn | SlotsIn, Field(discriminator="kind")]


# ---- requests ----------------------------------------------------------------------------


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Len(1, 200), PLAIN]
    timezone: str = Field(
        max_length=64, examples=["Europe/Berlin"], json_schema_extra=lambda s: zone_enum(s)
    )
    schedule: ScheduleIn
    template: BriefTemplateIn
    items: list[ItemObject] = Field(default_factory=list, max_length=MAX_ITEMS_PER_REQUEST)
    content: ContentIn = Field(default_factory=ContentIn)
    lateness_minutes: JsonInt = Field(
        default=60, ge=0, le=1440,
        description="An occurrence the materializer reaches later than this is skipped.",
    )  # fmt: skip

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_zone(value)


class CampaignPatch(PatchModel):
    """Any of the campaign's fields; an object (schedule, template, content) is replaced
    whole. Only occurrences after the ones already materialized change."""

    name: Annotated[str, Len(1, 200), PLAIN] | None = None
    timezone: str | None = Field(
        default=None, max_length=64, json_schema_extra=lambda s: zone_enum(s)
    )
    schedule: ScheduleIn | None = None
    template: BriefTemplateIn | None = None
    content: ContentIn | None = None
    lateness_minutes: JsonInt | None = Field(default=None, ge=0, le=1440)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else known_zone(value)


OnError = Literal["reject", "keep_valid"]


class ItemsIn(BaseModel):
    """Items to append (JSON). `reject`: one bad item stores none; `keep_valid`: the good
    ones are stored and the bad ones reported."""

    model_config = ConfigDict(extra="forbid")

    items: list[ItemObject] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)
    on_error: OnError = "reject"


# ---- item rows (JSON or CSV) -------------------------------------------------------------


@dataclass
class ItemRow:
    """One item as sent, before the service checks it. `ref` says where it was: {"index": i}
    in a JSON list, {"line": n} in a CSV file (the header is line 1)."""

    ref: dict[str, int]
    fields: dict[str, Any]
    errors: list[dict[str, str]] = field(default_factory=list)


def json_rows(items: list[dict[str, Any]]) -> list[ItemRow]:
    return [ItemRow({"index": i}, item) for i, item in enumerate(items)]


class CsvError(ValueError):
    """The file as a whole cannot be read (encoding, header, quoting)."""


class TooManyRowsError(ValueError):
    pass


CSV_COLUMNS = ITEM_FIELDS
KEY_POINT_SEPARATOR = "|"


def csv_rows(data: bytes, limit: int = MAX_ITEMS_PER_REQUEST) -> list[ItemRow]:
    """Items from a CSV file with a header row; an empty cell leaves its field unset and
    key_points are separated by "|"."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError("the file is not UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not any(header):
            raise CsvError("the first line must be a header naming the columns")
        if unknown := [name for name in header if name not in CSV_COLUMNS]:
            raise CsvError(f"unknown columns {unknown}; the columns are {list(CSV_COLUMNS)}")
        if len(set(header)) != len(header):
            raise CsvError("a column appears twice in the header")
        rows: list[ItemRow] = []
        while True:
            line = reader.line_num + 1  # where this record starts (it may span lines)
            record = next(reader, None)
            if record is None:
                return rows
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) == limit:
                raise TooManyRowsError(f"more than {limit} rows")
            rows.append(_csv_row(line, header, record))
    except csv.Error as exc:
        raise CsvError(f"line {reader.line_num}: {exc}") from exc


def _csv_row(line: int, header: list[str], record: list[str]) -> ItemRow:
    row = ItemRow({"line": line}, {})
    if len(record) > len(header):
        row.errors.append(
            {"field": "", "problem": "more cells than the header has columns", "type": "csv"}
        )
    for name, cell in zip(header, record, strict=False):
        if not cell.strip():
            continue
        if name == "key_points":
            row.fields[name] = [p for p in cell.split(KEY_POINT_SEPARATOR) if p.strip()]
        else:
            row.fields[name] = cell
    return row


# ---- responses ---------------------------------------------------------------------------


class ScheduledOccurrence(BaseModel):
    at: datetime = Field(description="Local time with its offset, in the campaign's zone.")
    skipped_reason: str | None = None
    item_position: int | None = Field(default=None, description="Slot queues: the item.")


class PastOccurrenceOut(BaseModel):
    occurs_at: datetime
    status: str
    reason: str | None
    run_id: uuid.UUID | None
    run_status: str | None


class CampaignTotals(BaseModel):
    occurrences: dict[str, int] = Field(
        description="Skipped occurrences, and created ones by their run's status."
    )
    metrics: dict[str, int | float] = Field(
        description="Each metric over the campaign's posts (each post's latest reading)."
    )
    items: int
    unused_items: int


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    status: CampaignStatus
    status_reason: str | None = Field(
        default=None, description="Why a failed campaign was parked: edit it to retry."
    )
    timezone: str
    schedule: dict[str, Any]
    template: dict[str, Any]
    content: ContentIn
    lateness_minutes: int
    materialized_through: datetime = Field(
        description="Every occurrence up to here has its row (created or skipped)."
    )
    next_due_at: datetime | None
    paused_until: datetime | None
    created_at: datetime
    updated_at: datetime | None
    next_occurrences: list[ScheduledOccurrence]
    past_occurrences: list[PastOccurrenceOut]
    totals: CampaignTotals


class CampaignSummary(BaseModel):
    id: uuid.UUID
    name: str
    status: CampaignStatus
    timezone: str
    kind: Literal["recurrence", "slots"] | None
    next_due_at: datetime | None = Field(description="Local time, in the campaign's zone.")


class CampaignList(BaseModel):
    items: list[CampaignSummary]
    limit: int
    offset: int


class ItemsAdded(BaseModel):
    added: int
    slots: list[datetime] = Field(
        default_factory=list, description="Slot queues: each new item's slot, local time."
    )
    rejected: list[dict[str, Any]] = Field(
        default_factory=list,
        description='With on_error=keep_valid: {"index"|"line", "errors"} of each bad item.',
    )
