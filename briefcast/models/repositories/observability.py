"""What the metrics endpoint counts in PostgreSQL at scrape time."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from briefcast.models.posts import Post
from briefcast.models.runs import Run


async def runs_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Run.status, func.count()).group_by(Run.status))
    return {status: count for status, count in rows}


async def posts_by_platform_and_status(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(Post.platform, Post.status, func.count()).group_by(Post.platform, Post.status)
    )
    return {(platform, status): count for platform, status, count in rows}
