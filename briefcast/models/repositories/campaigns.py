"""Campaigns, their items and occurrences: the API's reads and writes (async) and the
materializer's (sync, in workers)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Numeric, cast, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.campaigns import (
    Campaign,
    CampaignItem,
    CampaignOccurrence,
    CampaignStatus,
    ContentMode,
    OccurrenceStatus,
)
from briefcast.models.posts import MetricSnapshot, Post
from briefcast.models.runs import Brief, Run

# ---- the materializer (sync) ----------------------------------------------------------------


def lock_due_campaigns(
    session: Session, through: datetime, limit: int, campaign_id: uuid.UUID | None = None
) -> list[Campaign]:
    """Active campaigns with an occurrence at or before `through`, locked; a campaign another
    materializer holds is skipped (it is being done), never waited for."""
    stmt = (
        select(Campaign)
        .where(Campaign.status == CampaignStatus.ACTIVE, Campaign.next_due_at <= through)
        .order_by(Campaign.next_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if campaign_id is not None:
        stmt = stmt.where(Campaign.id == campaign_id)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class NewOccurrence:
    campaign_id: uuid.UUID
    occurs_at: datetime
    status: OccurrenceStatus
    reason: str | None = None
    run_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None


def add_occurrences(
    session: Session, occurrences: Sequence[NewOccurrence]
) -> set[tuple[uuid.UUID, datetime]]:
    """Insert occurrence rows, each at most once ever; returns the keys inserted now (an
    occurrence that already has its row, from any materializer, is left alone). Sent as
    one executemany, which SQLAlchemy pages into multi-row statements of a safe size."""
    if not occurrences:
        return set()
    stmt = (
        insert(CampaignOccurrence)
        .on_conflict_do_nothing(index_elements=["campaign_id", "occurs_at"])
        .returning(CampaignOccurrence.campaign_id, CampaignOccurrence.occurs_at)
    )
    rows = [
        {"id": uuid.uuid4(), "campaign_id": o.campaign_id, "occurs_at": o.occurs_at,
         "status": o.status.value, "reason": o.reason, "run_id": o.run_id, "item_id": o.item_id}
        for o in occurrences
    ]  # fmt: skip
    return {(row[0], row[1]) for row in session.execute(stmt, rows)}


def next_items(
    session: Session, campaign: Campaign, occurs_at: datetime, count: int
) -> list[CampaignItem]:
    """The items the next `count` occurrences take: in order, each once; or round robin
    (fewest uses first), within the campaign's cool-down and cap for evergreen content."""
    stmt = select(CampaignItem).where(CampaignItem.campaign_id == campaign.id)
    if campaign.content_mode == ContentMode.IN_ORDER:
        stmt = stmt.where(CampaignItem.uses == 0).order_by(CampaignItem.position)
    else:
        if campaign.max_uses is not None:
            stmt = stmt.where(CampaignItem.uses < campaign.max_uses)
        if campaign.cooldown_days:
            rested = occurs_at - timedelta(days=campaign.cooldown_days)
            stmt = stmt.where(
                or_(CampaignItem.last_used_at.is_(None), CampaignItem.last_used_at <= rested)
            )
        stmt = stmt.order_by(CampaignItem.uses, CampaignItem.position)
    return list(session.scalars(stmt.limit(count)))


def has_items(session: Session, campaign_id: uuid.UUID) -> bool:
    found = session.scalar(
        select(CampaignItem.id).where(CampaignItem.campaign_id == campaign_id).limit(1)
    )
    return found is not None


def slot_items_between(
    session: Session, campaign_id: uuid.UUID, after: datetime, through: datetime
) -> list[CampaignItem]:
    return list(
        session.scalars(
            select(CampaignItem)
            .where(
                CampaignItem.campaign_id == campaign_id,
                CampaignItem.slot_at > after,
                CampaignItem.slot_at <= through,
            )
            .order_by(CampaignItem.slot_at)
        )
    )


def next_slot_after(session: Session, campaign_id: uuid.UUID, after: datetime) -> datetime | None:
    found: datetime | None = session.scalar(
        select(func.min(CampaignItem.slot_at)).where(
            CampaignItem.campaign_id == campaign_id, CampaignItem.slot_at > after
        )
    )
    return found


def queue_end(session: Session, campaign_id: uuid.UUID) -> datetime | None:
    """The last slot a slot queue's items hold."""
    found: datetime | None = session.scalar(
        select(func.max(CampaignItem.slot_at)).where(CampaignItem.campaign_id == campaign_id)
    )
    return found


def mark_items_used(session: Session, used: Sequence[tuple[uuid.UUID, datetime]]) -> None:
    for item_id, at in used:
        session.execute(
            update(CampaignItem)
            .where(CampaignItem.id == item_id)
            .values(uses=CampaignItem.uses + 1, last_used_at=at)
        )


def recent_captions(
    session: Session, campaign_id: uuid.UUID, before_run: uuid.UUID, limit: int
) -> list[str]:
    """The captions of the campaign's latest runs (not this one), newest first."""
    rows = session.scalars(
        select(Post.caption)
        .join(Run, Run.id == Post.run_id)
        .join(Brief, Brief.id == Run.brief_id)
        .where(Brief.campaign_id == campaign_id, Run.id != before_run, Post.caption.is_not(None))
        .order_by(Post.created_at.desc())
        .limit(limit)
    )
    return [caption for caption in rows if caption]


def campaign_name_of_run(session: Session, run_id: uuid.UUID) -> str | None:
    name: str | None = session.scalar(
        select(Campaign.name)
        .join(Brief, Brief.campaign_id == Campaign.id)
        .join(Run, Run.brief_id == Brief.id)
        .where(Run.id == run_id)
    )
    return name


# ---- the API (async) ------------------------------------------------------------------------


async def get(
    session: AsyncSession, org_id: uuid.UUID, campaign_id: uuid.UUID, *, lock: bool = False
) -> Campaign | None:
    stmt = select(Campaign).where(Campaign.id == campaign_id, Campaign.organization_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def name_taken(
    session: AsyncSession, org_id: uuid.UUID, name: str, other_than: uuid.UUID | None = None
) -> bool:
    stmt = select(Campaign.id).where(Campaign.organization_id == org_id, Campaign.name == name)
    if other_than is not None:
        stmt = stmt.where(Campaign.id != other_than)
    return (await session.scalar(stmt)) is not None


async def list_for(
    session: AsyncSession, org_id: uuid.UUID, limit: int, offset: int
) -> list[Campaign]:
    stmt = (
        select(Campaign)
        .where(Campaign.organization_id == org_id)
        .order_by(Campaign.created_at, Campaign.id)
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(stmt))


async def add(session: AsyncSession, campaign: Campaign) -> None:
    """Inserted now (flushed), so a name taken in between or an organization gone surfaces
    here as an IntegrityError."""
    session.add(campaign)
    await session.flush()


async def rename(session: AsyncSession, campaign: Campaign, name: str) -> None:
    """Renamed now (flushed), so a name taken in between surfaces here as an IntegrityError."""
    campaign.name = name
    await session.flush()


async def delete(session: AsyncSession, campaign: Campaign) -> None:
    await session.delete(campaign)


async def append_items(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    contents: Sequence[dict[str, Any]],
    slots: Sequence[datetime | None],
) -> list[CampaignItem]:
    """Add items after the campaign's last position (the caller holds the campaign's lock)."""
    last = await session.scalar(
        select(func.max(CampaignItem.position)).where(CampaignItem.campaign_id == campaign_id)
    )
    start = 0 if last is None else last + 1
    items = [
        CampaignItem(
            id=uuid.uuid4(), campaign_id=campaign_id, position=start + i, content=content,
            uses=0, slot_at=slot,
        )
        for i, (content, slot) in enumerate(zip(contents, slots, strict=True))
    ]  # fmt: skip
    session.add_all(items)
    await session.flush()
    return items


async def last_slot(session: AsyncSession, campaign_id: uuid.UUID) -> datetime | None:
    found: datetime | None = await session.scalar(
        select(func.max(CampaignItem.slot_at)).where(CampaignItem.campaign_id == campaign_id)
    )
    return found


async def item_totals(session: AsyncSession, campaign_id: uuid.UUID) -> tuple[int, int]:
    """(items, items never used)."""
    row = (
        await session.execute(
            select(func.count(), func.count().filter(CampaignItem.uses == 0)).where(
                CampaignItem.campaign_id == campaign_id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class PastOccurrence:
    occurs_at: datetime
    status: str
    reason: str | None
    run_id: uuid.UUID | None
    run_status: str | None


async def past_occurrences(
    session: AsyncSession, campaign_id: uuid.UUID, limit: int
) -> list[PastOccurrence]:
    """The campaign's latest occurrence rows with their runs' status, newest first."""
    rows = await session.execute(
        select(
            CampaignOccurrence.occurs_at,
            CampaignOccurrence.status,
            CampaignOccurrence.reason,
            CampaignOccurrence.run_id,
            Run.status,
        )
        .outerjoin(Run, Run.id == CampaignOccurrence.run_id)
        .where(CampaignOccurrence.campaign_id == campaign_id)
        .order_by(CampaignOccurrence.occurs_at.desc())
        .limit(limit)
    )
    return [PastOccurrence(*row) for row in rows]


async def occurrence_totals(session: AsyncSession, campaign_id: uuid.UUID) -> dict[str, int]:
    """How many occurrences were created and skipped, and how their runs ended."""
    rows = await session.execute(
        select(CampaignOccurrence.status, Run.status, func.count())
        .outerjoin(Run, Run.id == CampaignOccurrence.run_id)
        .where(CampaignOccurrence.campaign_id == campaign_id)
        .group_by(CampaignOccurrence.status, Run.status)
    )
    totals: dict[str, int] = {}
    for occurrence_status, run_status, count in rows:
        key = run_status if occurrence_status == OccurrenceStatus.CREATED else occurrence_status
        totals[key or occurrence_status] = totals.get(key or occurrence_status, 0) + count
    return totals


async def first_slot_after(
    session: AsyncSession, campaign_id: uuid.UUID, after: datetime
) -> datetime | None:
    found: datetime | None = await session.scalar(
        select(func.min(CampaignItem.slot_at)).where(
            CampaignItem.campaign_id == campaign_id, CampaignItem.slot_at > after
        )
    )
    return found


async def upcoming_slots(
    session: AsyncSession, campaign_id: uuid.UUID, after: datetime, limit: int
) -> list[tuple[datetime, int]]:
    """(slot, item position) of a slot queue's next items after `after`, in slot order."""
    rows = await session.execute(
        select(CampaignItem.slot_at, CampaignItem.position)
        .where(CampaignItem.campaign_id == campaign_id, CampaignItem.slot_at > after)
        .order_by(CampaignItem.slot_at, CampaignItem.position)
        .limit(limit)
    )
    return [(slot, position) for slot, position in rows if slot is not None]


async def occurrences_after(
    session: AsyncSession, campaign_id: uuid.UUID, after: datetime, limit: int
) -> list[tuple[datetime, str | None]]:
    """(time, skip reason) of the occurrences already materialized after `after`."""
    rows = await session.execute(
        select(CampaignOccurrence.occurs_at, CampaignOccurrence.reason)
        .where(CampaignOccurrence.campaign_id == campaign_id, CampaignOccurrence.occurs_at > after)
        .order_by(CampaignOccurrence.occurs_at)
        .limit(limit)
    )
    return [(at, reason) for at, reason in rows]


async def item_contents(session: AsyncSession, campaign_id: uuid.UUID) -> list[tuple[int, Any]]:
    """(position, content) of every item, to check them against a new template."""
    rows = await session.execute(
        select(CampaignItem.position, CampaignItem.content)
        .where(CampaignItem.campaign_id == campaign_id)
        .order_by(CampaignItem.position)
    )
    return [(position, content) for position, content in rows]


async def unused_items_to_slot(
    session: AsyncSession, campaign_id: uuid.UUID, after: datetime
) -> list[CampaignItem]:
    """Items never used whose slot is after `after` or not assigned, in position order: the
    ones a changed slot queue gives new slots (the caller holds the campaign's lock)."""
    rows = await session.scalars(
        select(CampaignItem)
        .where(
            CampaignItem.campaign_id == campaign_id,
            CampaignItem.uses == 0,
            or_(CampaignItem.slot_at.is_(None), CampaignItem.slot_at > after),
        )
        .order_by(CampaignItem.position)
    )
    return list(rows)


async def metric_totals(session: AsyncSession, campaign_id: uuid.UUID) -> dict[str, int | float]:
    """Each metric summed over the campaign's posts, from every post's latest collected
    snapshot (a later read replaces an earlier one rather than adding to it)."""
    newest_first = func.row_number().over(
        partition_by=MetricSnapshot.post_id, order_by=MetricSnapshot.offset_s.desc()
    )
    readings = (
        select(MetricSnapshot.metrics, newest_first.label("rank"))
        .join(Post, Post.id == MetricSnapshot.post_id)
        .join(Run, Run.id == Post.run_id)
        .join(Brief, Brief.id == Run.brief_id)
        .where(
            Brief.campaign_id == campaign_id,
            MetricSnapshot.collected_at.is_not(None),
            MetricSnapshot.metrics != cast({}, JSONB),
        )
        .subquery()
    )
    latest = select(readings.c.metrics).where(readings.c.rank == 1).subquery()
    pairs = func.jsonb_each(latest.c.metrics).table_valued("key", "value").lateral()
    rows = await session.execute(
        select(pairs.c.key, func.sum(cast(pairs.c.value, Numeric)))
        .select_from(latest)
        .join(pairs, true())
        .where(func.jsonb_typeof(pairs.c.value) == "number")
        .group_by(pairs.c.key)
        .order_by(pairs.c.key)
    )
    return {key: int(total) if total == int(total) else float(total) for key, total in rows}
