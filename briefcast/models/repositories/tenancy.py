"""Organizations: the CLI's bootstrap (sync); for the API, whether one exists and its budget
(async)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.tenancy import Organization


def ensure_organization(session: Session, slug: str, name: str | None = None) -> uuid.UUID:
    session.execute(
        insert(Organization)
        .values(id=uuid.uuid4(), slug=slug, name=name or slug)
        .on_conflict_do_nothing(index_elements=["slug"])
    )
    return session.scalars(select(Organization.id).where(Organization.slug == slug)).one()


async def exists(conn: AsyncConnection, org_id: uuid.UUID) -> bool:
    found = await conn.scalar(select(Organization.id).where(Organization.id == org_id))
    return found is not None


async def set_monthly_budget(
    session: AsyncSession, org_id: uuid.UUID, budget: Decimal | None
) -> bool:
    """False when the organization does not exist."""
    found = await session.scalar(
        update(Organization)
        .where(Organization.id == org_id)
        .values(monthly_budget_usd=budget)
        .returning(Organization.id)
    )
    return found is not None
