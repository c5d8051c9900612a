"""reply drafts: the reply agent's answer to each reply, waiting for a person as a row
(pending), then approved and sent once, rejected, expired or superseded by a newer reply

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "reply_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("journey_id", sa.Integer(), sa.ForeignKey("journeys.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column(
            "inbound_id",
            sa.Integer(),
            sa.ForeignKey("inbound_messages.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("intent", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("provenance", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("sent_message_id", sa.String(200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.Column("notify_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_reply_drafts_journey_id", "reply_drafts", ["journey_id"])
    op.create_index("ix_reply_drafts_status_expires", "reply_drafts", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_table("reply_drafts")
