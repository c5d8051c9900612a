"""Journey queries (no changes here: those are ``lifecycle``'s)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.models import TERMINAL_STATUSES, Journey, Prospect
from outreach.uow import Work


def _waiting(due_before: datetime | None = None) -> sa.Select[Journey]:
    query = (
        sa.select(Journey)
        .where(Journey.status.not_in(TERMINAL_STATUSES), Journey.held.is_(False))
        .where(Journey.stage.is_not(None), Journey.next_run_at.is_not(None))
    )
    if due_before is not None:
        query = query.where(Journey.next_run_at < due_before)
    return query


def waiting_stages(session: Session, due_before: datetime | None = None) -> list[Work]:
    """Every journey's next stage, as it was enqueued (held journeys have none waiting).

    With ``due_before``, only the stages that should have run by then.
    """
    from outreach.journeys.lifecycle import stage_work

    rows = session.execute(_waiting(due_before).order_by(Journey.next_run_at)).unique().scalars()
    return [stage_work(journey) for journey in rows]


def journeys_of(session: Session, account_id: int, provider_id: str) -> list[int]:
    """The sender's journeys with this person, open ones first."""
    query = (
        sa.select(Journey.id)
        .join(Prospect, Prospect.id == Journey.prospect_id)
        .where(Journey.account_id == account_id, Prospect.provider_id == provider_id)
        .order_by(Journey.status.in_(TERMINAL_STATUSES), Journey.id.desc())
    )
    return list(session.execute(query).scalars())
