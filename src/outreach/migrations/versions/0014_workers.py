"""workers and takeovers: each worker's heartbeat, and the workflows one resumed for a
worker that had stopped

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("executor_id", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("taken_over_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "takeovers",
        sa.Column("workflow_id", sa.String(300), primary_key=True),
        sa.Column("from_executor", sa.String(200), nullable=False),
        sa.Column("by_executor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("takeovers")
    op.drop_table("workers")
