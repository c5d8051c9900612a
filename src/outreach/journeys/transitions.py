"""What each stage outcome does to a journey: transactions run by the stage workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.campaigns.sequence import (
    SequenceSpec,
    after_acceptance_check,
    after_follow_up,
    after_invitation,
    follow_up,
)
from outreach.journeys.repository import Scheduled, add_event, apply_next, end, get_journey
from outreach.models import Campaign, JourneyStatus


@dataclass(frozen=True)
class InviteOutcome:
    provider_id: str
    connected: bool  # already a first-degree relation: no invitation needed
    already_pending: bool
    invitation_id: str | None
    note: str | None


@dataclass(frozen=True)
class MessageOutcome:
    message_id: str | None
    chat_id: str | None
    already_sent: bool  # found in the chat: a retry after a crash, not a second send


def _spec(session: Session, campaign_id: int) -> SequenceSpec:
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    return SequenceSpec.model_validate(campaign.sequence)


def invited(
    session: Session, now: datetime, journey_id: int, outcome: InviteOutcome, *, due: datetime
) -> Scheduled | None:
    journey = get_journey(session, journey_id, lock=True)
    journey.prospect.provider_id = outcome.provider_id
    journey.invited_at = now
    journey.attempts = 0
    spec = _spec(session, journey.campaign_id)
    if outcome.connected:
        journey.status = JourneyStatus.CONNECTED
        journey.accepted_at = now
        add_event(session, journey, "already_connected", now)
        return apply_next(session, journey, follow_up(spec, 1, invited_at=now, now=now), now=now)
    journey.status = JourneyStatus.INVITED
    add_event(
        session,
        journey,
        "invitation_sent",
        now,
        due=due.isoformat(),
        note=outcome.note,
        invitation_id=outcome.invitation_id,
        already_pending=outcome.already_pending,
    )
    return apply_next(session, journey, after_invitation(spec, invited_at=now), now=now)


def checked(
    session: Session, now: datetime, journey_id: int, *, connected: bool
) -> Scheduled | None:
    journey = get_journey(session, journey_id, lock=True)
    assert journey.invited_at is not None
    if connected and journey.accepted_at is None:
        journey.accepted_at = now
        journey.status = JourneyStatus.CONNECTED
        add_event(session, journey, "invitation_accepted", now, seen_by="acceptance check")
    spec = _spec(session, journey.campaign_id)
    step = after_acceptance_check(spec, accepted=connected, invited_at=journey.invited_at, now=now)
    return apply_next(session, journey, step, now=now)


def followed_up(
    session: Session,
    now: datetime,
    journey_id: int,
    number: int,
    outcome: MessageOutcome,
    *,
    due: datetime,
) -> Scheduled | None:
    journey = get_journey(session, journey_id, lock=True)
    assert journey.invited_at is not None
    journey.follow_ups_sent = max(journey.follow_ups_sent, number)
    journey.attempts = 0
    add_event(
        session,
        journey,
        "message_sent",
        now,
        follow_up=number,
        due=due.isoformat(),
        message_id=outcome.message_id,
        chat_id=outcome.chat_id,
        found_after_retry=outcome.already_sent,
    )
    spec = _spec(session, journey.campaign_id)
    return apply_next(
        session,
        journey,
        after_follow_up(spec, number, invited_at=journey.invited_at, now=now),
        now=now,
    )


def recipient_failed(
    session: Session, now: datetime, journey_id: int, *, error: str, code: str | None
) -> None:
    journey = get_journey(session, journey_id, lock=True)
    journey.last_error = error
    end(session, journey, JourneyStatus.FAILED, now=now, reason=error, code=code)
