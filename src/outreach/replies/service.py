"""Inbound events from LinkedIn: replies, accepted invitations, account status.

Reached from the Unipile webhook, from the sandbox's own delivery, and from the
chat check a follow-up makes before it sends. Each message id is stored once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.campaigns.sequence import NextStep, SequenceSpec, Stage, StageRef
from outreach.journeys.repository import (
    PROVIDER_PAUSE,
    Scheduled,
    add_event,
    apply_next,
    end,
    release_held,
)
from outreach.models import (
    TERMINAL_STATUSES,
    Account,
    AccountStatus,
    Campaign,
    InboundMessage,
    Journey,
    JourneyStatus,
    Prospect,
)
from outreach.runtime import Runtime


@dataclass(frozen=True)
class Inbound:
    account_external_id: str
    sender_provider_id: str
    message_id: str
    text: str
    at: datetime
    source: str  # webhook | poll | sandbox


def _account(session: Session, external_id: str) -> Account | None:
    return session.execute(
        sa.select(Account).where(Account.external_id == external_id)
    ).scalar_one_or_none()


def _journeys_of(session: Session, account_id: int, provider_id: str) -> list[Journey]:
    """The sender's journeys with this person, open ones first."""
    query = (
        sa.select(Journey)
        .join(Prospect, Prospect.id == Journey.prospect_id)
        .where(Journey.account_id == account_id, Prospect.provider_id == provider_id)
        .order_by(Journey.status.in_(TERMINAL_STATUSES), Journey.id.desc())
    )
    return list(session.execute(query).unique().scalars())


def record_inbound(session: Session, now: datetime, inbound: Inbound) -> str:
    """Store a reply once and stop the matching journey. Returns what happened."""
    account = _account(session, inbound.account_external_id)
    if account is None:
        return "unknown_account"
    seen = session.execute(
        sa.select(InboundMessage.id).where(InboundMessage.message_id == inbound.message_id)
    ).scalar_one_or_none()
    if seen is not None:
        return "duplicate"
    journeys = _journeys_of(session, account.id, inbound.sender_provider_id)
    journey = journeys[0] if journeys else None
    session.add(
        InboundMessage(
            message_id=inbound.message_id,
            account_id=account.id,
            journey_id=journey.id if journey else None,
            sender_provider_id=inbound.sender_provider_id,
            text=inbound.text,
            at=inbound.at,
            source=inbound.source,
        )
    )
    if journey is None:
        return "no_journey"
    add_event(
        session,
        journey,
        "reply_received",
        now,
        text=inbound.text,
        message_id=inbound.message_id,
        source=inbound.source,
    )
    if journey.status not in TERMINAL_STATUSES:
        journey.replied_at = now
        end(session, journey, JourneyStatus.REPLIED, now=now, reason="prospect replied")
    elif journey.status is JourneyStatus.COMPLETED:
        # Answered after the last follow-up: still the outcome that matters.
        journey.replied_at = now
        end(session, journey, JourneyStatus.REPLIED, now=now, reason="replied after the sequence")
    return "processed"


def record_acceptance(
    session: Session, now: datetime, account_external_id: str, provider_id: str
) -> tuple[str, list[Scheduled]]:
    account = _account(session, account_external_id)
    if account is None:
        return "unknown_account", []
    scheduled: list[Scheduled] = []
    journeys = [
        j
        for j in _journeys_of(session, account.id, provider_id)
        if j.status is JourneyStatus.INVITED
    ]
    for journey in journeys:
        journey.status = JourneyStatus.CONNECTED
        journey.accepted_at = now
        add_event(session, journey, "invitation_accepted", now, seen_by="new_relation webhook")
        campaign = session.get(Campaign, journey.campaign_id)
        assert campaign is not None and journey.invited_at is not None
        spec = SequenceSpec.model_validate(campaign.sequence)
        if spec.follow_up_on_acceptance and not journey.held:
            # As soon as the acceptance is seen, not on follow-up 1's day of the sequence.
            step = NextStep(StageRef(Stage.FOLLOW_UP, 1), now)
            if (nxt := apply_next(session, journey, step, now=now)) is not None:
                scheduled.append(nxt)
    return ("processed" if journeys else "no_journey"), scheduled


HEALTHY = {"OK", "RECONNECTED", "SYNC_SUCCESS", "CREATION_SUCCESS"}
BROKEN = {"CREDENTIALS", "ERROR", "STOPPED", "DELETED", "PERMISSIONS", "CREATION_FAIL"}


def record_account_status(
    session: Session, now: datetime, account_external_id: str, status: str
) -> tuple[str, list[Scheduled]]:
    """LinkedIn says how the account is: pause it, or lift a pause that LinkedIn caused."""
    account = _account(session, account_external_id)
    if account is None:
        return "unknown_account", []
    status = status.upper()
    provider_paused = (account.status_reason or "").startswith(PROVIDER_PAUSE)
    person_paused = account.status is AccountStatus.PAUSED and not provider_paused
    if status in BROKEN:
        if not person_paused:  # a person's pause, and its reason, stay theirs to lift
            account.status = AccountStatus.PAUSED
            account.status_reason = f"{PROVIDER_PAUSE} account status {status}"
        return "processed", []
    if status in HEALTHY and account.status is AccountStatus.PAUSED and provider_paused:
        account.status = AccountStatus.ACTIVE
        account.status_reason = None
        return "processed", release_held(session, now=now, account_id=account.id)
    return "ignored", []


P = ParamSpec("P")
R = TypeVar("R")


def _in_tx(
    rt: Runtime,
    fn: Callable[Concatenate[Session, datetime, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """Outside a workflow (a webhook, the sandbox courier): an ordinary transaction."""
    with rt.sessions() as session, session.begin():
        return fn(session, rt.clock.now(), *args, **kwargs)


def handle_inbound_message(
    rt: Runtime,
    *,
    account_external_id: str,
    sender_provider_id: str,
    message_id: str,
    text: str,
    at: datetime,
    source: str,
) -> str:
    inbound = Inbound(account_external_id, sender_provider_id, message_id, text, at, source)
    try:
        return _in_tx(rt, record_inbound, inbound)
    except IntegrityError:  # the same message id, delivered twice at once
        return "duplicate"


def handle_new_relation(rt: Runtime, *, account_external_id: str, provider_id: str) -> str:
    from outreach.engine import enqueue_all

    outcome, scheduled = _in_tx(rt, record_acceptance, account_external_id, provider_id)
    enqueue_all(scheduled)
    return outcome


def handle_account_status(rt: Runtime, *, account_external_id: str, status: str) -> str:
    from outreach.engine import enqueue_all

    outcome, scheduled = _in_tx(rt, record_account_status, account_external_id, status)
    enqueue_all(scheduled)
    return outcome
