"""the do-not-contact list; prospects by public identifier (across campaigns)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "do_not_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "person", "company", "domain", name="donotcontactkind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "person",
                "import",
                "reply_agent",
                "api",
                name="donotcontactsource",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", outreach.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "value"),
    )
    op.create_index("ix_prospects_public_identifier", "prospects", ["public_identifier"])


def downgrade() -> None:
    op.drop_index("ix_prospects_public_identifier", table_name="prospects")
    op.drop_table("do_not_contact")
