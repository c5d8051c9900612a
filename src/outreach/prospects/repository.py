"""Prospect queries: who has no journey yet, who is another campaign's, the variables a
template sees."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from outreach.models import TERMINAL_STATUSES, Campaign, CampaignStatus, Journey, Prospect

BATCH = 2_000  # people per query: 4,000 parameters at most, well under either database's cap
COLUMNS = (
    "campaign_id",
    "public_identifier",
    "profile_url",
    "provider_id",
    "first_name",
    "last_name",
    "company",
    "title",
    "fields",
    "created_at",
)
PROSPECTS = cast(sa.Table, Prospect.__table__)
IMPORT_LOCK = 0x6F757472  # the advisory lock imports take on PostgreSQL ("outr")
OPEN_CAMPAIGNS = (CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.PAUSED)


def pending_prospects(session: Session, campaign_id: int, *, limit: int | None = None) -> list[int]:
    """Prospects of the campaign that have no journey yet, oldest first."""
    query = (
        sa.select(Prospect.id)
        .outerjoin(
            Journey, sa.and_(Journey.prospect_id == Prospect.id, Journey.campaign_id == campaign_id)
        )
        .where(Prospect.campaign_id == campaign_id, Journey.id.is_(None))
        .order_by(Prospect.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class Owner:
    """A campaign that has a person (``public_identifier``, ``provider_id``) in hand."""

    public_identifier: str
    provider_id: str | None
    campaign_id: int
    campaign_name: str


def lock_imports(session: Session) -> None:
    """Imports one at a time, until commit: two imports of one person into two campaigns
    at once would each find no other campaign owning them. SQLite has one writer at a
    time already; PostgreSQL takes a transaction-level advisory lock. Taken after the
    campaign's row, and nothing waits for a campaign while holding it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(IMPORT_LOCK)))


def owners_elsewhere(
    session: Session, campaign_id: int, people: list[tuple[str, str | None]]
) -> list[Owner]:
    """Who owns these people (public identifier, provider id) now: their prospects in
    campaigns other than ``campaign_id`` that have not completed, whose journey (if any)
    has not ended. Matched on either identifier; oldest campaign first per batch.
    """
    owners: list[Owner] = []
    for start in range(0, len(people), BATCH):
        batch = people[start : start + BATCH]
        slugs = sorted({slug for slug, _ in batch})
        ids = sorted({pid for _, pid in batch if pid})
        query = (
            sa.select(Prospect.public_identifier, Prospect.provider_id, Campaign.id, Campaign.name)
            .join(Campaign, Campaign.id == Prospect.campaign_id)
            .outerjoin(
                Journey,
                sa.and_(
                    Journey.prospect_id == Prospect.id, Journey.campaign_id == Prospect.campaign_id
                ),
            )
            .where(
                Prospect.campaign_id != campaign_id,
                Campaign.status.in_(OPEN_CAMPAIGNS),
                sa.or_(Journey.id.is_(None), Journey.status.not_in(TERMINAL_STATUSES)),
                sa.or_(Prospect.public_identifier.in_(slugs), Prospect.provider_id.in_(ids)),
            )
            .order_by(Campaign.id, Prospect.id)
        )
        owners += [Owner(*row) for row in session.execute(query).all()]
    return owners


class Named(Protocol):
    """What a template sees of a prospect (a stored ``Prospect`` or an import's row)."""

    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def company(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...


def insert_prospects(session: Session, rows: list[dict[str, Any]]) -> None:
    """New prospects in bulk (dicts of ``COLUMNS``), in the session's transaction.

    PostgreSQL gets them through COPY: executemany sent 100,000 rows one statement each
    (pipelined, 2.6 s), COPY streams them (under 1 s). Elsewhere, a Core executemany:
    no ORM object, no ORM bookkeeping.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(PROSPECTS), rows)
        return
    stamp = PROSPECTS.c.created_at.type.bind_processor(connection.dialect)
    driver = connection.connection.driver_connection  # psycopg's, in this transaction
    assert driver is not None, "a live connection has its driver's"
    cursor = driver.cursor()
    with cursor, cursor.copy(f"COPY prospects ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        copy.set_types(_COPY_TYPES)
        for row in rows:
            values = [row[c] for c in COLUMNS]
            values[8] = Jsonb(values[8])
            values[9] = stamp(values[9]) if stamp else values[9]
            copy.write_row(values)


_COPY_TYPES = ["int4", "varchar", "varchar", "varchar", "varchar", "varchar"]
_COPY_TYPES += ["varchar", "varchar", "jsonb", "timestamp"]


def prospect_variables(prospect: Named) -> dict[str, Any]:
    names = [n for n in (prospect.first_name, prospect.last_name) if n]
    standard = {
        "first_name": prospect.first_name,
        "last_name": prospect.last_name,
        "full_name": " ".join(names) or None,
        "company": prospect.company,
        "title": prospect.title,
    }
    return dict(prospect.fields or {}) | {k: v for k, v in standard.items() if v}
