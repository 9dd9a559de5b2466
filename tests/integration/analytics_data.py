"""Known analytics data for tests: published posts and their collected snapshots, written
through the product's models."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from briefcast.models import (
    Brief,
    Campaign,
    CampaignStatus,
    MetricSnapshot,
    Post,
    PostStatus,
    Run,
    RunStatus,
)
from briefcast.models.repositories.analytics import (
    backfill_latest_readings,
    backfill_latest_values,
)
from briefcast.models.repositories.tenancy import ensure_organization
from briefcast.models.session import worker_session


def make_campaign(org: str, name: str) -> uuid.UUID:
    with worker_session() as session:
        campaign = Campaign(
            organization_id=ensure_organization(session, org),
            name=name,
            schedule={"kind": "slots", "slots": []},
            brief_template={},
            status=CampaignStatus.PAUSED,
            materialized_through=datetime.now(UTC),
        )
        session.add(campaign)
        session.flush()
        return campaign.id


def published_post(
    *,
    org: str,
    platform: str,
    published_at: datetime,
    readings: Mapping[int, Mapping[str, int]] = {},
    campaign_id: uuid.UUID | None = None,
    failed: Mapping[int, Mapping[str, int]] = {},
    pending: tuple[int, ...] = (),
) -> uuid.UUID:
    """A post of `org` published at `published_at`, with one collected snapshot per
    `readings` offset (stored under the API's names), snapshots closed with an error
    (`failed`, never a reading) and snapshots not collected yet (`pending`)."""
    with worker_session() as session:
        org_id = ensure_organization(session, org)
        brief = Brief(
            organization_id=org_id,
            campaign_id=campaign_id,
            topic="Analytics",
            key_points=[],
            brand_voice="plain",
            audience="everyone",
            brand_color="#000000",
            platforms=[platform],
            request_hash="0" * 64,
        )
        session.add(brief)
        session.flush()
        run = Run(brief_id=brief.id, organization_id=org_id, status=RunStatus.PUBLISHED)
        session.add(run)
        session.flush()
        post = Post(
            run_id=run.id,
            organization_id=org_id,
            campaign_id=campaign_id,
            platform=platform,
            status=PostStatus.PUBLISHED,
            published_at=published_at,
        )
        session.add(post)
        session.flush()

        def snapshot(offset_s: int, metrics: Mapping[str, int], **extra: object) -> None:
            due = published_at + timedelta(seconds=offset_s)
            session.add(
                MetricSnapshot(
                    post_id=post.id, offset_s=offset_s, due_at=due, metrics=dict(metrics), **extra
                )
            )

        for offset_s, metrics in readings.items():
            snapshot(offset_s, metrics, collected_at=published_at + timedelta(seconds=offset_s))
        for offset_s, metrics in failed.items():
            snapshot(offset_s, metrics, collected_at=published_at, error="HTTP 500", attempts=5)
        for offset_s in pending:
            snapshot(offset_s, {})
        session.flush()
        # Snapshots written directly, as migration 0010 found them: the post's latest reading
        # comes from the backfills of 0010 and 0013 (the collector keeps it up to date in
        # production).
        backfill_latest_readings(session)
        backfill_latest_values(session)
        return post.id
