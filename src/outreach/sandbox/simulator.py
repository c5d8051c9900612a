"""A simulated LinkedIn: seeded people who accept, reply and fail like real ones.

``Simulator`` keeps its state in the database (``Sandbox*`` tables) and derives
everything else from time: an invitation is accepted once its ``accept_at`` has passed,
a reply becomes visible at its ``at``. Who accepts or replies, and when, comes from
``people.make_person`` (seeded, reproducible). Injected faults (transient errors, a
disconnected or restricted account, an invalid recipient, a limit) live in memory, per
instance. ``SandboxProvider`` puts the simulator behind the ``LinkedInProvider`` port;
``fake_unipile`` serves the same simulator as Unipile's HTTP API.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from outreach.config import Settings
from outreach.db import transaction
from outreach.linkedin.provider import (
    AccountState,
    ChatMessage,
    Connection,
    Profile,
    RecipientError,
    SentInvitation,
    SentMessage,
)
from outreach.sandbox.faults import Faults
from outreach.sandbox.models import SandboxAction, SandboxInvitation, SandboxMessage
from outreach.sandbox.people import Person, make_person, slug_of
from outreach.sandbox.records import (
    Acceptance,
    ChatRecord,
    InvitationRecord,
    InviteOutcome,
    MessageRecord,
    ProfileView,
    acceptance,
    chat_id_for,
    chat_records,
    invitation_key,
    invitation_record,
    invitation_row,
    latest_invitation,
    message_key,
    message_record,
    message_row,
    new_action,
    new_message,
    own_provider_id,
    profile_view,
    visible,
)

NOTE_LIMIT = 300  # LinkedIn's (and Unipile's) maximum invitation note length


@dataclass(frozen=True)
class SandboxBehaviour:
    """How the simulated population behaves; every rate is a probability per person/call."""

    seed: int = 7
    accept_rate: float = 0.6
    reply_rate: float = 0.25
    error_rate: float = 0.02
    accept_delay_hours: tuple[float, float] = (2.0, 40.0)
    reply_delay_hours: tuple[float, float] = (1.0, 30.0)
    already_connected_rate: float = 0.05
    # Real seconds a sending call takes to answer after LinkedIn has acted: the window
    # in which a crash leaves the action done but unrecorded by the engine.
    latency_seconds: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxBehaviour:
        return cls(
            seed=settings.sandbox_seed,
            accept_rate=settings.sandbox_accept_rate,
            reply_rate=settings.sandbox_reply_rate,
            error_rate=settings.sandbox_error_rate,
            accept_delay_hours=settings.sandbox_accept_delay_hours,
            reply_delay_hours=settings.sandbox_reply_delay_hours,
            latency_seconds=settings.sandbox_latency_seconds,
        )


class Simulator:
    """The simulated LinkedIn. Every method runs its own short transaction."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        now: Callable[[], datetime],
        behaviour: SandboxBehaviour | None = None,
    ) -> None:
        self.behaviour = behaviour or SandboxBehaviour()
        self.now = now
        self._factory = factory
        self._faults = Faults(random.Random(self.behaviour.seed), self.behaviour.error_rate)

    # -- people ------------------------------------------------------------------------

    def person(self, identifier: str) -> Person:
        """The person behind a profile URL, public identifier or provider id."""
        slug = slug_of(identifier)
        if slug is None:
            raise RecipientError(
                f"sandbox: no such profile {identifier!r}", code="resource_not_found"
            )
        return make_person(slug, self.behaviour)

    def own_profile(self, account: str) -> Person:
        """The sender account as a person; meets the account's faults like any call."""
        self._faults.check(account)
        return self.person(own_provider_id(account))

    def _enter(self, account: str, identifier: str, *, sending: bool = False) -> Person:
        """Meet the injected faults of a call about one person, then resolve them."""
        self._faults.check(account, slug_of(identifier), sending=sending)
        return self.person(identifier)

    # -- what an account does ----------------------------------------------------------

    def profile(self, account: str, identifier: str) -> ProfileView:
        person = self._enter(account, identifier)
        with transaction(self._factory) as session:
            return profile_view(person, latest_invitation(session, account, person), self.now())

    def invite(self, account: str, provider_id: str, note: str | None) -> InviteOutcome:
        """Send an invitation; an open one (pending or accepted) is returned, not repeated."""
        if note is not None and len(note) > NOTE_LIMIT:
            raise ValueError(f"an invitation note has at most {NOTE_LIMIT} characters")
        person = self._enter(account, provider_id, sending=True)
        try:
            return self._invite(account, person, note)
        except IntegrityError:  # a concurrent invite of the same person won the race
            return self._invite(account, person, note)

    def _invite(self, account: str, person: Person, note: str | None) -> InviteOutcome:
        now = self.now()
        with transaction(self._factory) as session:
            view = profile_view(person, latest_invitation(session, account, person), now)
            if view.connection is not Connection.NONE:
                return InviteOutcome(view.invitation_id, created=False, connection=view.connection)
            invitation = SandboxInvitation(
                account=account,
                person=person.provider_id,
                note=note,
                sent_at=now,
                accept_at=now + person.accept_delay if person.accepts else None,
            )
            session.add(invitation)
            session.add(new_action(account, "invitation", person.provider_id, note, now))
            session.flush()
            return InviteOutcome(invitation_key(invitation.id), True, Connection.PENDING)

    def pending_invitations(self, account: str) -> list[InvitationRecord]:
        """Invitations still waiting for an answer, newest first."""
        self._faults.check(account)
        now = self.now()
        query = (
            sa.select(SandboxInvitation)
            .where(SandboxInvitation.account == account, SandboxInvitation.withdrawn_at.is_(None))
            .where(sa.or_(SandboxInvitation.accept_at.is_(None), SandboxInvitation.accept_at > now))
            .order_by(SandboxInvitation.sent_at.desc(), SandboxInvitation.id.desc())
        )
        with transaction(self._factory) as session:
            return [invitation_record(row) for row in session.scalars(query)]

    def withdraw(self, account: str, invitation_id: str) -> None:
        """Withdraw a pending invitation; withdrawing it twice is fine."""
        self._faults.check(account)
        now = self.now()
        row_id = invitation_row(invitation_id)
        with transaction(self._factory) as session:
            row = session.get(SandboxInvitation, row_id) if row_id is not None else None
            accepted = row is not None and row.accept_at is not None and row.accept_at <= now
            if row is None or row.account != account or accepted:
                raise RecipientError(
                    f"sandbox: no pending invitation {invitation_id}", code="resource_not_found"
                )
            if row.withdrawn_at is None:
                row.withdrawn_at, row.accept_at = now, None
                session.add(new_action(account, "withdrawal", row.person, None, now))

    def send(self, account: str, provider_id: str, text: str) -> MessageRecord:
        """Write to a connection; their reply is scheduled if this is the message they answer."""
        person = self._enter(account, provider_id, sending=True)
        now = self.now()
        with transaction(self._factory) as session:
            view = profile_view(person, latest_invitation(session, account, person), now)
            if view.connection is not Connection.CONNECTED:
                raise RecipientError(
                    f"sandbox: {person.slug} is not a connection of {account}",
                    code="no_connection_with_recipient",
                )
            session.add(new_action(account, "message", person.provider_id, text, now))
            message = new_message(account, person.provider_id, text, now, inbound=False)
            session.add(message)
            session.flush()
            self._schedule_reply(session, person, message)
            return message_record(message)

    def _schedule_reply(self, session: Session, person: Person, sent: SandboxMessage) -> None:
        """The person answers the k-th message they get, once, if k is their number."""
        if person.replies_after is None:
            return
        query = (
            sa.select(SandboxMessage.inbound, sa.func.count())
            .where(SandboxMessage.chat == sent.chat)
            .group_by(SandboxMessage.inbound)
        )
        counts = {inbound: count for inbound, count in session.execute(query)}
        if counts.get(False, 0) == person.replies_after and not counts.get(True):
            at = sent.at + person.reply_delay
            reply = person.reply_text
            session.add(new_message(sent.account, person.provider_id, reply, at, inbound=True))

    def messages(
        self, account: str, provider_id: str, *, since: datetime | None = None
    ) -> list[MessageRecord]:
        """The visible messages of the chat with a person, oldest first."""
        person = self._enter(account, provider_id)
        return self.chat_messages(chat_id_for(account, person.provider_id), since=since)

    def chat_messages(self, chat_id: str, *, since: datetime | None = None) -> list[MessageRecord]:
        query = (
            sa.select(SandboxMessage)
            .where(SandboxMessage.chat == chat_id, visible(self.now()))
            .order_by(SandboxMessage.at, SandboxMessage.id)
        )
        if since is not None:
            query = query.where(SandboxMessage.at >= since)
        with transaction(self._factory) as session:
            return [message_record(row) for row in session.scalars(query)]

    def chats(self, accounts: Collection[str] | None = None) -> list[ChatRecord]:
        """Chats with at least one visible message, most recent first."""
        for account in accounts if accounts is not None else [None]:
            self._faults.check(account)
        query = sa.select(SandboxMessage).where(visible(self.now()))
        if accounts is not None:
            query = query.where(SandboxMessage.account.in_(accounts))
        with transaction(self._factory) as session:
            rows = session.scalars(query.order_by(SandboxMessage.at, SandboxMessage.id)).all()
        return sorted(chat_records(rows), key=lambda chat: chat.last_at, reverse=True)

    def chat(self, chat_id: str) -> ChatRecord | None:
        """One chat by id, or ``None``; meets the faults of the chat's account."""
        query = (
            sa.select(SandboxMessage)
            .where(SandboxMessage.chat == chat_id, visible(self.now()))
            .order_by(SandboxMessage.at, SandboxMessage.id)
        )
        with transaction(self._factory) as session:
            rows = session.scalars(query).all()
        if not rows:
            return None
        self._faults.check(rows[0].account)
        return chat_records(rows)[0]

    def relations(self, account: str) -> list[Acceptance]:
        """People who accepted an invitation of this account, newest first."""
        self._faults.check(account)
        accepted = SandboxInvitation.accept_at <= self.now()
        query = (
            sa.select(SandboxInvitation)
            .where(SandboxInvitation.account == account, accepted)
            .order_by(SandboxInvitation.accept_at.desc())
        )
        with transaction(self._factory) as session:
            return [acceptance(row) for row in session.scalars(query)]

    def status(self, account: str) -> AccountState:
        """The account's state from injected faults; never fails."""
        if account in self._faults.disconnected:
            return AccountState.CREDENTIALS
        if account in self._faults.restricted:
            return AccountState.RESTRICTED
        return AccountState.OK

    def account_state(self, account: str) -> AccountState:
        self._faults.check(None)
        return self.status(account)

    # -- fault injection ---------------------------------------------------------------

    def inject_transient(self, rate: float | None) -> None:
        """Fail this share of calls with a transient error; ``None``: the behaviour's rate."""
        self._faults.transient_rate = rate

    def disconnect(self, account: str) -> None:
        self._faults.disconnected.add(account)

    def reconnect(self, account: str) -> None:
        self._faults.disconnected.discard(account)

    def restrict(self, account: str) -> None:
        self._faults.restricted.add(account)

    def invalid_recipient(self, identifier: str) -> None:
        slug = slug_of(identifier)
        if slug is not None:
            self._faults.invalid.add(slug)

    def limit(self, account: str, code: str = "limit_exceeded") -> None:
        """Refuse the account's invitations and messages with ``code`` until reset."""
        self._faults.limits[account] = code

    def reset_errors(self) -> None:
        """Back to the behaviour's own error rate, with no account or recipient fault."""
        self._faults.reset()

    # -- steering, for tests and demos (never fails) -----------------------------------

    def accept(self, account: str, provider_id: str) -> str | None:
        """Accept the open invitation to this person now; its id, or ``None`` if there is none."""
        person = self.person(provider_id)
        now = self.now()
        with transaction(self._factory) as session:
            row = latest_invitation(session, account, person)
            if row is None or row.withdrawn_at is not None:
                return None
            if row.accept_at is None or row.accept_at > now:
                row.accept_at = now
            return invitation_key(row.id)

    def reply(self, account: str, provider_id: str, text: str | None = None) -> str:
        """Make the person write to the account now; the new message's id."""
        person = self.person(provider_id)
        message = new_message(
            account, person.provider_id, text or person.reply_text, self.now(), True
        )
        with transaction(self._factory) as session:
            session.add(message)
            session.flush()
            return message_key(message.id)

    def log(self, account: str | None = None) -> list[dict[str, Any]]:
        """Every action the simulator received, oldest first."""
        query = sa.select(SandboxAction).order_by(SandboxAction.at, SandboxAction.id)
        if account is not None:
            query = query.where(SandboxAction.account == account)
        with transaction(self._factory) as session:
            rows = session.scalars(query).all()
        return [
            {
                "at": row.at,
                "account": row.account,
                "kind": row.kind,
                "recipient": row.recipient,
                "public_identifier": slug_of(row.recipient),
                "text": row.text,
            }
            for row in rows
        ]

    # -- delivery of events (webhooks, polling) ----------------------------------------

    def due_inbound(self, limit: int = 100) -> list[MessageRecord]:
        """Replies that became visible and were not delivered yet, oldest first."""
        return self.due_messages(limit, inbound_only=True)

    def due_messages(
        self, limit: int = 100, *, inbound_only: bool = False, exclude: Collection[str] = ()
    ) -> list[MessageRecord]:
        """Undelivered visible messages, both ways unless ``inbound_only``."""
        query = (
            sa.select(SandboxMessage)
            .where(SandboxMessage.delivered.is_(False), SandboxMessage.at <= self.now())
            .order_by(SandboxMessage.at, SandboxMessage.id)
            .limit(limit)
        )
        if inbound_only:
            query = query.where(SandboxMessage.inbound.is_(True))
        if exclude:
            query = query.where(SandboxMessage.account.not_in(exclude))
        with transaction(self._factory) as session:
            return [message_record(row) for row in session.scalars(query)]

    def next_inbound_at(self) -> datetime | None:
        """When the next undelivered reply becomes visible (the timekeeper waits for it)."""
        query = sa.select(sa.func.min(SandboxMessage.at)).where(
            SandboxMessage.delivered.is_(False), SandboxMessage.inbound.is_(True)
        )
        with self._factory() as session:
            at: datetime | None = session.execute(query).scalar_one_or_none()
        return at

    def mark_delivered(self, message_ids: Iterable[str]) -> None:
        rows = [row for row in map(message_row, message_ids) if row is not None]
        if rows:
            with transaction(self._factory) as session:
                session.execute(
                    sa.update(SandboxMessage)
                    .where(SandboxMessage.id.in_(rows))
                    .values(delivered=True)
                )

    def due_acceptances(
        self, *, delay: timedelta = timedelta(0), limit: int = 100
    ) -> list[Acceptance]:
        """Acceptances at least ``delay`` old that were not announced yet, oldest first."""
        query = (
            sa.select(SandboxInvitation)
            .where(SandboxInvitation.announced.is_(False))
            .where(SandboxInvitation.accept_at <= self.now() - delay)
            .order_by(SandboxInvitation.accept_at, SandboxInvitation.id)
            .limit(limit)
        )
        with transaction(self._factory) as session:
            return [acceptance(row) for row in session.scalars(query)]

    def mark_announced(self, invitation_ids: Iterable[str]) -> None:
        rows = [row for row in map(invitation_row, invitation_ids) if row is not None]
        if rows:
            with transaction(self._factory) as session:
                session.execute(
                    sa.update(SandboxInvitation)
                    .where(SandboxInvitation.id.in_(rows))
                    .values(announced=True)
                )


class SandboxProvider:
    """The ``LinkedInProvider`` port over a ``Simulator``: the engine's default LinkedIn."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def get_profile(self, account: str, identifier: str) -> Profile:
        view = self.simulator.profile(account, identifier)
        person = view.person
        return Profile(
            provider_id=person.provider_id,
            public_identifier=person.slug,
            first_name=person.first_name,
            last_name=person.last_name,
            headline=person.headline,
            connection=view.connection,
            invitation_id=view.invitation_id,
        )

    def send_invitation(self, account: str, provider_id: str, note: str | None) -> str | None:
        invitation_id = self.simulator.invite(account, provider_id, note).invitation_id
        self._answer()
        return invitation_id

    def list_sent_invitations(self, account: str) -> list[SentInvitation]:
        return [
            SentInvitation(row.invitation_id, row.provider_id, row.sent_at)
            for row in self.simulator.pending_invitations(account)
        ]

    def withdraw_invitation(self, account: str, invitation_id: str) -> None:
        """Withdraw; an invitation that is gone (accepted, unknown) counts as withdrawn."""
        try:
            self.simulator.withdraw(account, invitation_id)
        except RecipientError as error:
            if error.code != "resource_not_found":
                raise

    def send_message(self, account: str, provider_id: str, text: str) -> SentMessage:
        message = self.simulator.send(account, provider_id, text)
        self._answer()
        return SentMessage(chat_id=message.chat_id, message_id=message.message_id)

    def _answer(self) -> None:
        if self.simulator.behaviour.latency_seconds > 0:
            time.sleep(self.simulator.behaviour.latency_seconds)

    def list_messages(
        self, account: str, provider_id: str, *, since: datetime | None = None
    ) -> list[ChatMessage]:
        own = own_provider_id(account)
        return [
            ChatMessage(
                message_id=row.message_id,
                sender_provider_id=own if row.is_sender else row.provider_id,
                text=row.text,
                at=row.at,
                is_sender=row.is_sender,
            )
            for row in self.simulator.messages(account, provider_id, since=since)
        ]

    def account_state(self, account: str) -> AccountState:
        return self.simulator.account_state(account)
