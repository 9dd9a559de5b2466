"""The materializer: turn a campaign's occurrences due within a short horizon into runs.

Safe by construction, so beat may run it twice, a task may be redelivered and a worker may
die mid-tick:

- campaigns are locked with SKIP LOCKED, and a whole batch commits or rolls back together;
- every occurrence is inserted under the unique key (campaign, occurs_at) first, and only an
  occurrence inserted now gets its run (in the same transaction);
- occurrence times come from the schedule (`schedule.py`); the campaign's cursor
  (`materialized_through`) only says how far rows already exist.

An occurrence later than the campaign's lateness window (downtime, a stopped beat) is
recorded as skipped with the reason, never fired; so are those that fell while the campaign
was paused, those on a skipped date, and those with no content left to post.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from briefcast.models.campaigns import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    ContentMode,
    OccurrenceStatus,
)
from briefcast.models.repositories import campaigns as repo
from briefcast.models.repositories import pipeline as runs_repo
from briefcast.models.repositories.campaigns import NewOccurrence
from briefcast.models.repositories.ingest import AcceptedRun, NewBrief
from briefcast.models.tenancy import BrandVoice
from briefcast.pipeline.campaigns import schedule
from briefcast.pipeline.campaigns.content import DEFAULT_BRAND_VOICE, DEFAULT_COLOR, brief_fields

# Occurrences this far ahead become runs now, so copy and image are ready when they are due.
DEFAULT_HORIZON = timedelta(minutes=5)
BATCH = 500


@dataclass
class TickReport:
    campaigns: int = 0
    created: int = 0
    skipped: int = 0
    runs: list[AcceptedRun] = field(default_factory=list)


@dataclass
class _Plan:
    occurrences: list[NewOccurrence] = field(default_factory=list)
    briefs: dict[uuid.UUID, NewBrief] = field(default_factory=dict)  # by run id
    used: dict[uuid.UUID, tuple[uuid.UUID, datetime]] = field(default_factory=dict)


def materialize(
    session: Session,
    now: datetime,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
    limit: int = BATCH,
    campaign_id: uuid.UUID | None = None,
) -> TickReport:
    """One batch of due campaigns, in the caller's transaction (commit it to take effect)."""
    through = now + horizon
    report = TickReport()
    plan = _Plan()
    for campaign in repo.lock_due_campaigns(session, through, limit, campaign_id):
        report.campaigns += 1
        _plan_campaign(session, campaign, now, through, plan)
    inserted = repo.add_occurrences(session, plan.occurrences)
    new_runs = []
    used = []
    for occurrence in plan.occurrences:
        if (occurrence.campaign_id, occurrence.occurs_at) not in inserted:
            continue  # its row was there already: someone else materialized it
        if occurrence.run_id is None:
            report.skipped += 1
            continue
        report.created += 1
        new_runs.append((plan.briefs[occurrence.run_id], occurrence.run_id))
        if occurrence.run_id in plan.used:
            used.append(plan.used[occurrence.run_id])
    report.runs = runs_repo.insert_runs(session, new_runs)
    repo.mark_items_used(session, used)
    return report


def _plan_campaign(
    session: Session, campaign: Campaign, now: datetime, through: datetime, plan: _Plan
) -> None:
    sched = schedule.parse(campaign.schedule, campaign.timezone, campaign.schedule_anchor)
    after = campaign.materialized_through
    if isinstance(sched, schedule.SlotQueue):
        for queued in repo.slot_items_between(session, campaign.id, after, through):
            assert queued.slot_at is not None
            _plan_occurrence(session, campaign, sched, queued.slot_at, now, queued, plan)
        campaign.next_due_at = repo.next_slot_after(session, campaign.id, through)
    else:
        times = sched.occurrences(after, through)
        fireable = [t for t in times if _skip_reason(campaign, sched, t, now) is None]
        chosen = _items_for(session, campaign, fireable)
        for t in times:
            _plan_occurrence(session, campaign, sched, t, now, chosen.get(t), plan)
        following = sched.next_occurrence(through)
        if following is None:
            campaign.next_due_at = None
            campaign.status = CampaignStatus.COMPLETED
        else:  # the next occurrence is where the next expansion may start
            campaign.schedule_anchor, campaign.next_due_at = following
    campaign.materialized_through = through
    if campaign.paused_until is not None and campaign.paused_until <= through:
        campaign.paused_until = None


_NO_ITEM = object()


def _items_for(
    session: Session, campaign: Campaign, times: list[datetime]
) -> dict[datetime, CampaignItem | object]:
    """Which item each fireable occurrence posts (`_NO_ITEM`: none left); empty when the
    campaign has no items at all (its template is the whole brief)."""
    if not times or not repo.has_items(session, campaign.id):
        return {}
    items = repo.next_items(session, campaign, times[0], len(times))
    if campaign.content_mode == ContentMode.ROTATE and not campaign.cooldown_days and items:
        # Round robin within one window too (several occurrences, fewer items).
        return {t: items[i % len(items)] for i, t in enumerate(times)}
    return {t: items[i] if i < len(items) else _NO_ITEM for i, t in enumerate(times)}


def _skip_reason(
    campaign: Campaign, sched: schedule.Schedule, at: datetime, now: datetime
) -> str | None:
    if campaign.paused_until is not None and at <= campaign.paused_until:
        return "the campaign was paused"
    late_by = now - at
    if late_by > timedelta(seconds=campaign.lateness_s):
        return (
            f"missed: due {late_by.total_seconds() / 60:.0f} min before the materializer "
            f"reached it, later than the campaign's lateness window "
            f"({campaign.lateness_s / 60:.0f} min)"
        )
    if isinstance(sched, schedule.Recurrence):
        return sched.skip_reason(at)
    return None


def _plan_occurrence(
    session: Session,
    campaign: Campaign,
    sched: schedule.Schedule,
    at: datetime,
    now: datetime,
    item: CampaignItem | object | None,
    plan: _Plan,
) -> None:
    reason = _skip_reason(campaign, sched, at, now)
    if reason is None and item is _NO_ITEM:
        reason = (
            "every item is used up or in its cool-down"
            if campaign.content_mode == ContentMode.ROTATE
            else "no item left to post: add items to the campaign"
        )
    if reason is not None:
        plan.occurrences.append(
            NewOccurrence(campaign.id, at, OccurrenceStatus.SKIPPED, reason=reason)
        )
        return
    chosen = item if isinstance(item, CampaignItem) else None
    override = sched.override(at) if isinstance(sched, schedule.Recurrence) else {}
    fields = brief_fields(campaign.brief_template, chosen.content if chosen else {}, override)
    run_id = uuid.uuid4()
    plan.briefs[run_id] = _new_brief(session, campaign, fields, at)
    if chosen is not None:
        plan.used[run_id] = (chosen.id, at)
    plan.occurrences.append(
        NewOccurrence(
            campaign.id,
            at,
            OccurrenceStatus.CREATED,
            run_id=run_id,
            item_id=chosen.id if chosen else None,
        )
    )


def _new_brief(
    session: Session, campaign: Campaign, fields: dict[str, Any], at: datetime
) -> NewBrief:
    voice_id = uuid.UUID(fields["brand_voice_id"]) if fields.get("brand_voice_id") else None
    voice = session.get(BrandVoice, voice_id) if voice_id else None
    color = fields.get("brand_color") or (voice and voice.primary_color) or DEFAULT_COLOR
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return NewBrief(
        id=uuid.uuid4(),
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        brand_voice_id=voice_id,
        variants=fields.get("variants", 1),
        template=fields.get("template", "headline"),
        quote=fields.get("quote"),
        attribution=fields.get("attribution"),
        photo_upload_id=uuid.UUID(fields["photo_upload_id"])
        if fields.get("photo_upload_id")
        else None,
        photo_url=fields.get("photo_url"),
        topic=fields["topic"],
        key_points=list(fields["key_points"]),
        brand_voice=(voice.tone if voice and "brand_voice" not in fields else None)
        or fields.get("brand_voice")
        or DEFAULT_BRAND_VOICE,
        audience=fields.get("audience") or (voice.audience if voice else ""),
        brand_color=str(color).upper(),
        platforms=list(fields["platforms"]),
        publish_at=at,
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )
