"""the request id of the request that made a run

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Stored with the run so the tasks the beat-driven dispatcher and collector send long after
the request (publish, analytics) log under the same request id as the rest of the run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "request_id")
