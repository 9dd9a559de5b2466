"""Organizations (tenants) and the brand voices they own."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from briefcast.models.base import Base, Timestamped, UUIDPk, utcnow


class Organization(UUIDPk, Timestamped, Base):
    __tablename__ = "organizations"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # What model calls may cost per calendar month (UTC); None means no limit.
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))


class BrandVoice(UUIDPk, Timestamped, Base):
    __tablename__ = "brand_voices"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    tone: Mapped[str] = mapped_column(String(500))
    audience: Mapped[str] = mapped_column(String(500), default="")
    use_words: Mapped[list[str]] = mapped_column(JSONB, default=list)
    avoid_words: Mapped[list[str]] = mapped_column(JSONB, default=list)
    competitors: Mapped[list[str]] = mapped_column(JSONB, default=list)
    emoji_policy: Mapped[str] = mapped_column(String(16), default="sparing")
    hashtag_sets: Mapped[list[str]] = mapped_column(JSONB, default=list)
    language: Mapped[str] = mapped_column(String(16), default="en")
    example_posts: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # The gate: copy whose combined sentiment is below this is regenerated.
    sentiment_min: Mapped[float] = mapped_column(default=-0.05)
    # The brand kit images are made with.
    primary_color: Mapped[str] = mapped_column(String(7), default="#1F4E79")
    secondary_color: Mapped[str | None] = mapped_column(String(7))
    font: Mapped[str] = mapped_column(String(32), default="dejavu-sans")
    grade: Mapped[str | None] = mapped_column(String(16))  # a colour-grading look for photos
    logo_key: Mapped[str | None] = mapped_column(String(200))  # media key of the uploaded logo
    # Bumped on every change: part of the copy cache key, so edits invalidate cached copy.
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), default=utcnow, onupdate=utcnow
    )
