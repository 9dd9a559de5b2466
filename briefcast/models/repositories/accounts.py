"""Platform accounts: sync reads for workers, async writes for the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from briefcast.models.accounts import AccountStatus, PlatformAccount
from briefcast.models.posts import Post, PostStatus
from briefcast.models.runs import Run, RunStatus


def get(session: Session, org_id: uuid.UUID, platform: str) -> PlatformAccount | None:
    return session.scalars(
        select(PlatformAccount).where(
            PlatformAccount.organization_id == org_id, PlatformAccount.platform == platform
        )
    ).first()


def expiring(session: Session, platform: str, before: datetime) -> list[PlatformAccount]:
    return list(
        session.scalars(
            select(PlatformAccount).where(
                PlatformAccount.platform == platform,
                PlatformAccount.status == AccountStatus.CONNECTED,
                PlatformAccount.token_expires_at.is_not(None),
                PlatformAccount.token_expires_at < before,
            )
        )
    )


def store_token(
    session: Session, account_id: uuid.UUID, ciphertext: str, expires_at: datetime
) -> None:
    session.execute(
        update(PlatformAccount)
        .where(PlatformAccount.id == account_id)
        .values(token_ciphertext=ciphertext, token_expires_at=expires_at)
    )


def mark_needs_reconnect_by_id(session: Session, account_id: uuid.UUID, reason: str) -> None:
    session.execute(
        update(PlatformAccount)
        .where(PlatformAccount.id == account_id)
        .values(status=AccountStatus.NEEDS_RECONNECT, status_reason=reason)
    )


def mark_needs_reconnect(session: Session, org_id: uuid.UUID, platform: str, reason: str) -> None:
    session.execute(
        update(PlatformAccount)
        .where(PlatformAccount.organization_id == org_id, PlatformAccount.platform == platform)
        .values(status=AccountStatus.NEEDS_RECONNECT, status_reason=reason)
    )


async def list_for(session: AsyncSession, org_id: uuid.UUID) -> list[PlatformAccount]:
    rows = await session.scalars(
        select(PlatformAccount)
        .where(PlatformAccount.organization_id == org_id)
        .order_by(PlatformAccount.platform)
    )
    return list(rows)


async def connect(
    session: AsyncSession,
    org_id: uuid.UUID,
    platform: str,
    account_ref: str,
    token_ciphertext: str,
    expires_at: datetime | None,
) -> PlatformAccount:
    """Store (or replace) the account, then release posts that waited for a reconnect."""
    values = {
        "account_ref": account_ref,
        "token_ciphertext": token_ciphertext,
        "token_expires_at": expires_at,
        "status": AccountStatus.CONNECTED,
        "status_reason": None,
        "updated_at": datetime.now(UTC),
    }
    await session.execute(
        insert(PlatformAccount)
        .values(id=uuid.uuid4(), organization_id=org_id, platform=platform, **values)
        .on_conflict_do_update(index_elements=["organization_id", "platform"], set_=values)
    )
    org_runs = select(Run.id).where(Run.organization_id == org_id)
    await session.execute(
        update(Post)
        .where(
            Post.status == PostStatus.NEEDS_RECONNECT,
            Post.platform == platform,
            Post.run_id.in_(org_runs),
        )
        .values(status=PostStatus.SCHEDULED, scheduled_at=datetime.now(UTC),
                status_reason="the account was reconnected")
    )  # fmt: skip
    await session.execute(
        update(Run)
        .where(Run.organization_id == org_id, Run.status == RunStatus.NEEDS_RECONNECT)
        .values(status=RunStatus.PUBLISHING, status_reason=None)
    )
    account = (
        await session.scalars(
            select(PlatformAccount).where(
                PlatformAccount.organization_id == org_id, PlatformAccount.platform == platform
            )
        )
    ).one()
    return account
