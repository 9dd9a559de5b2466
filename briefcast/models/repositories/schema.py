"""The schema's own state: which Alembic revisions the database is at."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def applied_revisions(session: AsyncSession) -> frozenset[str]:
    """The revisions in Alembic's `alembic_version` table (none before the first upgrade)."""
    rows = await session.scalars(text("SELECT version_num FROM alembic_version"))
    return frozenset(rows)
