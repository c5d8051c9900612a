"""Counts of journeys and prospects read from ``journey_tallies`` (maintained by the
database's triggers, migration 0009) instead of counted over the journeys.

A campaign's counts are the sum of its rows; ``compact`` folds the rows into one per
(campaign, sender, state) so the sums stay small, whatever the number of journeys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.models import JourneyStatus, JourneyTally

T = JourneyTally
_SUMS = ("journeys", "invited", "accepted", "replied", "positive", "held", "prospects")


@dataclass
class Counts:
    """A campaign's (or a sender's) journeys per state and milestone."""

    per_status: dict[JourneyStatus, int] = field(default_factory=dict)
    journeys: int = 0
    invited: int = 0
    accepted: int = 0
    replied: int = 0
    positive: int = 0  # replies marked interested
    held: int = 0
    prospects: int = 0

    def add(self, status: str | None, sums: dict[str, int]) -> None:
        for name in _SUMS:
            setattr(self, name, getattr(self, name) + int(sums[name] or 0))
        if status is not None:
            state = JourneyStatus(status)
            self.per_status[state] = self.per_status.get(state, 0) + int(sums["journeys"] or 0)


def _sums() -> list[sa.Label[int]]:
    return [sa.func.sum(getattr(T, name)).label(name) for name in _SUMS]


def by_campaign(session: Session, campaign_ids: list[int] | None = None) -> dict[int, Counts]:
    """The counts of each campaign asked (every campaign by default)."""
    query = sa.select(T.campaign_id, T.status, *_sums()).group_by(T.campaign_id, T.status)
    if campaign_ids is not None:
        query = query.where(T.campaign_id.in_(campaign_ids))
    found: dict[int, Counts] = {}
    for row in session.execute(query).mappings():
        found.setdefault(row["campaign_id"], Counts()).add(row["status"], dict(row))
    return found


def by_sender(session: Session, account_ids: list[int] | None = None) -> dict[int, Counts]:
    """The counts of the journeys each sender has (prospects are not a sender's)."""
    query = (
        sa.select(T.account_id, T.status, *_sums())
        .where(T.account_id.is_not(None))
        .group_by(T.account_id, T.status)
    )
    if account_ids is not None:
        query = query.where(T.account_id.in_(account_ids))
    found: dict[int, Counts] = {}
    for row in session.execute(query).mappings():
        found.setdefault(row["account_id"], Counts()).add(row["status"], dict(row))
    return found


def total(session: Session) -> Counts:
    counts = Counts()
    for row in session.execute(sa.select(T.status, *_sums()).group_by(T.status)).mappings():
        counts.add(row["status"], dict(row))
    return counts


def newest(session: Session) -> int | None:
    """The id of the newest row (``None``: no row)."""
    top: int | None = session.execute(sa.select(sa.func.max(T.id))).scalar_one()
    return top


def compact(session: Session) -> int:
    """Fold the deltas into one row per (campaign, sender, state); rows that sum to
    nothing go. How many rows were folded.

    PostgreSQL: one statement deletes the rows it sees and inserts their sums, so a
    delta committed meanwhile (by a writer whose sequence number is lower) stays for the
    next time rather than being lost. SQLite: the transaction holds the database's
    write lock from its start, so nobody writes meanwhile.
    """
    keys = "campaign_id, account_id, status"
    sums = ", ".join(f"sum({name})" for name in _SUMS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in _SUMS)
    columns = f"{keys}, {', '.join(_SUMS)}"
    if session.get_bind().dialect.name == "postgresql":
        folded = session.execute(
            sa.text(
                f"""WITH gone AS (DELETE FROM journey_tallies RETURNING *),
                kept AS (INSERT INTO journey_tallies ({columns})
                    SELECT {keys}, {sums} FROM gone GROUP BY {keys} HAVING {nonzero})
                SELECT count(*) FROM gone"""
            )
        ).scalar_one()
        return int(folded)
    top = newest(session)
    if top is None:
        return 0
    rows = session.execute(sa.select(sa.func.count()).where(T.id <= top)).scalar_one()
    session.execute(
        sa.text(
            f"""INSERT INTO journey_tallies ({columns})
            SELECT {keys}, {sums} FROM journey_tallies WHERE id <= :top
            GROUP BY {keys} HAVING {nonzero}"""
        ),
        {"top": top},
    )
    session.execute(sa.delete(T).where(T.id <= top))
    return int(rows)
