"""each post keeps its campaign

Revision ID: 0012_post_campaign
Revises: 0011_post_organization
Create Date: 2026-12-02

A year's campaign grouping (28,000 posts of one organization on bench/analytics.py's data)
joined every post to its run and brief for the campaign id, p95 102-106 ms. The post now
carries its brief's campaign (written with the post, backfilled here from the briefs via the
runs), and the organization's covering index includes it, so the grouping is an index-only
scan with only the few campaign rows joined after grouping: p95 64-79 ms. A deleted campaign
leaves its posts outside any campaign, as it leaves their briefs (both ON DELETE SET NULL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_post_campaign"
down_revision: str | None = "0011_post_organization"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the groupings read of each post, so a year's grouping reads the index alone.
BEFORE = ["platform", "run_id", "latest_engagement_rate", "latest_metrics"]
INCLUDED = [*BEFORE, "campaign_id"]


def _index(included: list[str]) -> None:
    op.create_index(
        "ix_posts_organization_published",
        "posts",
        ["organization_id", "published_at"],
        unique=False,
        postgresql_include=included,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )


def _drop_index() -> None:
    op.drop_index(
        "ix_posts_organization_published",
        table_name="posts",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )


def upgrade() -> None:
    op.add_column("posts", sa.Column("campaign_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE posts SET campaign_id = briefs.campaign_id "
        "FROM runs JOIN briefs ON briefs.id = runs.brief_id "
        "WHERE posts.run_id = runs.id AND briefs.campaign_id IS NOT NULL"
    )
    op.create_foreign_key(
        op.f("fk_posts_campaign_id_campaigns"),
        "posts",
        "campaigns",
        ["campaign_id"],
        ["id"],
        ondelete="SET NULL",
    )
    _drop_index()
    _index(INCLUDED)


def downgrade() -> None:
    _drop_index()
    _index(BEFORE)
    op.drop_constraint(op.f("fk_posts_campaign_id_campaigns"), "posts", type_="foreignkey")
    op.drop_column("posts", "campaign_id")
