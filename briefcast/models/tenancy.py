"""Organizations (tenants) and the brand voices they own."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from briefcast.models.base import Base, Timestamped, UUIDPk


class Organization(UUIDPk, Timestamped, Base):
    __tablename__ = "organizations"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class BrandVoice(UUIDPk, Timestamped, Base):
    __tablename__ = "brand_voices"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    tone: Mapped[str] = mapped_column(String(500))
    audience: Mapped[str] = mapped_column(String(500), default="")
    avoid_words: Mapped[list[str]] = mapped_column(JSONB, default=list)
    primary_color: Mapped[str] = mapped_column(String(7), default="#1F4E79")
