"""A campaign's prospects as a list a person works through: searched, filtered, sorted, paged.

One query for the page and one for its total, both on indexed columns: the prospects by
``campaign_id``, their journey through the ``(campaign_id, prospect_id)`` unique index.
A prospect imported but not launched yet has no journey: its state is ``pending``.
Searching matches name, company and LinkedIn identifier, case-insensitively, anywhere
in the text (``%`` and ``_`` typed by the person are literal).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from outreach.models import Journey, JourneyStatus, Prospect

PENDING = "pending"
STATES = [PENDING, *(s.value for s in JourneyStatus)]
ProspectState = enum.StrEnum(  # type: ignore[misc]
    "ProspectState", {state.upper(): state for state in STATES}
)
Sort = Literal["added", "name", "company", "status", "next"]
Order = Literal["asc", "desc"]
SORTS: tuple[str, ...] = Sort.__args__  # type: ignore[attr-defined]


class ProspectRow(BaseModel):
    """A prospect of the campaign, with where its journey stands (none before launch)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    campaign_id: int
    public_identifier: str
    profile_url: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    title: str | None
    created_at: datetime
    state: str  # "pending" before launch, else the journey's status
    journey_id: int | None
    stage: str | None
    held: bool
    waiting_for: str | None
    next_run_at: datetime | None
    follow_ups_sent: int
    end_reason: str | None
    last_error: str | None

    @property
    def name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.public_identifier

    @property
    def is_open(self) -> bool:
        return self.state == PENDING or not JourneyStatus(self.state).is_terminal


@dataclass(frozen=True)
class ProspectQuery:
    q: str = ""
    state: str = ""
    sort: str = "added"
    order: str = "asc"
    limit: int = 100
    offset: int = 0
    prospect_id: int | None = None  # just this one


@dataclass(frozen=True)
class ProspectPage:
    rows: list[ProspectRow]
    total: int  # matching the search and the state, all pages


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(campaign_id: int, query: ProspectQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Prospect.campaign_id == campaign_id]
    if query.prospect_id is not None:
        where.append(Prospect.id == query.prospect_id)
    if query.state == PENDING:
        where.append(Journey.id.is_(None))
    elif query.state:
        where.append(Journey.status == JourneyStatus(query.state))
    text = query.q.strip()
    if text:
        pattern = _like(text)
        full_name = (
            sa.func.coalesce(Prospect.first_name, "")
            + " "
            + sa.func.coalesce(Prospect.last_name, "")
        )
        where.append(
            sa.or_(
                *(
                    sa.func.lower(column).like(pattern, escape="\\")
                    for column in (full_name, Prospect.company, Prospect.public_identifier)
                )
            )
        )
    return where


def _ordering(query: ProspectQuery) -> list[Any]:
    columns: dict[str, list[Any]] = {
        "added": [Prospect.id],
        "name": [sa.func.lower(Prospect.last_name), sa.func.lower(Prospect.first_name)],
        "company": [sa.func.lower(Prospect.company)],
        "status": [Journey.status],
        "next": [Journey.next_run_at],
    }
    direction = sa.desc if query.order == "desc" else sa.asc
    keys = [direction(c).nulls_last() for c in columns[query.sort]]
    return [*keys, direction(Prospect.id)]  # a stable order: ties by when they were added


def _joined(select: Any, campaign_id: int) -> Any:
    on = sa.and_(Journey.campaign_id == campaign_id, Journey.prospect_id == Prospect.id)
    return select.select_from(Prospect).outerjoin(Journey, on)


def list_prospects(session: Session, campaign_id: int, query: ProspectQuery) -> ProspectPage:
    """A page of the campaign's prospects and how many match in all."""
    where = _filters(campaign_id, query)
    total = session.execute(
        _joined(sa.select(sa.func.count()), campaign_id).where(*where)
    ).scalar_one()
    columns = [
        Prospect.id,
        Prospect.campaign_id,
        Prospect.public_identifier,
        Prospect.profile_url,
        Prospect.first_name,
        Prospect.last_name,
        Prospect.company,
        Prospect.title,
        Prospect.created_at,
        Journey.id.label("journey_id"),
        Journey.status,
        Journey.stage,
        Journey.held,
        Journey.waiting_for,
        Journey.next_run_at,
        Journey.follow_ups_sent,
        Journey.end_reason,
        Journey.last_error,
    ]
    rows = session.execute(
        _joined(sa.select(*columns), campaign_id)
        .where(*where)
        .order_by(*_ordering(query))
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    return ProspectPage([_row(r) for r in rows], total)


def _row(r: Any) -> ProspectRow:
    values = dict(r._mapping)
    status = values.pop("status")
    values["state"] = PENDING if status is None else str(status.value)
    values["held"] = bool(values["held"])
    values["follow_ups_sent"] = values["follow_ups_sent"] or 0
    return ProspectRow(**values)
