"""indexes for analytics reads

Revision ID: 0008_analytics_indexes
Revises: 0007
Create Date: 2026-12-01

Analytics reads one organization's posts published in a time range, and each one's latest
collected snapshot; measured with EXPLAIN ANALYZE on bench/analytics.py's 1,000,000 snapshots.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_analytics_indexes"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_posts_published",
        "posts",
        ["published_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_posts_published",
        table_name="posts",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
