"""the send governor: actions actually sent instead of booked slots, senders per campaign,
warm-up and more caps, the clock's gate

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outreach.db import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INTEGERS = {
    "weekly_message_cap": "400",
    "daily_view_cap": "150",
    "weekly_view_cap": "700",
    "message_gap_min_s": "180",
    "message_gap_max_s": "420",
    "warmup_days": "0",
    "warmup_start": "5",
    "withdraw_after_days": "21",
}


def upgrade() -> None:
    with op.batch_alter_table("clock_state") as batch:
        batch.add_column(sa.Column("gate", sa.Float(), nullable=True))
    with op.batch_alter_table("accounts") as batch:
        for name, default in _INTEGERS.items():
            batch.add_column(sa.Column(name, sa.Integer(), server_default=default, nullable=False))
        batch.add_column(sa.Column("warmup_since", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_action_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("busy_journey_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("busy_since", UTCDateTime(), nullable=True))
    op.create_index("ix_accounts_next_action_at", "accounts", ["next_action_at"])
    op.create_index("ix_journeys_sender_due", "journeys", ["account_id", "next_run_at"])
    op.create_table(
        "campaign_senders",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO campaign_senders (campaign_id, account_id, position) "
        "SELECT id, account_id, 0 FROM campaigns"
    )
    op.create_table(
        "sender_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("journey_id", sa.Integer(), sa.ForeignKey("journeys.id"), nullable=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), nullable=True),
    )
    op.create_index(
        "ix_sender_actions_account_kind_at", "sender_actions", ["account_id", "kind", "at"]
    )
    # What was sent is on the timeline; the booked slots of the past are not kept.
    op.execute(
        "INSERT INTO sender_actions (account_id, kind, at, journey_id, campaign_id) "
        "SELECT j.account_id, CASE e.kind WHEN 'invitation_sent' THEN 'invitation' "
        "ELSE 'message' END, e.at, j.id, j.campaign_id FROM journey_events e "
        "JOIN journeys j ON j.id = e.journey_id "
        "WHERE e.kind IN ('invitation_sent', 'message_sent')"
    )
    op.drop_index("ix_sender_slots_account_kind_at", table_name="sender_slots")
    op.drop_table("sender_slots")
    # Every sender is looked at once by the governor, which takes over from here.
    op.execute("UPDATE accounts SET next_action_at = '1970-01-01 00:00:00'")


def downgrade() -> None:
    op.create_table(
        "sender_slots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("journey_id", sa.Integer(), sa.ForeignKey("journeys.id"), nullable=True),
    )
    op.create_index("ix_sender_slots_account_kind_at", "sender_slots", ["account_id", "kind", "at"])
    op.drop_index("ix_sender_actions_account_kind_at", table_name="sender_actions")
    op.drop_table("sender_actions")
    op.drop_table("campaign_senders")
    op.drop_index("ix_journeys_sender_due", table_name="journeys")
    op.drop_index("ix_accounts_next_action_at", table_name="accounts")
    with op.batch_alter_table("accounts") as batch:
        for name in ("busy_since", "busy_journey_id", "next_action_at", "warmup_since"):
            batch.drop_column(name)
        for name in reversed(_INTEGERS):
            batch.drop_column(name)
    with op.batch_alter_table("clock_state") as batch:
        batch.drop_column("gate")
