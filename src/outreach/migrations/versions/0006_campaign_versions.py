"""campaign versions: each save of a campaign's sequence or texts is kept

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from outreach.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "campaign_versions",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("sequence", JSON, nullable=False),
        sa.Column("templates", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("saved_by", sa.String(100), nullable=True),
    )
    # Every campaign so far is its version 1.
    op.execute(
        "INSERT INTO campaign_versions (campaign_id, version, sequence, templates, created_at) "
        "SELECT id, 1, sequence, templates, created_at FROM campaigns"
    )


def downgrade() -> None:
    op.drop_table("campaign_versions")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("version")
