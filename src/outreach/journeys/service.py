"""Reading journeys for the API, the dashboard and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.errors import Conflict, NotFound
from outreach.journeys.schemas import EventOut, JourneyDetail, JourneyOut
from outreach.models import Account, Journey, JourneyEvent, JourneyStatus


def to_out(journey: Journey) -> JourneyOut:
    p = journey.prospect
    name = " ".join(n for n in (p.first_name, p.last_name) if n) or p.public_identifier
    return JourneyOut.model_validate(
        {
            **{
                c.key: getattr(journey, c.key)
                for c in Journey.__table__.columns
                if c.key in JourneyOut.model_fields
            },
            "status": journey.status.value,
            "public_identifier": p.public_identifier,
            "name": name,
        }
    )


def list_journeys(
    session: Session,
    campaign_id: int,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[JourneyOut]:
    query = sa.select(Journey).where(Journey.campaign_id == campaign_id)
    if status is not None:
        query = query.where(Journey.status == JourneyStatus(status))
    query = query.order_by(Journey.id).limit(limit).offset(offset)
    return [to_out(j) for j in session.execute(query).unique().scalars()]


def journey_detail(session: Session, journey_id: int) -> JourneyDetail:
    journey = session.get(Journey, journey_id)
    if journey is None:
        raise NotFound(f"no journey {journey_id}")
    events = session.execute(
        sa.select(JourneyEvent)
        .where(JourneyEvent.journey_id == journey_id)
        .order_by(JourneyEvent.at, JourneyEvent.id)
    ).scalars()
    return JourneyDetail(
        **to_out(journey).model_dump(), events=[EventOut.model_validate(e) for e in events]
    )


def events_of_campaign(session: Session, campaign_id: int) -> list[tuple[int, str, dict[str, Any]]]:
    """Every event of the campaign's journeys: (journey id, kind, details)."""
    rows = session.execute(
        sa.select(JourneyEvent.journey_id, JourneyEvent.kind, JourneyEvent.details)
        .join(Journey, Journey.id == JourneyEvent.journey_id)
        .where(Journey.campaign_id == campaign_id)
        .order_by(JourneyEvent.id)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def troubled_journeys(session: Session, *, limit: int = 500) -> list[JourneyOut]:
    """Failed journeys and journeys that met an error, most recent first."""
    query = (
        sa.select(Journey)
        .where(sa.or_(Journey.status == JourneyStatus.FAILED, Journey.last_error.is_not(None)))
        .order_by(Journey.updated_at.desc(), Journey.id.desc())
        .limit(limit)
    )
    return [to_out(j) for j in session.execute(query).unique().scalars()]


@dataclass(frozen=True)
class ReplyTarget:
    account: str  # the sender's external id
    provider_id: str


def reply_target(session: Session, journey_id: int) -> ReplyTarget:
    """Who would reply on this journey: its sender and its prospect's LinkedIn id."""
    journey = session.get(Journey, journey_id)
    if journey is None:
        raise NotFound(f"no journey {journey_id}")
    if journey.prospect.provider_id is None:
        raise Conflict("the prospect has not been reached yet: nothing to reply to")
    account = session.get(Account, journey.account_id)
    assert account is not None
    return ReplyTarget(account.external_id, journey.prospect.provider_id)
