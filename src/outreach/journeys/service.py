"""Reading journeys for the API, the dashboard and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.accounts import pacing
from outreach.campaigns.sequence import SequenceSpec
from outreach.errors import Conflict, NotFound
from outreach.journeys.schemas import EventOut, JourneyDetail, JourneyOut
from outreach.journeys.waiting import Sender, Waiting, WaitLine, explain
from outreach.models import (
    TERMINAL_STATUSES,
    TROUBLED_JOURNEYS,
    Account,
    Campaign,
    CampaignStatus,
    Journey,
    JourneyEvent,
    JourneyStatus,
)


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
            "reply_intent": journey.reply_intent.value if journey.reply_intent else None,
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


def journey_detail(
    session: Session, journey_id: int, *, now: datetime | None = None, scale: float = 1.0
) -> JourneyDetail:
    """The journey and its timeline; with ``now``, what it waits for and why too."""
    journey = session.get(Journey, journey_id)
    if journey is None:
        raise NotFound(f"no journey {journey_id}")
    events = session.execute(
        sa.select(JourneyEvent)
        .where(JourneyEvent.journey_id == journey_id)
        .order_by(JourneyEvent.at, JourneyEvent.id)
    ).scalars()
    out = to_out(journey)
    return JourneyDetail(
        **out.model_dump(),
        events=[EventOut.model_validate(e) for e in events],
        wait=None if now is None else wait_line(session, journey, out.name, now=now, scale=scale),
    )


def _ahead(session: Session, journey: Journey) -> int:
    """The sender's open, unheld journeys at the same kind of step, due before this one
    (by due time, then id: the governor's order within a kind)."""
    assert journey.stage is not None and journey.next_run_at is not None
    kind = journey.stage.split(":", 1)[0]
    same_kind = Journey.stage.like(f"{kind}%") if kind == "follow_up" else Journey.stage == kind
    before = sa.or_(
        Journey.next_run_at < journey.next_run_at,
        sa.and_(Journey.next_run_at == journey.next_run_at, Journey.id < journey.id),
    )
    query = sa.select(sa.func.count()).where(
        Journey.account_id == journey.account_id,
        Journey.held.is_(False),
        Journey.status.not_in(TERMINAL_STATUSES),
        same_kind,
        before,
    )
    return int(session.execute(query).scalar_one())


def wait_line(
    session: Session, journey: Journey, name: str, *, now: datetime, scale: float
) -> WaitLine:
    account = session.get(Account, journey.account_id)
    campaign = session.get(Campaign, journey.campaign_id)
    assert account is not None and campaign is not None
    sender = Sender(
        status=account.status,
        status_reason=account.status_reason,
        paused_until=account.paused_until,
        hours=pacing.working_hours(account),
        usage=pacing.usage(session, account, now),
        busy_journey_id=account.busy_journey_id,
        withdraw_after_days=account.withdraw_after_days,
    )
    waiting = Waiting(
        id=journey.id,
        name=name,
        status=journey.status.value,
        stage=journey.stage,
        next_run_at=journey.next_run_at,
        held=journey.held,
        waiting_for=journey.waiting_for,
        invited_at=journey.invited_at,
        campaign_paused=campaign.status is CampaignStatus.PAUSED,
        ahead=_ahead(session, journey) if journey.next_run_at and journey.next_run_at <= now else 0,
    )
    spec = SequenceSpec.model_validate(campaign.sequence)
    return explain(waiting, spec, sender, now=now, scale=scale)


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
        .where(sa.text(TROUBLED_JOURNEYS))  # as ix_journeys_troubled says it
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
