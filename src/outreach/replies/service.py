"""Inbound events from LinkedIn: replies, accepted invitations, account status.

Reached from the Unipile webhook, from the sandbox's courier, and from the chat check a
follow-up makes before it sends. A message is stored once per provider message id
(insert-or-ignore, whichever path comes first), and a recorded reply ends the journey,
so no later stage sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.accounts import pacing
from outreach.accounts import status as sender_status
from outreach.accounts.repository import by_external_id, lock_sender
from outreach.journeys import lifecycle
from outreach.journeys.repository import journeys_of
from outreach.linkedin.provider import ChatMessage
from outreach.models import InboundMessage, PausedBy
from outreach.runtime import Runtime
from outreach.uow import transaction

ID_LIMIT = 200
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Inbound:
    account_external_id: str
    sender_provider_id: str
    message_id: str
    text: str
    at: datetime
    source: str  # webhook | poll | sandbox

    @classmethod
    def polled(cls, account_external_id: str, message: ChatMessage) -> Inbound:
        """A reply the chat shows (read before a send), perhaps one no webhook told us of."""
        return cls(
            account_external_id,
            message.sender_provider_id,
            message.message_id,
            message.text,
            message.at,
            "poll",
        )


def _store_once(session: Session, row: dict[str, object]) -> int | None:
    """Insert the message unless its id is known; its row's id if this call stored it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(InboundMessage)
        .values(**row)
        .on_conflict_do_nothing(index_elements=[InboundMessage.message_id])
        .returning(InboundMessage.id)
    )
    stored = session.execute(statement).first()
    return None if stored is None else int(stored[0])


def record_inbound(
    session: Session, now: datetime, inbound: Inbound, *, clock: Clock | None = None
) -> str:
    """Store a reply once and stop the matching journey. Returns what happened.

    With ``clock``, the reply is stamped when the journey's lock was had: it may have
    waited for a send in flight, and the reply is recorded after it, not before.
    """
    account = by_external_id(session, inbound.account_external_id)
    if account is None:
        return "unknown_account"
    found = journeys_of(session, account.id, inbound.sender_provider_id)
    journey = lifecycle.lock_journey(session, found[0], sender=False) if found else None
    if clock is not None:
        now = max(now, clock())
    stored = _store_once(
        session,
        {
            "message_id": inbound.message_id[:ID_LIMIT],
            "account_id": account.id,
            "journey_id": journey.id if journey else None,
            "sender_provider_id": inbound.sender_provider_id[:ID_LIMIT],
            "text": inbound.text,
            "at": inbound.at,
            "source": inbound.source,
        },
    )
    if stored is None:
        return "duplicate"
    if journey is None:
        return "no_journey"
    lifecycle.reply_received(
        session,
        journey,
        now=now,
        text=inbound.text,
        message_id=inbound.message_id,
        source=inbound.source,
        inbound_id=stored,
    )
    return "processed"


def record_acceptance(
    session: Session, now: datetime, account_external_id: str, provider_id: str
) -> str:
    account = by_external_id(session, account_external_id)
    if account is None:
        return "unknown_account"
    lock_sender(session, account.id)
    news = False
    for journey_id in journeys_of(session, account.id, provider_id):
        journey = lifecycle.lock_journey(session, journey_id)
        news |= lifecycle.acceptance_seen(session, journey, now=now, seen_by="new_relation webhook")
    return "processed" if news else "no_journey"


HEALTHY = {"OK", "RECONNECTED", "SYNC_SUCCESS", "CREATION_SUCCESS"}
BROKEN = {"CREDENTIALS", "ERROR", "STOPPED", "DELETED", "PERMISSIONS", "CREATION_FAIL"}


def record_account_status(
    session: Session, now: datetime, account_external_id: str, status: str
) -> str:
    """LinkedIn says how the account is: pause it, or lift a pause that LinkedIn caused."""
    found = by_external_id(session, account_external_id)
    if found is None:
        return "unknown_account"
    account = lock_sender(session, found.id)
    status = status.upper()
    if status in BROKEN:
        reason = sender_status.plain_reason(status, f"account status {status}")
        sender_status.pause(account, by=PausedBy.PROVIDER, reason=reason)
        why = sender_status.why_paused(account)
        lifecycle.hold_all(session, now, why=why, account_id=account.id)
        return "processed"
    if status in HEALTHY and sender_status.provider_ok(account):
        pacing.restart_warmup(account, pacing.working_hours(account).local_day(now))
        pacing.wake(account, now)
        lifecycle.release_held(session, now, account_id=account.id)
        return "processed"
    return "ignored"


P = ParamSpec("P")
R = TypeVar("R")


def _in_tx(
    rt: Runtime,
    fn: Callable[Concatenate[Session, datetime, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """Outside a workflow (a webhook, the sandbox courier): the edge's unit of work."""
    with transaction(rt) as session:
        return fn(session, rt.clock.now(), *args, **kwargs)


def handle_inbound(rt: Runtime, inbound: Inbound) -> str:
    return _in_tx(rt, record_inbound, inbound, clock=rt.clock.now)


def handle_new_relation(rt: Runtime, *, account_external_id: str, provider_id: str) -> str:
    return _in_tx(rt, record_acceptance, account_external_id, provider_id)


def handle_account_status(rt: Runtime, *, account_external_id: str, status: str) -> str:
    return _in_tx(rt, record_account_status, account_external_id, status)
