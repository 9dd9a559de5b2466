"""Campaigns: a brief template fired on a schedule in an IANA time zone.

A campaign's schedule (`schedule`, see `pipeline/campaigns/schedule.py`) is either an RFC 5545
recurrence or a queue of weekly posting slots. Its items are the content that varies per
occurrence. Each occurrence the materializer reaches gets one `CampaignOccurrence` row under
the unique key (campaign, occurs_at): a run, or the reason it was skipped.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from briefcast.models.base import Base, Timestamped, UUIDPk


class CampaignStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"  # the schedule has no occurrence left
    FAILED = "failed"  # the materializer could not expand it; `status_reason` says why


class ContentMode(enum.StrEnum):
    IN_ORDER = "in_order"  # each item once, in position order
    ROTATE = "rotate"  # round robin for ever; with a cool-down and a cap: evergreen


class OccurrenceStatus(enum.StrEnum):
    CREATED = "created"  # a run was created for it
    SKIPPED = "skipped"  # recorded with the reason, never fired


class Campaign(UUIDPk, Timestamped, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        # The materializer's query: active campaigns whose next occurrence is near.
        Index("ix_campaigns_due", "next_due_at", postgresql_where=text("status = 'active'")),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Every brief field but the ones the items vary (validated by the API's BriefIn).
    brief_template: Mapped[dict[str, Any]] = mapped_column(JSONB)
    content_mode: Mapped[str] = mapped_column(String(16), default=ContentMode.IN_ORDER)
    cooldown_days: Mapped[int] = mapped_column(default=0)
    max_uses: Mapped[int | None]
    lateness_s: Mapped[int] = mapped_column(default=3600)
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Every occurrence at or before this instant has its row: the materializer's cursor,
    # a bookmark into the schedule (occurrence times still come from the schedule alone).
    materialized_through: Mapped[datetime]
    # A recent occurrence of the rule in local time, where expanding it may start (cleared
    # when the schedule or zone changes; see pipeline/campaigns/schedule.py).
    schedule_anchor: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    # A counted rule's last occurrence, worked out once (a count is counted from the start).
    ends_at: Mapped[datetime | None]
    # The first occurrence after the cursor (None: the schedule has ended).
    next_due_at: Mapped[datetime | None]
    # Set on resume: occurrences up to here fell while the campaign was paused and are
    # recorded as skipped, so a resume never fires a burst of missed ones.
    paused_until: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class CampaignItem(UUIDPk, Timestamped, Base):
    """One piece of content: brief fields (topic, key points, quote, photo) for an occurrence."""

    __tablename__ = "campaign_items"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    uses: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None]
    # A slot queue's item is given its slot when it joins the queue.
    slot_at: Mapped[datetime | None] = mapped_column(index=True)


class CampaignOccurrence(UUIDPk, Timestamped, Base):
    __tablename__ = "campaign_occurrences"
    # The exactly-once key: a second materializer, a redelivered tick or a restart inserts
    # nothing for an occurrence that already has its row.
    __table_args__ = (UniqueConstraint("campaign_id", "occurs_at"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    occurs_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # Checked at commit: the occurrence row is inserted first (its key decides whether the
    # run is created at all) and its run right after, in the same transaction.
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"),
        index=True,
    )
    item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("campaign_items.id", ondelete="SET NULL")
    )
