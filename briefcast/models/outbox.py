"""Outbox rows: work committed with the data it belongs to, sent to Celery after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from briefcast.models.base import Base, Timestamped


class OutboxMessage(Timestamped, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unsent",
            "created_at",
            postgresql_where=text("sent_at IS NULL AND error IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    sent_at: Mapped[datetime | None]
    send_attempts: Mapped[int] = mapped_column(default=0)
    # A row that can never be sent (unknown topic) is parked with the reason, not retried.
    error: Mapped[str | None] = mapped_column(Text)
