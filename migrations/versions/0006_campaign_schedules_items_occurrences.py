"""campaign schedules, items and occurrences

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

The first schema's campaigns (a cron string, `next_fire_at`, `last_fired_at`) never had code
behind them; a campaign is now a schedule document, its items, and one row per occurrence
under a unique (campaign, occurs_at) key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_campaigns_next_fire_at", table_name="campaigns")
    for column in ("cron", "enabled", "next_fire_at", "last_fired_at"):
        op.drop_column("campaigns", column)
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.add_column("campaigns", sa.Column("schedule", jsonb, server_default="{}", nullable=False))
    op.add_column(
        "campaigns",
        sa.Column("content_mode", sa.String(16), server_default="in_order", nullable=False),
    )
    op.add_column(
        "campaigns", sa.Column("cooldown_days", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("campaigns", sa.Column("max_uses", sa.Integer(), nullable=True))
    op.add_column(
        "campaigns", sa.Column("lateness_s", sa.Integer(), server_default="3600", nullable=False)
    )
    op.add_column(
        "campaigns", sa.Column("status", sa.String(16), server_default="active", nullable=False)
    )
    op.add_column(
        "campaigns",
        sa.Column(
            "materialized_through",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column("campaigns", sa.Column("schedule_anchor", sa.DateTime(timezone=False)))
    op.add_column("campaigns", sa.Column("ends_at", sa.DateTime(timezone=True)))
    op.add_column("campaigns", sa.Column("status_reason", sa.Text()))
    op.add_column("campaigns", sa.Column("next_due_at", sa.DateTime(timezone=True)))
    op.add_column("campaigns", sa.Column("paused_until", sa.DateTime(timezone=True)))
    op.add_column("campaigns", sa.Column("updated_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_campaigns_due",
        "campaigns",
        ["next_due_at"],
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "campaign_items",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", jsonb, nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_items_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_items")),
        sa.UniqueConstraint(
            "campaign_id", "position", name=op.f("uq_campaign_items_campaign_id_position")
        ),
    )
    op.create_index(
        op.f("ix_campaign_items_campaign_id"), "campaign_items", ["campaign_id"], unique=False
    )
    op.create_index(op.f("ix_campaign_items_slot_at"), "campaign_items", ["slot_at"], unique=False)
    op.create_table(
        "campaign_occurrences",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("occurs_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_occurrences_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["campaign_items.id"],
            name=op.f("fk_campaign_occurrences_item_id_campaign_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_campaign_occurrences_run_id_runs"),
            ondelete="SET NULL",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_occurrences")),
        sa.UniqueConstraint(
            "campaign_id",
            "occurs_at",
            name=op.f("uq_campaign_occurrences_campaign_id_occurs_at"),
        ),
    )
    op.create_index(
        op.f("ix_campaign_occurrences_run_id"), "campaign_occurrences", ["run_id"], unique=False
    )
    # A row of the old shape (no code ever wrote one) has no schedule to expand: park it.
    op.execute(
        "UPDATE campaigns SET status = 'failed', "
        "status_reason = 'made before campaigns had schedules: give it one (PATCH)'"
    )
    # Server defaults were only for rows of the old shape; the models fill these in.
    for column in ("schedule", "materialized_through"):
        op.alter_column("campaigns", column, server_default=None)


def downgrade() -> None:
    op.drop_index(op.f("ix_campaign_occurrences_run_id"), table_name="campaign_occurrences")
    op.drop_table("campaign_occurrences")
    op.drop_index(op.f("ix_campaign_items_slot_at"), table_name="campaign_items")
    op.drop_index(op.f("ix_campaign_items_campaign_id"), table_name="campaign_items")
    op.drop_table("campaign_items")
    op.drop_index("ix_campaigns_due", table_name="campaigns")
    for column in (
        "updated_at",
        "paused_until",
        "next_due_at",
        "schedule_anchor",
        "ends_at",
        "status_reason",
        "materialized_through",
        "status",
        "lateness_s",
        "max_uses",
        "cooldown_days",
        "content_mode",
        "schedule",
    ):
        op.drop_column("campaigns", column)
    op.add_column("campaigns", sa.Column("cron", sa.String(100), server_default="", nullable=False))
    op.add_column(
        "campaigns", sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False)
    )
    op.add_column("campaigns", sa.Column("next_fire_at", sa.DateTime(timezone=True)))
    op.add_column("campaigns", sa.Column("last_fired_at", sa.DateTime(timezone=True)))
    op.create_index("ix_campaigns_next_fire_at", "campaigns", ["next_fire_at"])
