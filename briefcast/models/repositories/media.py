"""Uploaded photos: the API's writes and ownership checks (async), the render stage's reads
(sync). The bytes are in the media store; a row says whose they are."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.media import MediaUpload


async def add(
    session: AsyncSession,
    org_id: uuid.UUID,
    media_key: str,
    content_type: str,
    size: int,
    width: int,
    height: int,
) -> MediaUpload:
    upload = MediaUpload(
        organization_id=org_id,
        media_key=media_key,
        content_type=content_type,
        bytes=size,
        width=width,
        height=height,
    )
    session.add(upload)
    await session.flush()
    return upload


async def owner(conn: AsyncConnection, upload_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.scalar(
        select(MediaUpload.organization_id).where(MediaUpload.id == upload_id)
    )
    return found


async def owned(
    session: AsyncSession, org_id: uuid.UUID, upload_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these uploads belong to the organization."""
    if not upload_ids:
        return set()
    rows = await session.scalars(
        select(MediaUpload.id).where(
            MediaUpload.organization_id == org_id, MediaUpload.id.in_(set(upload_ids))
        )
    )
    return set(rows)


def get(session: Session, upload_id: uuid.UUID) -> MediaUpload | None:
    """For workers: the upload a stored brief names (checked when it was accepted)."""
    return session.get(MediaUpload, upload_id)
