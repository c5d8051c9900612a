"""webhook intake: a delivery is stored and answered first and processed after, once per
event (its dedupe key), with the attempts its processing took

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as table:
        table.add_column(sa.Column("dedupe_key", sa.String(300), nullable=True))
        table.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("processed_at", sa.DateTime(), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_dedupe",
        "webhook_deliveries",
        ["source", "dedupe_key"],
        unique=True,
    )
    op.create_index(
        "ix_webhook_deliveries_received",
        "webhook_deliveries",
        ["id"],
        postgresql_where=sa.text("outcome = 'received'"),
        sqlite_where=sa.text("outcome = 'received'"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_received", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_dedupe", "webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as table:
        table.drop_column("processed_at")
        table.drop_column("attempts")
        table.drop_column("dedupe_key")
