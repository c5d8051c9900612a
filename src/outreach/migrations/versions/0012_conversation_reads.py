"""conversation reads: how far a person has read each conversation (the newest reply
they saw), for the inbox's unread counts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_reads",
        sa.Column("journey_id", sa.Integer(), sa.ForeignKey("journeys.id"), primary_key=True),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.Column("read_by", sa.String(100), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("conversation_reads")
