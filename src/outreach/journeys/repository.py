"""Journey queries (no changes here: those are ``lifecycle``'s)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.models import TERMINAL_STATUSES, Journey, Prospect


def journeys_of(session: Session, account_id: int, provider_id: str) -> list[int]:
    """The sender's journeys with this person, open ones first."""
    query = (
        sa.select(Journey.id)
        .join(Prospect, Prospect.id == Journey.prospect_id)
        .where(Journey.account_id == account_id, Prospect.provider_id == provider_id)
        .order_by(Journey.status.in_(TERMINAL_STATUSES), Journey.id.desc())
    )
    return list(session.execute(query).scalars())
