"""journeys.not_before: a journey whose prospect is away (an out-of-office reply with a
return date, in a campaign that resumes after one) runs no stage before this moment

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not a batch: SQLite adds (and, from 3.35, drops) a column in place,
# where a batch would copy the table and lose its tally triggers (0009).
def upgrade() -> None:
    op.add_column("journeys", sa.Column("not_before", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("journeys", "not_before")
