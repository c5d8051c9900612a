"""who paused a sender, business-key counters, longer waiting reasons, events by kind

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column(
                "paused_by",
                sa.Enum("person", "provider", name="pausedby", native_enum=False, length=20),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("resumes", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("schedule_runs", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("journeys") as batch:
        batch.alter_column(
            "waiting_for",
            existing_type=sa.String(length=200),
            type_=sa.Text(),
            existing_nullable=True,
        )
    op.create_index("ix_journey_events_kind_at", "journey_events", ["kind", "at"])
    # The pause reason used to carry who paused: "provider: <why>" for LinkedIn's pauses.
    accounts = sa.table(
        "accounts",
        sa.column("status", sa.String),
        sa.column("status_reason", sa.Text),
        sa.column("paused_by", sa.String),
    )
    provider = accounts.c.status_reason.like("provider:%")
    op.execute(
        accounts.update()
        .where(accounts.c.status != "active", provider)
        .values(
            paused_by="provider",
            status_reason=sa.func.ltrim(
                sa.func.substr(accounts.c.status_reason, len("provider:") + 1)
            ),
        )
    )
    op.execute(
        accounts.update()
        .where(accounts.c.status == "paused", accounts.c.paused_by.is_(None))
        .values(paused_by="person")
    )


def downgrade() -> None:
    op.drop_index("ix_journey_events_kind_at", table_name="journey_events")
    with op.batch_alter_table("journeys") as batch:
        batch.alter_column(
            "waiting_for",
            existing_type=sa.Text(),
            type_=sa.String(length=200),
            existing_nullable=True,
        )
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("schedule_runs")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("resumes")
        batch.drop_column("paused_by")
