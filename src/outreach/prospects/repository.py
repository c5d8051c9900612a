"""Prospect queries: who has no journey yet, and the variables a template sees."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.models import Journey, Prospect


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


def prospect_variables(prospect: Prospect) -> dict[str, Any]:
    names = [n for n in (prospect.first_name, prospect.last_name) if n]
    standard = {
        "first_name": prospect.first_name,
        "last_name": prospect.last_name,
        "full_name": " ".join(names) or None,
        "company": prospect.company,
        "title": prospect.title,
    }
    return dict(prospect.fields or {}) | {k: v for k, v in standard.items() if v}
