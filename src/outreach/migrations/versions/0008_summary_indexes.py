"""summary indexes: held journeys per campaign, a sender's invitations waiting to be
withdrawn, the errors page's journeys and everyone's actions by kind and time (the
analytics' days), so those pages read small index ranges, not all journeys

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The errors page's journeys (``models.TROUBLED``, copied: a migration stays as it was).
TROUBLED = "status = 'failed' OR last_error IS NOT NULL"


def upgrade() -> None:
    # Partial: few journeys are held, few wait to be withdrawn.
    op.create_index(
        "ix_journeys_held",
        "journeys",
        ["campaign_id"],
        sqlite_where=sa.text("held = 1"),
        postgresql_where=sa.text("held"),
    )
    op.create_index(
        "ix_journeys_sender_withdraw",
        "journeys",
        ["account_id"],
        sqlite_where=sa.text("stage = 'withdraw'"),
        postgresql_where=sa.text("stage = 'withdraw'"),
    )
    op.create_index("ix_sender_actions_kind_at", "sender_actions", ["kind", "at"])
    op.create_index(
        "ix_journeys_troubled",
        "journeys",
        ["updated_at", "id"],
        sqlite_where=sa.text(TROUBLED),
        postgresql_where=sa.text(TROUBLED),
    )


def downgrade() -> None:
    op.drop_index("ix_sender_actions_kind_at", table_name="sender_actions")
    op.drop_index("ix_journeys_troubled", table_name="journeys")
    op.drop_index("ix_journeys_sender_withdraw", table_name="journeys")
    op.drop_index("ix_journeys_held", table_name="journeys")
