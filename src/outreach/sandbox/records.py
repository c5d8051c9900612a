"""What the simulator answers: plain records, the ids it hands out, and row conversions.

Ids are stable and reversible: an invitation id is its row id offset into LinkedIn's
19-digit range, a message id is ``sbx-msg-<row>``, a chat id is a hash of its account
and person (one 1:1 chat per pair).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.linkedin.provider import Connection
from outreach.sandbox.models import SandboxAction, SandboxInvitation, SandboxMessage
from outreach.sandbox.people import Person, provider_id_for

_INVITATION_ID_BASE = 7_400_000_000_000_000_000  # ids look like LinkedIn's 19 digits
_MESSAGE_ID_PREFIX = "sbx-msg-"
_MAX_ROW_ID = 2**31 - 1  # an INTEGER primary key


@dataclass(frozen=True)
class ProfileView:
    """A person as one account sees them; ``invitation_id`` is that of the open invitation."""

    person: Person
    connection: Connection
    invitation_id: str | None
    invitation_status: str | None  # PENDING | WITHDRAWN, as Unipile spells it


@dataclass(frozen=True)
class InviteOutcome:
    invitation_id: str | None
    created: bool  # False: already pending or connected, nothing was recorded
    connection: Connection


@dataclass(frozen=True)
class InvitationRecord:
    invitation_id: str
    account: str
    provider_id: str
    note: str | None
    sent_at: datetime


@dataclass(frozen=True)
class Acceptance:
    invitation_id: str
    account: str
    provider_id: str
    accepted_at: datetime


@dataclass(frozen=True)
class MessageRecord:
    """A chat message; ``provider_id`` is always the other person, ``is_sender`` ours."""

    message_id: str
    chat_id: str
    account: str
    provider_id: str
    text: str
    at: datetime
    is_sender: bool


@dataclass(frozen=True)
class ChatRecord:
    chat_id: str
    account: str
    provider_id: str
    last_at: datetime
    unread_count: int  # inbound messages after our last one


def chat_id_for(account: str, provider_id: str) -> str:
    """The stable id of the 1:1 chat between an account and a person."""
    digest = hashlib.blake2b(f"{account}\0{provider_id}".encode(), digest_size=12).digest()
    return "sbx" + base64.urlsafe_b64encode(digest).decode()


def own_provider_id(account: str) -> str:
    """The provider id of the sender account itself."""
    return provider_id_for(f"sandbox-sender-{account}")


def invitation_key(row_id: int) -> str:
    return str(_INVITATION_ID_BASE + row_id)


def invitation_row(invitation_id: str) -> int | None:
    """The row id inside an invitation id; ``None`` if it cannot be one of ours."""
    row = int(invitation_id) - _INVITATION_ID_BASE if invitation_id.isdigit() else 0
    return row if 0 < row <= _MAX_ROW_ID else None


def message_key(row_id: int) -> str:
    return f"{_MESSAGE_ID_PREFIX}{row_id}"


def message_row(message_id: str) -> int | None:
    """The row id inside a message id; ``None`` if it cannot be one of ours."""
    number = message_id.removeprefix(_MESSAGE_ID_PREFIX)
    row = int(number) if message_id.startswith(_MESSAGE_ID_PREFIX) and number.isdigit() else 0
    return row if 0 < row <= _MAX_ROW_ID else None


def profile_view(
    person: Person, invitation: SandboxInvitation | None, now: datetime
) -> ProfileView:
    """Connected if they always were or accepted; pending while the invitation is open."""
    if invitation is None or invitation.withdrawn_at is not None:
        if person.already_connected:
            return ProfileView(person, Connection.CONNECTED, None, None)
        withdrawn = "WITHDRAWN" if invitation is not None else None
        return ProfileView(person, Connection.NONE, None, withdrawn)
    key = invitation_key(invitation.id)
    accepted = invitation.accept_at is not None and invitation.accept_at <= now
    if person.already_connected or accepted:
        return ProfileView(person, Connection.CONNECTED, key, None)
    return ProfileView(person, Connection.PENDING, key, "PENDING")


def message_record(row: SandboxMessage) -> MessageRecord:
    return MessageRecord(
        message_id=message_key(row.id),
        chat_id=row.chat,
        account=row.account,
        provider_id=row.person,
        text=row.text,
        at=row.at,
        is_sender=not row.inbound,
    )


def invitation_record(row: SandboxInvitation) -> InvitationRecord:
    return InvitationRecord(invitation_key(row.id), row.account, row.person, row.note, row.sent_at)


def acceptance(row: SandboxInvitation) -> Acceptance:
    assert row.accept_at is not None  # only accepted invitations are queried
    return Acceptance(invitation_key(row.id), row.account, row.person, row.accept_at)


def chat_records(rows: Iterable[SandboxMessage]) -> list[ChatRecord]:
    """Chats from their messages (given oldest first): last time and unread count."""
    chats: dict[str, ChatRecord] = {}
    for row in rows:
        previous = chats.get(row.chat)
        unread = (previous.unread_count + 1 if previous else 1) if row.inbound else 0
        chats[row.chat] = ChatRecord(row.chat, row.account, row.person, row.at, unread)
    return list(chats.values())


# -- queries and new rows ---------------------------------------------------------------


def latest_invitation(session: Session, account: str, person: Person) -> SandboxInvitation | None:
    query = (
        sa.select(SandboxInvitation)
        .where(SandboxInvitation.account == account)
        .where(SandboxInvitation.person == person.provider_id)
        .order_by(SandboxInvitation.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def visible(now: datetime) -> sa.ColumnElement[bool]:
    """Our own messages at once; theirs from their time on."""
    return sa.or_(SandboxMessage.inbound.is_(False), SandboxMessage.at <= now)


def new_action(
    account: str, kind: str, recipient: str, text: str | None, at: datetime
) -> SandboxAction:
    return SandboxAction(account=account, kind=kind, recipient=recipient, text=text, at=at)


def new_message(
    account: str, person: str, text: str, at: datetime, inbound: bool
) -> SandboxMessage:
    chat = chat_id_for(account, person)
    return SandboxMessage(
        account=account,
        person=person,
        chat=chat,
        inbound=inbound,
        text=text,
        at=at,
        delivered=False,
    )
