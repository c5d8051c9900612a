"""journey tallies and reply intents: counts per campaign, sender and state kept by the
database itself (triggers on journeys and prospects write signed deltas; the app folds
them now and then), so summaries and funnels over a million journeys read a few hundred
rows; what a reply means (journeys.reply_intent), "interested" being the funnel's
positive step

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "campaign_id, account_id, status, journeys, invited, accepted, replied, positive, held, "
    "prospects"
)


def _journey(row: str, sign: str, held: str) -> str:
    """The delta of one journey row (``NEW`` or ``OLD``), counted with ``sign``."""
    return (
        f"{row}.campaign_id, {row}.account_id, {row}.status, {sign}1, "
        f"{sign}(CASE WHEN {row}.invited_at IS NULL THEN 0 ELSE 1 END), "
        f"{sign}(CASE WHEN {row}.accepted_at IS NULL THEN 0 ELSE 1 END), "
        f"{sign}(CASE WHEN {row}.replied_at IS NULL THEN 0 ELSE 1 END), "
        f"{sign}(CASE WHEN {row}.reply_intent = 'interested' THEN 1 ELSE 0 END), "
        f"{sign}(CASE WHEN {held} THEN 1 ELSE 0 END), 0"
    )


def _prospect(row: str, sign: str) -> str:
    return f"{row}.campaign_id, NULL, NULL, 0, 0, 0, 0, 0, 0, {sign}1"


def _changed(distinct: str) -> str:
    """A journey's update counts only when what the tallies hold changes (``distinct``:
    each database's null-safe "differs")."""
    return " OR ".join(
        [
            "OLD.campaign_id <> NEW.campaign_id",
            "OLD.account_id <> NEW.account_id",
            "OLD.status <> NEW.status",
            "(OLD.invited_at IS NULL) <> (NEW.invited_at IS NULL)",
            "(OLD.accepted_at IS NULL) <> (NEW.accepted_at IS NULL)",
            "(OLD.replied_at IS NULL) <> (NEW.replied_at IS NULL)",
            "OLD.held <> NEW.held",
            f"OLD.reply_intent {distinct} NEW.reply_intent",
        ]
    )


INSERT = f"INSERT INTO journey_tallies ({COLUMNS}) VALUES"


def _sqlite_triggers() -> list[str]:
    def held(row: str) -> str:
        return f"{row}.held = 1"

    return [
        f"""CREATE TRIGGER journeys_tally_insert AFTER INSERT ON journeys BEGIN
            {INSERT} ({_journey("NEW", "+", held("NEW"))}); END""",
        f"""CREATE TRIGGER journeys_tally_update AFTER UPDATE ON journeys
            WHEN {_changed("IS NOT")} BEGIN
            {INSERT} ({_journey("OLD", "-", held("OLD"))});
            {INSERT} ({_journey("NEW", "+", held("NEW"))}); END""",
        f"""CREATE TRIGGER journeys_tally_delete AFTER DELETE ON journeys BEGIN
            {INSERT} ({_journey("OLD", "-", held("OLD"))}); END""",
        f"""CREATE TRIGGER prospects_tally_insert AFTER INSERT ON prospects BEGIN
            {INSERT} ({_prospect("NEW", "+")}); END""",
        f"""CREATE TRIGGER prospects_tally_update AFTER UPDATE OF campaign_id ON prospects
            WHEN OLD.campaign_id <> NEW.campaign_id BEGIN
            {INSERT} ({_prospect("OLD", "-")});
            {INSERT} ({_prospect("NEW", "+")}); END""",
        f"""CREATE TRIGGER prospects_tally_delete AFTER DELETE ON prospects BEGIN
            {INSERT} ({_prospect("OLD", "-")}); END""",
    ]


def _postgres_triggers() -> list[str]:
    return [
        f"""CREATE FUNCTION journeys_tally() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP IN ('UPDATE', 'DELETE') THEN
                {INSERT} ({_journey("OLD", "-", "OLD.held")});
              END IF;
              IF TG_OP IN ('INSERT', 'UPDATE') THEN
                {INSERT} ({_journey("NEW", "+", "NEW.held")});
              END IF;
              RETURN NULL;
            END $$""",
        """CREATE TRIGGER journeys_tally AFTER INSERT OR DELETE ON journeys
            FOR EACH ROW EXECUTE FUNCTION journeys_tally()""",
        f"""CREATE TRIGGER journeys_tally_update AFTER UPDATE ON journeys
            FOR EACH ROW WHEN ({_changed("IS DISTINCT FROM")})
            EXECUTE FUNCTION journeys_tally()""",
        f"""CREATE FUNCTION prospects_tally() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP IN ('UPDATE', 'DELETE') THEN {INSERT} ({_prospect("OLD", "-")}); END IF;
              IF TG_OP IN ('INSERT', 'UPDATE') THEN {INSERT} ({_prospect("NEW", "+")}); END IF;
              RETURN NULL;
            END $$""",
        """CREATE TRIGGER prospects_tally AFTER INSERT OR DELETE ON prospects
            FOR EACH ROW EXECUTE FUNCTION prospects_tally()""",
        """CREATE TRIGGER prospects_tally_update AFTER UPDATE OF campaign_id ON prospects
            FOR EACH ROW WHEN (OLD.campaign_id <> NEW.campaign_id)
            EXECUTE FUNCTION prospects_tally()""",
    ]


def upgrade() -> None:
    with op.batch_alter_table("journeys") as batch:
        batch.add_column(sa.Column("reply_intent", sa.String(20), nullable=True))
    op.create_table(
        "journey_tallies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=True),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "journeys",
                "invited",
                "accepted",
                "replied",
                "positive",
                "held",
                "prospects",
            )
        ),
    )
    op.create_index("ix_journey_tallies_campaign_id", "journey_tallies", ["campaign_id"])
    op.create_index("ix_journey_tallies_account", "journey_tallies", ["account_id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    held = "held" if postgres else "held = 1"
    # What is there already, counted once; the triggers keep it from here on.
    op.execute(
        f"""INSERT INTO journey_tallies ({COLUMNS})
        SELECT campaign_id, account_id, status, count(*), count(invited_at),
               count(accepted_at), count(replied_at),
               sum(CASE WHEN reply_intent = 'interested' THEN 1 ELSE 0 END),
               sum(CASE WHEN {held} THEN 1 ELSE 0 END), 0
        FROM journeys GROUP BY campaign_id, account_id, status"""
    )
    op.execute(
        f"""INSERT INTO journey_tallies ({COLUMNS})
        SELECT campaign_id, NULL, NULL, 0, 0, 0, 0, 0, 0, count(*)
        FROM prospects GROUP BY campaign_id"""
    )
    for statement in _postgres_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in (
            ("journeys_tally", "journeys"),
            ("journeys_tally_update", "journeys"),
            ("prospects_tally", "prospects"),
            ("prospects_tally_update", "prospects"),
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS journeys_tally()")
        op.execute("DROP FUNCTION IF EXISTS prospects_tally()")
    else:
        for table in ("journeys", "prospects"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_tally_{event}")
    op.drop_index("ix_journey_tallies_account", table_name="journey_tallies")
    op.drop_index("ix_journey_tallies_campaign_id", table_name="journey_tallies")
    op.drop_table("journey_tallies")
    with op.batch_alter_table("journeys") as batch:
        batch.drop_column("reply_intent")
