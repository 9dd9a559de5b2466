"""Campaigns for the API: check what is sent, build the rows, place occurrences in time.

Every write runs in the request's transaction and adds a `campaign.changed` outbox row, relayed
once that transaction commits (`api.deps.get_session`) so the materializer looks at the
campaign at once. The
materializer owns `materialized_through` (its cursor): nothing here moves it, so an edit
changes only occurrences that have no row yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import anyio
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.api import schedule_worker
from briefcast.api.errors import ApiError
from briefcast.api.intake import unknown_organization
from briefcast.api.schemas.briefs import BriefIn
from briefcast.api.schemas.campaigns import (
    BriefTemplateIn,
    CampaignIn,
    CampaignItemIn,
    CampaignOut,
    CampaignPatch,
    CampaignSummary,
    CampaignTotals,
    ContentIn,
    ItemRow,
    OnError,
    PastOccurrenceOut,
    RecurrenceIn,
    ScheduledOccurrence,
    SlotsIn,
)
from briefcast.models.campaigns import Campaign, CampaignStatus, ContentMode
from briefcast.models.events import CAMPAIGN_CHANGED, campaign_event_payload
from briefcast.models.repositories import campaigns as repo
from briefcast.models.repositories import media as media_repo
from briefcast.models.repositories import outbox as outbox_repo
from briefcast.models.repositories import voices
from briefcast.pipeline.campaigns import schedule
from briefcast.pipeline.campaigns.content import brief_fields

# Occurrences closer than MIN_GAP only in a rule with a count of at most MAX_DENSE_COUNT;
# judged on the rule's first DENSITY_SAMPLE occurrences.
MIN_GAP = timedelta(minutes=15)
MAX_DENSE_COUNT = 60
DENSITY_SAMPLE = 200
UPCOMING = 10
PAST = 50
# Expanding a rule that has no occurrence left (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) makes
# dateutil scan up to the year 9999: seconds of CPU. Expansions run in a thread, and a
# schedule that takes longer than this is refused rather than holding the request.
T = TypeVar("T")
_FOREIGN_KEY_VIOLATION = "23503"  # SQLSTATE


@dataclass(frozen=True)
class ItemsResult:
    added: int
    slots: list[datetime]  # slot queues: the new items' slots, in the campaign's zone
    rejected: list[dict[str, Any]]


def not_found(campaign_id: uuid.UUID) -> ApiError:
    return ApiError(404, "campaign_not_found", f"No campaign {campaign_id}.")


def name_taken(name: str) -> ApiError:
    return ApiError(
        409, "campaign_name_taken", f"A campaign named {name!r} already exists.", {"name": name}
    )


def _conflict(exc: IntegrityError, name: str) -> ApiError:
    """What an IntegrityError on a campaign's insert or rename was: a name taken in between
    (the unique key), or an organization that does not exist (the foreign key)."""
    if getattr(exc.orig, "sqlstate", None) == _FOREIGN_KEY_VIOLATION:
        return unknown_organization()
    return name_taken(name)


async def _changed(session: AsyncSession, campaign: Campaign) -> Campaign:
    """Ask the materializer to look at the campaign now, once the request commits."""
    payload = campaign_event_payload(campaign.id)
    await outbox_repo.add_to_relay(session, CAMPAIGN_CHANGED, payload)
    return campaign


async def load(
    session: AsyncSession, org_id: uuid.UUID, campaign_id: uuid.UUID, *, lock: bool = False
) -> Campaign:
    campaign = await repo.get(session, org_id, campaign_id, lock=lock)
    if campaign is None:
        # Another organization's campaign is indistinguishable from a missing one.
        raise not_found(campaign_id)
    return campaign


# ---- writes ------------------------------------------------------------------------------


async def create(
    session: AsyncSession, org_id: uuid.UUID, body: CampaignIn, now: datetime
) -> Campaign:
    if await repo.name_taken(session, org_id, body.name):
        raise name_taken(body.name)
    template = body.template.model_dump(mode="json", exclude_unset=True)
    await _check_template_refs(session, org_id, body.template)
    document = body.schedule.document()
    sched = _parse(document, body.timezone)
    await _check_density(sched)
    rows = [ItemRow({"index": i}, item) for i, item in enumerate(body.items)]
    contents = await _checked_items(session, org_id, template, rows)
    if any(row.errors for row in rows):
        raise invalid_items(rows)
    _check_template_alone(sched, template, has_items=bool(contents))
    await _check_overrides(session, org_id, sched, body.schedule, template)
    slots: list[datetime | None] = [None] * len(contents)
    anchor = None
    if isinstance(sched, schedule.SlotQueue):
        slots = list(sched.next_free(now, len(contents))) if contents else []
        next_due = slots[0] if slots else None
    else:
        following = await expand(sched.next_occurrence, now)
        anchor, next_due = following if following else (None, None)
    campaign = Campaign(
        id=uuid.uuid4(),
        organization_id=org_id,
        name=body.name,
        timezone=body.timezone,
        schedule=document,
        brief_template=template,
        lateness_s=body.lateness_minutes * 60,
        # A recurrence with nothing left after now has ended already; a slot queue waits.
        status=CampaignStatus.ACTIVE
        if next_due is not None or isinstance(sched, schedule.SlotQueue)
        else CampaignStatus.COMPLETED,
        # Occurrences before the campaign existed never fire.
        materialized_through=now,
        schedule_anchor=anchor,
        next_due_at=next_due,
        paused_until=None,
        updated_at=None,
    )
    _set_content(campaign, body.content)
    try:
        await repo.add(session, campaign)
    except IntegrityError as exc:
        raise _conflict(exc, body.name) from exc
    await repo.append_items(session, campaign.id, contents, slots)
    return await _changed(session, campaign)


async def update(
    session: AsyncSession,
    org_id: uuid.UUID,
    campaign_id: uuid.UUID,
    patch: CampaignPatch,
    now: datetime,
) -> Campaign:
    campaign = await load(session, org_id, campaign_id, lock=True)
    given = patch.model_fields_set
    if nulls := sorted(k for k in given if getattr(patch, k) is None):
        raise ApiError(422, "validation_error", "Fields cannot be set to null.", {"fields": nulls})
    if patch.name is not None and patch.name != campaign.name:
        if await repo.name_taken(session, org_id, patch.name, other_than=campaign.id):
            raise name_taken(patch.name)
        try:
            await repo.rename(session, campaign, patch.name)
        except IntegrityError as exc:
            raise _conflict(exc, patch.name) from exc
    timezone = patch.timezone or campaign.timezone
    document = patch.schedule.document() if patch.schedule else campaign.schedule
    sched = _parse(document, timezone)
    if patch.schedule is not None:
        await _check_density(sched)
    template = campaign.brief_template
    if patch.template is not None:
        template = patch.template.model_dump(mode="json", exclude_unset=True)
        await _check_template_refs(session, org_id, patch.template)
        await _check_stored_items(session, campaign.id, template)
    if patch.template is not None or patch.schedule is not None:
        items, _ = await repo.item_totals(session, campaign.id)
        _check_template_alone(sched, template, has_items=items > 0)
        if isinstance(sched, schedule.Recurrence):
            spec = patch.schedule or RecurrenceIn.model_validate(campaign.schedule)
            await _check_overrides(session, org_id, sched, spec, template)
    rescheduled = (timezone, document) != (campaign.timezone, campaign.schedule)
    old = schedule.parse(campaign.schedule, campaign.timezone)
    campaign.timezone, campaign.schedule, campaign.brief_template = timezone, document, template
    if patch.content is not None:
        _set_content(campaign, patch.content)
    if patch.lateness_minutes is not None:
        campaign.lateness_s = patch.lateness_minutes * 60
    if rescheduled:
        await _reschedule(session, campaign, old, sched, now)
    campaign.updated_at = now
    return await _changed(session, campaign)


async def pause(
    session: AsyncSession, org_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime
) -> Campaign:
    """The materializer passes over a paused campaign; nothing to tell it."""
    campaign = await load(session, org_id, campaign_id, lock=True)
    _refuse_completed(campaign)
    if campaign.status != CampaignStatus.PAUSED:
        campaign.status = CampaignStatus.PAUSED
        campaign.updated_at = now
    return campaign


async def resume(
    session: AsyncSession, org_id: uuid.UUID, campaign_id: uuid.UUID, now: datetime
) -> Campaign:
    """Active again; occurrences that fell while paused are recorded as skipped, never fired
    in a burst. An active campaign is left as it is."""
    campaign = await load(session, org_id, campaign_id, lock=True)
    _refuse_completed(campaign)
    if campaign.status != CampaignStatus.PAUSED:
        return campaign
    campaign.status = CampaignStatus.ACTIVE
    campaign.paused_until = now
    sched = _parse(campaign.schedule, campaign.timezone, campaign.schedule_anchor)
    # Possibly in the past: the materializer then records the paused ones as skipped.
    await _set_next(session, campaign, sched, campaign.materialized_through)
    if campaign.next_due_at is None and isinstance(sched, schedule.Recurrence):
        campaign.status = CampaignStatus.COMPLETED
    campaign.updated_at = now
    return await _changed(session, campaign)


async def add_items(
    session: AsyncSession,
    org_id: uuid.UUID,
    campaign_id: uuid.UUID,
    rows: list[ItemRow],
    on_error: OnError,
    now: datetime,
) -> ItemsResult:
    campaign = await load(session, org_id, campaign_id, lock=True)
    if not rows:
        raise ApiError(422, "no_items", "Send at least one item.")
    contents = await _checked_items(session, org_id, campaign.brief_template, rows)
    rejected = [_row_report(row) for row in rows if row.errors]
    if rejected and on_error == "reject":
        raise invalid_items(rows)
    if not contents:
        return ItemsResult(0, [], rejected)
    sched = _parse(campaign.schedule, campaign.timezone)
    slots: list[datetime | None] = [None] * len(contents)
    if isinstance(sched, schedule.SlotQueue):
        # After the queue's last slot, and never before the materializer's cursor (a slot
        # there would never be reached).
        after = max(
            now, campaign.materialized_through, await repo.last_slot(session, campaign.id) or now
        )
        taken = sched.next_free(after, len(contents))
        slots = list(taken)
        if campaign.next_due_at is None or campaign.next_due_at > taken[0]:
            campaign.next_due_at = taken[0]
    await repo.append_items(session, campaign.id, contents, slots)
    campaign.updated_at = now
    await _changed(session, campaign)
    zone = ZoneInfo(campaign.timezone)
    local = [s.astimezone(zone) for s in slots if s is not None]
    return ItemsResult(len(contents), local, rejected)


async def _reschedule(
    session: AsyncSession,
    campaign: Campaign,
    old: schedule.Schedule,
    new: schedule.Schedule,
    now: datetime,
) -> None:
    """Place the occurrences after the cursor under the new schedule."""
    if campaign.status == CampaignStatus.COMPLETED:
        # Started again: the new rule's occurrences before the edit are not owed.
        campaign.materialized_through = max(campaign.materialized_through, now)
    cursor = campaign.materialized_through
    if isinstance(new, schedule.SlotQueue) and new != old:
        pending = await repo.unused_items_to_slot(session, campaign.id, cursor)
        # Not before now either: an edit must not give an item a slot already in the past.
        slots = new.next_free(max(now, cursor), len(pending)) if pending else []
        for item, slot in zip(pending, slots, strict=True):
            item.slot_at = slot
    elif isinstance(new, schedule.Recurrence) and isinstance(old, schedule.SlotQueue):
        for item in await repo.unused_items_to_slot(session, campaign.id, cursor):
            item.slot_at = None  # a recurrence takes items by position, not by slot
    await session.flush()
    # Both describe the old rule: the anchor is one of its occurrences, ends_at its last.
    campaign.schedule_anchor = campaign.ends_at = None
    await _set_next(session, campaign, new, cursor)
    if campaign.status == CampaignStatus.PAUSED:
        return
    ended = isinstance(new, schedule.Recurrence) and campaign.next_due_at is None
    campaign.status = CampaignStatus.COMPLETED if ended else CampaignStatus.ACTIVE
    campaign.status_reason = None  # a parked campaign's new schedule is tried afresh


async def _set_next(
    session: AsyncSession, campaign: Campaign, sched: schedule.Schedule, after: datetime
) -> None:
    """The campaign's first occurrence after `after` (and, for a recurrence, the anchor
    its expansion may start from)."""
    if isinstance(sched, schedule.SlotQueue):
        campaign.next_due_at = await repo.first_slot_after(session, campaign.id, after)
        return
    following = await expand(sched.next_occurrence, after)
    campaign.schedule_anchor, campaign.next_due_at = following if following else (None, None)


async def _check_density(sched: schedule.Schedule) -> None:
    """Each occurrence is a run with its model calls: occurrences minutes apart are for a
    short burst (a countdown, a demo), never an open-ended schedule."""
    if not isinstance(sched, schedule.Recurrence):
        return
    gap = await expand(sched.densest_gap, DENSITY_SAMPLE)
    short_burst = sched.count is not None and sched.count <= MAX_DENSE_COUNT
    if gap is not None and gap < MIN_GAP and not short_burst:
        minutes = MIN_GAP.total_seconds() / 60
        raise ApiError(
            422, "schedule_too_dense",
            f"Occurrences less than {minutes:.0f} minutes apart need a count of at most "
            f"{MAX_DENSE_COUNT}.",
            {"shortest_gap_s": gap.total_seconds(), "max_count": MAX_DENSE_COUNT},
        )  # fmt: skip


def _refuse_completed(campaign: Campaign) -> None:
    if campaign.status == CampaignStatus.COMPLETED:
        raise ApiError(
            409, "campaign_completed", "The campaign's schedule has no occurrence left; "
            "give it a new schedule to start it again.", {"status": campaign.status},
        )  # fmt: skip


def _set_content(campaign: Campaign, content: ContentIn) -> None:
    campaign.content_mode = content.mode
    campaign.cooldown_days = content.cooldown_days
    campaign.max_uses = content.max_uses


# ---- checks ------------------------------------------------------------------------------


def _parse(
    document: dict[str, Any], timezone: str, anchor: datetime | None = None
) -> schedule.Schedule:
    try:
        return schedule.parse(document, timezone, anchor)
    except schedule.ScheduleError as exc:
        raise ApiError(422, "invalid_schedule", str(exc), {"reason": str(exc)}) from exc


async def expand(fn: Callable[..., T], *args: Any) -> T:
    """A schedule computation in the schedule worker (a child process, stopped if it runs
    past its budget), awaited off the event loop."""
    try:
        return await anyio.to_thread.run_sync(partial(schedule_worker.run, fn, *args))
    except schedule.ScheduleError as exc:
        raise ApiError(422, "invalid_schedule", str(exc), {"reason": str(exc)}) from exc
    except schedule_worker.ScheduleTimeoutError as exc:
        reason = "the rule has no occurrence that can be found (it may have none at all)"
        raise ApiError(422, "invalid_schedule", reason, {"reason": reason}) from exc


def problems(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors in the API's shape (as in `validation_error` bodies)."""
    return [
        {
            "field": ".".join(str(part) for part in err["loc"]),
            "problem": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors()
    ]


def _row_report(row: ItemRow) -> dict[str, Any]:
    return {**row.ref, "errors": row.errors}


def invalid_items(rows: Sequence[ItemRow]) -> ApiError:
    bad = [_row_report(row) for row in rows if row.errors]
    return ApiError(
        422, "invalid_items", f"{len(bad)} item(s) are not valid; none was stored.",
        {"rows": bad},
    )  # fmt: skip


async def _checked_items(
    session: AsyncSession, org_id: uuid.UUID, template: dict[str, Any], rows: list[ItemRow]
) -> list[dict[str, Any]]:
    """The stored content of each good row, in order; a bad row gets its errors."""
    contents: dict[int, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        if row.errors:
            continue
        try:
            item = CampaignItemIn.model_validate(row.fields)
        except ValidationError as exc:
            row.errors = problems(exc)
            continue
        content = item.model_dump(mode="json", exclude_unset=True)
        # What each occurrence posts: the template with the item over it.
        if errors := _brief_problems(brief_fields(template, content, {})):
            row.errors = errors
            continue
        contents[i] = content
    uploads = {
        i: uuid.UUID(c["photo_upload_id"]) for i, c in contents.items() if c.get("photo_upload_id")
    }
    owned = await media_repo.owned(session, org_id, list(uploads.values()))
    for i, upload_id in uploads.items():
        if upload_id not in owned:
            rows[i].errors = [_unknown_upload()]
            del contents[i]
    return [contents[i] for i in sorted(contents)]


def _brief_problems(
    fields: dict[str, Any], *, ignore_missing: bool = False
) -> list[dict[str, str]]:
    try:
        BriefIn.model_validate(fields)
    except ValidationError as exc:
        found = problems(exc)
        if ignore_missing:
            found = [p for p in found if p["type"] != "missing"]
        return found
    return []


def _unknown_upload() -> dict[str, str]:
    return {
        "field": "photo_upload_id",
        "problem": "not one of this organization's photo uploads",
        "type": "unknown_upload",
    }


async def _check_template_refs(
    session: AsyncSession, org_id: uuid.UUID, template: BriefTemplateIn
) -> None:
    """The brand voice and photo the template names must be the organization's."""
    voice_id, upload_id = template.brand_voice_id, template.photo_upload_id
    if voice_id is not None and await voices.get(session, org_id, voice_id) is None:
        raise ApiError(
            422, "unknown_brand_voice",
            "The template names a brand voice this organization does not have.",
            {"brand_voice_id": str(voice_id)},
        )  # fmt: skip
    if upload_id is not None and not await media_repo.owned(session, org_id, [upload_id]):
        raise ApiError(
            422, "unknown_upload",
            "The template names a photo upload this organization does not have.",
            {"photo_upload_id": str(upload_id)},
        )  # fmt: skip


def _check_template_alone(
    sched: schedule.Schedule, template: dict[str, Any], *, has_items: bool
) -> None:
    """A recurrence without items posts the template as it is: it must be a whole brief. (A
    slot queue posts only items.)"""
    if has_items or isinstance(sched, schedule.SlotQueue):
        return
    if errors := _brief_problems(template):
        raise ApiError(
            422, "incomplete_template",
            "Without items, the template alone must be a whole brief (topic, key_points…).",
            {"errors": errors},
        )  # fmt: skip


async def _check_stored_items(
    session: AsyncSession, campaign_id: uuid.UUID, template: dict[str, Any]
) -> None:
    """A new template must still make a whole brief with every stored item."""
    bad = []
    for position, content in await repo.item_contents(session, campaign_id):
        if errors := _brief_problems(brief_fields(template, content, {})):
            bad.append({"position": position, "errors": errors})
    if bad:
        raise ApiError(
            422, "template_breaks_items",
            f"With this template, {len(bad)} stored item(s) would not be a whole brief.",
            {"items": bad},
        )  # fmt: skip


async def _check_overrides(
    session: AsyncSession,
    org_id: uuid.UUID,
    sched: schedule.Schedule,
    spec: RecurrenceIn | SlotsIn,
    template: dict[str, Any],
) -> None:
    """Each override must fall on an occurrence and fit over the template (what the item
    supplies may be missing here), and name only the organization's photos."""
    if not isinstance(spec, RecurrenceIn) or not isinstance(sched, schedule.Recurrence):
        return
    bad = await expand(_override_problems, sched, spec, template)
    named = {at: o.photo_upload_id for at, o in spec.overrides.items() if o.photo_upload_id}
    owned = await media_repo.owned(session, org_id, list(named.values()))
    for at, upload_id in named.items():
        if upload_id not in owned:
            bad.setdefault(at, []).append(_unknown_upload())
    if bad:
        rows = [{"at": at.isoformat(), "errors": errors} for at, errors in sorted(bad.items())]
        raise ApiError(
            422, "invalid_overrides", "Some overrides are not valid.", {"overrides": rows}
        )


def _override_problems(
    sched: schedule.Recurrence, spec: RecurrenceIn, template: dict[str, Any]
) -> dict[datetime, list[dict[str, str]]]:
    bad = {}
    for local, override in spec.overrides.items():
        fields = override.model_dump(mode="json", exclude_unset=True, exclude={"skip"})
        errors = _brief_problems({**template, **fields}, ignore_missing=True)
        instant = schedule.to_utc(local, sched.zone)
        if sched.occurrences(instant - timedelta(seconds=1), instant) != [instant]:
            errors.append(
                {
                    "field": "",
                    "problem": "not an occurrence of the schedule",
                    "type": "no_occurrence",
                }
            )
        if errors:
            bad[local] = errors
    return bad


# ---- reads -------------------------------------------------------------------------------


async def view(session: AsyncSession, campaign: Campaign, now: datetime) -> CampaignOut:
    zone = ZoneInfo(campaign.timezone)
    upcoming: list[ScheduledOccurrence] = []
    try:
        sched = schedule.parse(
            campaign.schedule, campaign.timezone, campaign.schedule_anchor, campaign.ends_at
        )
    except schedule.ScheduleError:  # a parked campaign (status failed) says why instead
        sched = None
    if isinstance(sched, schedule.SlotQueue):
        for at, position in await repo.upcoming_slots(session, campaign.id, now, UPCOMING):
            upcoming.append(ScheduledOccurrence(at=at.astimezone(zone), item_position=position))
    elif sched is not None:
        # Those already turned into rows (up to the horizon ahead), then the schedule from
        # the cursor on, where the campaign's anchor makes expanding it cheap.
        for at, reason in await repo.occurrences_after(session, campaign.id, now, UPCOMING):
            upcoming.append(ScheduledOccurrence(at=at.astimezone(zone), skipped_reason=reason))
        after = max(now, campaign.materialized_through)
        for local, at in await expand(sched.upcoming, after, UPCOMING - len(upcoming)):
            upcoming.append(
                ScheduledOccurrence(at=at.astimezone(zone), skipped_reason=sched.skip_reason(local))
            )
    items, unused = await repo.item_totals(session, campaign.id)
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=CampaignStatus(campaign.status),
        status_reason=campaign.status_reason,
        timezone=campaign.timezone,
        schedule=campaign.schedule,
        template=campaign.brief_template,
        # As stored, not checked again: an answer must not fail on a row's history.
        content=ContentIn.model_construct(
            mode=ContentMode(campaign.content_mode),
            cooldown_days=campaign.cooldown_days,
            max_uses=campaign.max_uses,
        ),
        lateness_minutes=campaign.lateness_s // 60,
        materialized_through=campaign.materialized_through.astimezone(zone),
        next_due_at=_local(campaign.next_due_at, zone),
        paused_until=_local(campaign.paused_until, zone),
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        next_occurrences=upcoming,
        past_occurrences=[
            PastOccurrenceOut(
                occurs_at=o.occurs_at.astimezone(zone),
                status=o.status,
                reason=o.reason,
                run_id=o.run_id,
                run_status=o.run_status,
            )
            for o in await repo.past_occurrences(session, campaign.id, PAST)
        ],
        totals=CampaignTotals(
            occurrences=await repo.occurrence_totals(session, campaign.id),
            metrics=await repo.metric_totals(session, campaign.id),
            items=items,
            unused_items=unused,
        ),
    )


async def list_for(
    session: AsyncSession, org_id: uuid.UUID, limit: int, offset: int
) -> list[CampaignSummary]:
    return [summary(c) for c in await repo.list_for(session, org_id, limit, offset)]


async def delete(session: AsyncSession, org_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
    """Its items and occurrences go with it; runs it already created stay (unlinked)."""
    await repo.delete(session, await load(session, org_id, campaign_id, lock=True))


def summary(campaign: Campaign) -> CampaignSummary:
    return CampaignSummary(
        id=campaign.id,
        name=campaign.name,
        status=CampaignStatus(campaign.status),
        timezone=campaign.timezone,
        kind=campaign.schedule.get("kind"),  # none on a row from before schedules
        next_due_at=_local(campaign.next_due_at, ZoneInfo(campaign.timezone)),
    )


def _local(instant: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if instant is None else instant.astimezone(zone)
