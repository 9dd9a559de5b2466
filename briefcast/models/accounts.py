"""Connected platform accounts: where an organization's posts go, with its token encrypted."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from briefcast.models.base import Base, Timestamped, UUIDPk, utcnow


class AccountStatus(enum.StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"  # the platform refused the token


class PlatformAccount(UUIDPk, Timestamped, Base):
    __tablename__ = "platform_accounts"
    __table_args__ = (UniqueConstraint("organization_id", "platform"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    platform: Mapped[str] = mapped_column(String(32))
    # The Instagram user id, or the LinkedIn author URN, posts are made as.
    account_ref: Mapped[str] = mapped_column(String(200))
    # Fernet ciphertext of the access token; the plaintext is never stored or logged.
    token_ciphertext: Mapped[str] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(32), default=AccountStatus.CONNECTED)
    status_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), default=utcnow, onupdate=utcnow
    )
