"""each post keeps its latest reading's numbers in columns

Revision ID: 0013_post_latest_values
Revises: 0012_post_campaign
Create Date: 2026-12-03

A year's day and weekday x hour groupings of one organization (28,000 posts on
bench/analytics.py's data) spent most of their time taking numbers out of each post's
`latest_metrics` JSON: p95 91-127 ms against the 100 ms target. Each stored metric name now
has a bigint column on the post (`latest_<name>`, written with `latest_metrics` by the
collector, backfilled here from it), and the organization's covering index includes those
columns instead of the JSON, so a grouping sums plain integers from the index alone (day
p95 37-43 ms, weekday x hour 48-53 ms). It also keeps the index entries small and fixed in size
(a JSON document has no upper bound, a B-tree entry does). The post id joins the index key,
so the post grouping's pages (newest first, then by id) are read in index order: without it,
its last page of a year sorted all 28,000 posts (p95 128-132 ms).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from briefcast.models.repositories.analytics import backfill_latest_values

revision: str = "0013_post_latest_values"
down_revision: str | None = "0012_post_campaign"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The stored metric names of every platform at this revision (measures.METRICS); a name added
# later gets its column and backfill in a migration of its own.
NAMES = (
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
BEFORE = ["platform", "run_id", "latest_engagement_rate", "latest_metrics", "campaign_id"]
INCLUDED = [
    "platform",
    "run_id",
    "latest_engagement_rate",
    "campaign_id",
    *(f"latest_{name}" for name in NAMES),
]


def _index(included: list[str], key: tuple[str, ...] = ("organization_id", "published_at")) -> None:
    op.create_index(
        "ix_posts_organization_published",
        "posts",
        list(key),
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
    for name in NAMES:
        op.add_column("posts", sa.Column(f"latest_{name}", sa.BigInteger(), nullable=True))
    backfill_latest_values(op.get_bind(), NAMES)
    _drop_index()
    # The post id joins the key: the post grouping pages by (publishing time, id), newest
    # first, and a deep page then walks the index instead of sorting the year's posts.
    _index(INCLUDED, ("organization_id", "published_at", "id"))


def downgrade() -> None:
    _drop_index()
    _index(BEFORE)
    for name in NAMES:
        op.drop_column("posts", f"latest_{name}")
