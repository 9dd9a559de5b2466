"""each post keeps its latest reading

Revision ID: 0010_post_latest_reading
Revises: 0009_best_time
Create Date: 2026-12-01

Analytics groups posts by their latest collected reading; finding it per post in
metric_snapshots (a LATERAL lookup) cost 350-1,260 ms over a year's posts on
bench/analytics.py's 1,000,000 snapshots. The post now keeps it (the collector writes it with
the snapshot), backfilled here from the snapshots already collected. No new index: the year's
grouping reads most posts of the range, where a scan joined to the organization's runs wins
(a covering index on published_at was measured and not chosen); a page of the post grouping
walks 0008's ix_posts_published backwards.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from briefcast.models.repositories.analytics import backfill_latest_readings

revision: str = "0010_post_latest_reading"
down_revision: str | None = "0009_best_time"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("latest_offset_s", sa.Integer(), nullable=True))
    op.add_column(
        "posts", sa.Column("latest_metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column("posts", sa.Column("latest_engagement_rate", sa.Double(), nullable=True))
    op.add_column("posts", sa.Column("latest_read_at", sa.DateTime(timezone=True), nullable=True))
    # The rate is computed in SQL from `measures` (the one definition), as the reads did.
    backfill_latest_readings(op.get_bind())


def downgrade() -> None:
    op.drop_column("posts", "latest_read_at")
    op.drop_column("posts", "latest_engagement_rate")
    op.drop_column("posts", "latest_metrics")
    op.drop_column("posts", "latest_offset_s")
