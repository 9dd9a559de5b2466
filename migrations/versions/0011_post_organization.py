"""each post keeps its organization

Revision ID: 0011_post_organization
Revises: 0010_post_latest_reading
Create Date: 2026-12-01

A year's analytics grouping scanned every post published in the range (170,000 on
bench/analytics.py's data) and hash-joined them to the organization's runs to keep its own
~28,000. The post now carries its run's organization (written with the post, backfilled here
from the runs), and one index finds the organization's published posts by time. The
organization's posts lie on every heap page, so without the INCLUDE columns the planner
(rightly) kept scanning the table (day grouping p95 115 ms); with them a year's day grouping
is an index-only scan, p95 60-75 ms. The included metrics are a few numbers per post, far
under a B-tree entry's limit (about a third of a page).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_post_organization"
down_revision: str | None = "0010_post_latest_reading"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the groupings read of each post, so a year's grouping reads the index alone.
INCLUDED = ["platform", "run_id", "latest_engagement_rate", "latest_metrics"]


def upgrade() -> None:
    op.add_column("posts", sa.Column("organization_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE posts SET organization_id = runs.organization_id FROM runs "
        "WHERE posts.run_id = runs.id"
    )
    op.alter_column("posts", "organization_id", nullable=False)
    op.create_foreign_key(
        op.f("fk_posts_organization_id_organizations"),
        "posts",
        "organizations",
        ["organization_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(
        "ix_posts_organization_published",
        "posts",
        ["organization_id", "published_at"],
        unique=False,
        postgresql_include=INCLUDED,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_posts_organization_published",
        table_name="posts",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.drop_constraint(op.f("fk_posts_organization_id_organizations"), "posts", type_="foreignkey")
    op.drop_column("posts", "organization_id")
