"""analytics indexes: funnels per campaign and per sender, sender actions per campaign,
and what the notification area lists (failed journeys by when they ended, replies)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNNEL = ("invited_at", "accepted_at", "replied_at")


def upgrade() -> None:
    # Covering: a campaign's (or a sender's) funnel is read from the index alone.
    op.create_index("ix_journeys_campaign_funnel", "journeys", ["campaign_id", *FUNNEL])
    op.create_index("ix_journeys_sender_funnel", "journeys", ["account_id", *FUNNEL])
    op.create_index(
        "ix_sender_actions_campaign_kind_at", "sender_actions", ["campaign_id", "kind", "at"]
    )
    op.create_index("ix_journeys_status_ended", "journeys", ["status", "ended_at"])
    op.create_index("ix_journeys_replied_at", "journeys", ["replied_at"])


def downgrade() -> None:
    op.drop_index("ix_journeys_replied_at", table_name="journeys")
    op.drop_index("ix_journeys_status_ended", table_name="journeys")
    op.drop_index("ix_sender_actions_campaign_kind_at", table_name="sender_actions")
    op.drop_index("ix_journeys_sender_funnel", table_name="journeys")
    op.drop_index("ix_journeys_campaign_funnel", table_name="journeys")
