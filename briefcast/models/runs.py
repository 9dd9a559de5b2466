"""Briefs, the runs that turn them into posts, and each run's timeline of stage events."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from briefcast.models.base import Base, Timestamped, UUIDPk, utcnow


class Brief(UUIDPk, Timestamped, Base):
    __tablename__ = "briefs"
    # A client's retry with the same Idempotency-Key finds the first brief instead of a new one.
    __table_args__ = (UniqueConstraint("organization_id", "idempotency_key"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    brand_voice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("brand_voices.id", ondelete="SET NULL"), index=True
    )
    # How many copy variants per platform (A/B); the first is the one published.
    variants: Mapped[int] = mapped_column(default=1)
    # The image: which template, and for the photo template the supplied photo (an upload,
    # or a URL fetched at render time with the same limits as an upload).
    template: Mapped[str] = mapped_column(String(16), default="headline")
    quote: Mapped[str | None] = mapped_column(String(500))
    attribution: Mapped[str | None] = mapped_column(String(200))
    photo_upload_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("media_uploads.id", ondelete="SET NULL")
    )
    photo_url: Mapped[str | None] = mapped_column(String(2000))
    topic: Mapped[str] = mapped_column(String(200))
    key_points: Mapped[list[str]] = mapped_column(JSONB, default=list)
    brand_voice: Mapped[str] = mapped_column(String(500))
    audience: Mapped[str] = mapped_column(String(500))
    brand_color: Mapped[str] = mapped_column(String(7))
    platforms: Mapped[list[str]] = mapped_column(JSONB)
    publish_at: Mapped[datetime | None]
    # publish_at "best": the IANA zone the best weekday and hour are chosen in at the schedule
    # stage (pipeline/analytics/best_time.py); publish_at then is the earliest time or None.
    best_time_zone: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # sha256 of the canonical request, to refuse an Idempotency-Key reused for another body.
    request_hash: Mapped[str] = mapped_column(String(64))


class RunStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    GENERATING = "generating"
    CHECKING = "checking"
    RENDERING = "rendering"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    NEEDS_REVIEW = "needs_review"  # the gate stopped it; a person approves or rejects
    REJECTED = "rejected"  # a person rejected it at review
    BUDGET_EXHAUSTED = "budget_exhausted"  # the organization's monthly model budget is spent
    NEEDS_RECONNECT = "needs_reconnect"  # a platform refused the account's token
    FAILED = "failed"


TERMINAL_RUN_STATUSES = frozenset(
    {RunStatus.PUBLISHED, RunStatus.FAILED, RunStatus.REJECTED, RunStatus.BUDGET_EXHAUSTED}
)


class Run(UUIDPk, Timestamped, Base):
    __tablename__ = "runs"
    __table_args__ = (Index(None, "organization_id", "created_at"),)

    brief_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("briefs.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(32), default=RunStatus.ACCEPTED)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Who wrote the copy, through the fallback chain ("openai:gpt-4o-mini", "offline-…"),
    # and why a fallback was taken, so a user sees it.
    copy_source: Mapped[str | None] = mapped_column(String(100))
    copy_fallback_reason: Mapped[str | None] = mapped_column(Text)
    # The gate's reasons, fed into the next generation; and how many times it regenerated.
    copy_feedback: Mapped[list[str]] = mapped_column(JSONB, default=list)
    regenerations: Mapped[int] = mapped_column(default=0)
    # `X-Request-ID` of the request that submitted the run: every task of the run logs it.
    request_id: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), default=utcnow, onupdate=utcnow
    )


class StageOutcome(enum.StrEnum):
    RUNNING = "running"
    RETRYING = "retrying"  # failed transiently; the stage will run again
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HALTED = "halted"


class StageEvent(UUIDPk, Base):
    """One row per (run, stage, subject): the timeline entry a redelivered task updates."""

    __tablename__ = "stage_events"
    __table_args__ = (UniqueConstraint("run_id", "stage", "subject"),)

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(32))
    # "run" for run-wide stages, else the platform the stage worked on.
    subject: Mapped[str] = mapped_column(String(32), default="run")
    outcome: Mapped[str] = mapped_column(String(16), default=StageOutcome.RUNNING)
    attempts: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
