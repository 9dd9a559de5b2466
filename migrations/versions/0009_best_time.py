"""publish_at "best": the time zone a brief's best time is chosen in

Revision ID: 0009_best_time
Revises: 0008_analytics_indexes
Create Date: 2026-12-01

A brief (or a campaign occurrence) that asks for `publish_at: "best"` keeps the IANA zone
whose weekdays and hours are compared; the schedule stage picks the time from the
organization's own engagement and records it, with the reason, on the run's timeline.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_best_time"
down_revision: str | None = "0008_analytics_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("briefs", sa.Column("best_time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("briefs", "best_time_zone")
