"""What one campaign owes in a tick: each occurrence in its window, as a run to create or as a
skip with the reason. Reads the campaign's items; changes only the campaign row's own
bookkeeping (cursor, anchor, end, next due, status) and the slot of a queued item that
missed its slot. The materializer (`materialize.py`) writes the plans.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from briefcast.models.campaigns import (
    Campaign,
    CampaignItem,
    CampaignStatus,
    ContentMode,
    OccurrenceStatus,
)
from briefcast.models.repositories import campaigns as repo
from briefcast.models.repositories import voices
from briefcast.models.repositories.briefs import NewBrief
from briefcast.models.repositories.campaigns import NewOccurrence
from briefcast.pipeline.campaigns import schedule
from briefcast.pipeline.campaigns.content import DEFAULT_BRAND_VOICE, DEFAULT_COLOR, brief_fields

# Beyond this many skipped rows of one kind per campaign and tick (a long outage of a dense
# rule), one more row stands for the rest, so a catch-up stays one modest transaction.
MAX_SKIP_ROWS = 50
PAUSED = "the campaign was paused"


@dataclass
class CampaignPlan:
    campaign: Campaign
    occurrences: list[NewOccurrence] = field(default_factory=list)
    briefs: dict[uuid.UUID, NewBrief] = field(default_factory=dict)  # by run id
    used: dict[uuid.UUID, tuple[uuid.UUID, datetime]] = field(default_factory=dict)
    # Skips that follow from when the tick ran (late, paused), by kind, before the cap.
    _timing_skips: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)

    def skip(self, at: datetime, reason: str, kind: str | None = None) -> None:
        if kind is None:
            self.occurrences.append(
                NewOccurrence(self.campaign.id, at, OccurrenceStatus.SKIPPED, reason=reason)
            )
        else:
            self._timing_skips.setdefault(kind, []).append((at, reason))

    def create(self, at: datetime, brief: NewBrief, item: CampaignItem | None) -> None:
        run_id = uuid.uuid4()
        self.briefs[run_id] = brief
        if item is not None:
            self.used[run_id] = (item.id, at)
        self.occurrences.append(
            NewOccurrence(
                self.campaign.id, at, OccurrenceStatus.CREATED,
                run_id=run_id, item_id=item.id if item else None,
            )
        )  # fmt: skip

    def close(self) -> None:
        """Turn the timing skips into rows, at most MAX_SKIP_ROWS of a kind."""
        for skips in self._timing_skips.values():
            for at, reason in skips[:MAX_SKIP_ROWS]:
                self.skip(at, reason)
            rest = skips[MAX_SKIP_ROWS:]
            if rest:
                first, last = rest[0][0], rest[-1][0]
                self.skip(
                    first,
                    f"{rest[0][1]} (this row stands for {len(rest)} occurrences, "
                    f"{first.isoformat()} to {last.isoformat()})",
                )
        self._timing_skips.clear()
        self.occurrences.sort(key=lambda o: o.occurs_at)


def plan_campaign(
    session: Session, campaign: Campaign, now: datetime, through: datetime
) -> CampaignPlan:
    plan = CampaignPlan(campaign)
    sched = schedule.parse(
        campaign.schedule, campaign.timezone, campaign.schedule_anchor, campaign.ends_at
    )
    if isinstance(sched, schedule.SlotQueue):
        _plan_queue(session, campaign, sched, now, through, plan)
    else:
        if sched.count is not None and sched.ends_at is None:
            # Once: a count is counted from the start; its last occurrence is not.
            campaign.ends_at = sched.last_occurrence()
            sched = dataclasses.replace(sched, ends_at=campaign.ends_at)
        _plan_recurrence(session, campaign, sched, now, through, plan)
    plan.close()
    campaign.materialized_through = through
    if campaign.paused_until is not None and campaign.paused_until <= through:
        campaign.paused_until = None
    return plan


def _timing_skip(campaign: Campaign, at: datetime, now: datetime) -> tuple[str, str] | None:
    """(kind, reason) when the occurrence must not fire because of when it is reached."""
    if campaign.paused_until is not None and at <= campaign.paused_until:
        return "paused", PAUSED
    late_by = now - at
    if late_by > timedelta(seconds=campaign.lateness_s):
        return "late", (
            f"missed: due {late_by.total_seconds() / 60:.0f} min before the materializer "
            f"reached it, later than the campaign's lateness window "
            f"({campaign.lateness_s / 60:.0f} min)"
        )
    return None


def _plan_recurrence(
    session: Session,
    campaign: Campaign,
    sched: schedule.Recurrence,
    now: datetime,
    through: datetime,
    plan: CampaignPlan,
) -> None:
    decisions = []
    for local, at in sched.expand(campaign.materialized_through, through):
        timing = _timing_skip(campaign, at, now)
        reason = timing[1] if timing else sched.skip_reason(local)
        decisions.append((local, at, timing[0] if timing else None, reason))
    fireable = [at for _, at, _, reason in decisions if reason is None]
    chosen = _items_for(session, campaign, fireable)
    for local, at, kind, reason in decisions:
        item = chosen.get(at)
        if reason is None and item is _NO_ITEM:
            reason = (
                "every item is used up or in its cool-down"
                if campaign.content_mode == ContentMode.ROTATE
                else "no item left to post: add items to the campaign"
            )
        if reason is not None:
            plan.skip(at, reason, kind)
            continue
        posted = item if isinstance(item, CampaignItem) else None
        fields = brief_fields(
            campaign.brief_template, posted.content if posted else {}, sched.override(local)
        )
        plan.create(at, _new_brief(session, campaign, fields, at), posted)
    following = sched.next_occurrence(through)
    if following is None:
        campaign.next_due_at = None
        campaign.status = CampaignStatus.COMPLETED
    else:  # the next occurrence is where the next expansion may start
        campaign.schedule_anchor, campaign.next_due_at = following


def _plan_queue(
    session: Session,
    campaign: Campaign,
    sched: schedule.SlotQueue,
    now: datetime,
    through: datetime,
    plan: CampaignPlan,
) -> None:
    missed: list[tuple[CampaignItem, str]] = []
    for item in repo.slot_items_between(
        session, campaign.id, campaign.materialized_through, through
    ):
        assert item.slot_at is not None
        timing = _timing_skip(campaign, item.slot_at, now)
        if timing is not None:
            missed.append((item, timing[1]))
            continue
        fields = brief_fields(campaign.brief_template, item.content, {})
        plan.create(item.slot_at, _new_brief(session, campaign, fields, item.slot_at), item)
    if missed:
        # Queued content is the user's post, not a repeating slot: a slot missed while
        # paused or down is recorded, and its item goes to the end of the queue.
        end = max(through, repo.queue_end(session, campaign.id) or through)
        zone = ZoneInfo(campaign.timezone)
        for (item, reason), slot in zip(missed, sched.next_free(end, len(missed)), strict=True):
            assert item.slot_at is not None
            moved = f"{reason}; its item moved to {slot.astimezone(zone).isoformat()}"
            plan.skip(item.slot_at, moved)
            item.slot_at = slot
        session.flush()
    campaign.next_due_at = repo.next_slot_after(session, campaign.id, through)


_NO_ITEM = object()


def _items_for(
    session: Session, campaign: Campaign, times: list[datetime]
) -> dict[datetime, CampaignItem | object]:
    """Which item each fireable occurrence posts (`_NO_ITEM`: none left); empty when the
    campaign has no items at all (its template is the whole brief)."""
    if not times or not repo.has_items(session, campaign.id):
        return {}
    items = repo.next_items(session, campaign, times[0], len(times))
    endless = campaign.content_mode == ContentMode.ROTATE and campaign.max_uses is None
    if endless and not campaign.cooldown_days and items:
        # Round robin within one window too (several occurrences, fewer items).
        return {t: items[i % len(items)] for i, t in enumerate(times)}
    return {t: items[i] if i < len(items) else _NO_ITEM for i, t in enumerate(times)}


def _new_brief(
    session: Session, campaign: Campaign, fields: dict[str, Any], at: datetime
) -> NewBrief:
    voice_id = uuid.UUID(fields["brand_voice_id"]) if fields.get("brand_voice_id") else None
    voice = voices.get_by_id(session, voice_id) if voice_id else None
    color = fields.get("brand_color") or (voice and voice.primary_color) or DEFAULT_COLOR
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    upload = fields.get("photo_upload_id")
    return NewBrief(
        id=uuid.uuid4(),
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        brand_voice_id=voice_id,
        variants=fields.get("variants", 1),
        template=fields.get("template", "headline"),
        quote=fields.get("quote"),
        attribution=fields.get("attribution"),
        photo_upload_id=uuid.UUID(upload) if upload else None,
        photo_url=fields.get("photo_url"),
        topic=fields["topic"],
        key_points=list(fields["key_points"]),
        # The brief's own words win; the brand voice fills in what it left out.
        brand_voice=(voice.tone if voice and "brand_voice" not in fields else None)
        or fields.get("brand_voice")
        or DEFAULT_BRAND_VOICE,
        audience=fields.get("audience") or (voice.audience if voice else ""),
        brand_color=str(color).upper(),
        platforms=list(fields["platforms"]),
        publish_at=at,
        # A template's publish_at "best": the best time after the occurrence, in its zone.
        best_time_zone=campaign.timezone if fields.get("publish_at") == "best" else None,
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )
