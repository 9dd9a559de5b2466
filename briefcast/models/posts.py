"""Posts (one per platform per run) and the metric snapshots collected after publishing."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from briefcast.models.base import Base, Timestamped, UUIDPk, utcnow


class Platform(enum.StrEnum):
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"

    @property
    def label(self) -> str:
        return {"instagram": "Instagram", "linkedin": "LinkedIn"}[self.value]


class PostStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for copy, checks and an image
    SCHEDULED = "scheduled"  # has a due time; the dispatcher will claim it
    PUBLISHING = "publishing"  # claimed under a lease
    PUBLISHED = "published"
    # The platform may hold the post (timeout or dropped connection after sending): it is
    # reconciled against the platform, never blindly sent again.
    UNKNOWN = "unknown"
    # The platform refused the token (expired or revoked): a person must reconnect the account.
    NEEDS_RECONNECT = "needs_reconnect"
    FAILED = "failed"


# Every platform's stored metric names (briefcast/pipeline/analytics/measures.py's METRICS,
# checked by tests/unit/test_analytics_measures.py): each is a `latest_<name>` column below.
LATEST_VALUE_NAMES = (
    "clicks",
    "comments",
    "impressions",
    "likes",
    "reach",
    "saved",
    "shares",
    "unique_impressions",
    "views",
)


class Post(UUIDPk, Timestamped, Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("run_id", "platform"),
        # The dispatcher's claim query reads only due, unpublished posts.
        Index(
            "ix_posts_due",
            "scheduled_at",
            postgresql_where=text("status IN ('scheduled', 'publishing', 'unknown')"),
        ),
        # Analytics reads posts by publishing time (migration 0008).
        Index(
            "ix_posts_published", "published_at", postgresql_where=text("published_at IS NOT NULL")
        ),
        # One organization's published posts by time with what its analytics groupings read,
        # so a year of them is an index-only scan (migrations 0011, 0012, 0013).
        Index(
            "ix_posts_organization_published",
            "organization_id",
            "published_at",
            "id",
            postgresql_include=[
                "platform",
                "run_id",
                "latest_engagement_rate",
                "campaign_id",
                *(f"latest_{name}" for name in LATEST_VALUE_NAMES),
            ],
            postgresql_where=text("published_at IS NOT NULL"),
        ),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    # The run's organization, kept on the post so analytics reads one organization's posts
    # without joining their runs (migration 0011).
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    # The brief's campaign, kept on the post so the campaign grouping and filter read no runs
    # or briefs (migration 0012); SET NULL as the brief's own.
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL")
    )
    platform: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default=PostStatus.PENDING)
    status_reason: Mapped[str | None] = mapped_column(Text)

    caption: Mapped[str | None] = mapped_column(Text)
    hashtags: Mapped[list[str]] = mapped_column(JSONB, default=list)
    headline: Mapped[str | None] = mapped_column(String(300))
    alt_text: Mapped[str | None] = mapped_column(String(1000))
    copy_source: Mapped[str | None] = mapped_column(String(100))
    # Every variant written for A/B, the published one first: [{caption, hashtags, …}, …].
    copy_variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    sentiment: Mapped[float | None]

    image_path: Mapped[str | None] = mapped_column(String(500))

    scheduled_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    # Each claim gets a fresh id; a publish task acts only on the claim it was sent for, so a
    # stale or duplicate message after a re-claim changes nothing.
    claim_id: Mapped[uuid.UUID | None]
    # Set, and committed, before the first platform call of an attempt; cleared when the
    # attempt settles. A lapsed lease with this set means "may have posted": reconcile.
    attempt_started_at: Mapped[datetime | None]
    publish_attempts: Mapped[int] = mapped_column(default=0)
    # How many times an `unknown` outcome was checked against the platform (bounded).
    reconcile_attempts: Mapped[int] = mapped_column(default=0)
    # Everything a publisher learned that a resumed attempt needs (besides the ids below).
    publish_progress: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    container_id: Mapped[str | None] = mapped_column(String(200))
    platform_post_id: Mapped[str | None] = mapped_column(String(200))
    permalink: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None]
    # The latest collected reading (the highest offset without error), kept with the post so
    # analytics reads one row per post rather than searching its snapshots (migration 0010).
    latest_offset_s: Mapped[int | None]
    latest_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    latest_engagement_rate: Mapped[float | None]
    latest_read_at: Mapped[datetime | None]
    # `latest_metrics`' whole numbers, one column per stored name (LATEST_VALUE_NAMES), so
    # the groupings sum integers instead of reading JSON (migration 0013).
    latest_clicks: Mapped[int | None] = mapped_column(BigInteger)
    latest_comments: Mapped[int | None] = mapped_column(BigInteger)
    latest_impressions: Mapped[int | None] = mapped_column(BigInteger)
    latest_likes: Mapped[int | None] = mapped_column(BigInteger)
    latest_reach: Mapped[int | None] = mapped_column(BigInteger)
    latest_saved: Mapped[int | None] = mapped_column(BigInteger)
    latest_shares: Mapped[int | None] = mapped_column(BigInteger)
    latest_unique_impressions: Mapped[int | None] = mapped_column(BigInteger)
    latest_views: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), default=utcnow, onupdate=utcnow
    )


class AttemptOutcome(enum.StrEnum):
    RUNNING = "running"
    PUBLISHED = "published"
    HELD = "held"  # over a platform quota or throttle: waits, without counting as a failure
    TRANSIENT = "transient"
    AMBIGUOUS = "ambiguous"
    PERMANENT = "permanent"
    AUTH = "auth"
    STALE = "stale"  # its worker went silent after contacting the platform


class PostAttempt(UUIDPk, Base):
    """One try at publishing (or reconciling) a post: what was sent, what came back."""

    __tablename__ = "post_attempts"
    __table_args__ = (UniqueConstraint("post_id", "number"),)

    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # "publish" | "reconcile"
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default=AttemptOutcome.RUNNING)
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Platform ids known when the attempt ended, and the error it ended with.
    container_id: Mapped[str | None] = mapped_column(String(200))
    platform_post_id: Mapped[str | None] = mapped_column(String(200))
    error_class: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)


class MetricSnapshot(UUIDPk, Base):
    """A metrics read due at a fixed offset after publishing; unique per (post, offset)."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (
        UniqueConstraint("post_id", "offset_s"),
        Index("ix_metric_snapshots_due", "due_at", postgresql_where=text("collected_at IS NULL")),
    )

    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    offset_s: Mapped[int]
    due_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime | None]
    collected_at: Mapped[datetime | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    # The last failed read; after MAX_ATTEMPTS the snapshot is closed with this as its reason.
    error: Mapped[str | None] = mapped_column(Text)
