"""Brand voices for the API (async), always scoped to one organization."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.runs import Brief, Run
from briefcast.models.tenancy import BrandVoice


async def get(session: AsyncSession, org_id: uuid.UUID, voice_id: uuid.UUID) -> BrandVoice | None:
    return (
        await session.scalars(
            select(BrandVoice).where(
                BrandVoice.id == voice_id, BrandVoice.organization_id == org_id
            )
        )
    ).first()


async def list_for(session: AsyncSession, org_id: uuid.UUID) -> list[BrandVoice]:
    rows = await session.scalars(
        select(BrandVoice).where(BrandVoice.organization_id == org_id).order_by(BrandVoice.name)
    )
    return list(rows)


async def create(session: AsyncSession, org_id: uuid.UUID, values: dict[str, Any]) -> BrandVoice:
    voice = BrandVoice(organization_id=org_id, **values)
    session.add(voice)
    await session.flush()
    return voice


async def update(session: AsyncSession, voice: BrandVoice, values: dict[str, Any]) -> BrandVoice:
    for key, value in values.items():
        setattr(voice, key, value)
    voice.version += 1  # part of the copy cache key: cached copy for the old voice is unused
    await session.flush()
    return voice


async def of_run(session: AsyncSession, run_id: uuid.UUID) -> BrandVoice | None:
    """The brand voice the run's brief names, if any."""
    return (
        await session.scalars(
            select(BrandVoice)
            .join(Brief, Brief.brand_voice_id == BrandVoice.id)
            .join(Run, Run.brief_id == Brief.id)
            .where(Run.id == run_id)
        )
    ).first()


def get_by_id(session: Session, voice_id: uuid.UUID) -> BrandVoice | None:
    """For workers: the voice a stored brief or campaign names (checked when it was saved)."""
    return session.get(BrandVoice, voice_id)
