"""The one port to LinkedIn. Every provider call in the engine goes through this Protocol.

Two implementations: ``SandboxProvider`` (a simulated LinkedIn, the default) and
``UnipileProvider`` (Unipile's v1 REST API over httpx). Errors are split by meaning,
so the engine decides what to do without knowing which provider raised them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class Connection(enum.StrEnum):
    CONNECTED = "connected"  # first-degree relation
    PENDING = "pending"  # our invitation is waiting for an answer
    NONE = "none"


@dataclass(frozen=True)
class Profile:
    provider_id: str
    public_identifier: str | None
    first_name: str | None
    last_name: str | None
    headline: str | None
    connection: Connection
    invitation_id: str | None = None


@dataclass(frozen=True)
class SentInvitation:
    invitation_id: str
    provider_id: str
    sent_at: datetime | None


@dataclass(frozen=True)
class SentMessage:
    chat_id: str | None
    message_id: str | None


@dataclass(frozen=True)
class ChatMessage:
    message_id: str
    sender_provider_id: str
    text: str
    at: datetime
    is_sender: bool  # sent by the account itself


class AccountState(enum.StrEnum):
    OK = "ok"
    CONNECTING = "connecting"
    CREDENTIALS = "credentials"  # must reconnect
    RESTRICTED = "restricted"
    ERROR = "error"


class ProviderError(Exception):
    """Base of every provider failure. ``code`` is the provider's own slug, if any."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientError(ProviderError):
    """Worth retrying later: rate limiting, 5xx, timeouts, provider unreachable."""

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class AccountError(ProviderError):
    """The sender account cannot act: disconnected, restricted, or out of quota.

    ``until_tomorrow`` marks a limit that lifts by itself (back off until the next
    working day); otherwise a person must fix the account and resume it.
    """

    def __init__(self, message: str, *, code: str | None = None, until_tomorrow: bool = False):
        super().__init__(message, code=code)
        self.until_tomorrow = until_tomorrow


class RecipientError(ProviderError):
    """This prospect cannot be reached: invalid, unknown, blocked, not connected."""


class LinkedInProvider(Protocol):
    """What the engine asks of LinkedIn, for one sender account (``account`` = its external id)."""

    def get_profile(self, account: str, identifier: str) -> Profile:
        """Resolve a public identifier, profile URL or provider id; include connection state."""
        ...

    def send_invitation(self, account: str, provider_id: str, note: str | None) -> str | None:
        """Send a connection request; return the invitation id if the provider gives one.

        "Already invited" and "invitation pending" are successes, not errors.
        """
        ...

    def list_sent_invitations(self, account: str) -> list[SentInvitation]: ...

    def withdraw_invitation(self, account: str, invitation_id: str) -> None: ...

    def send_message(self, account: str, provider_id: str, text: str) -> SentMessage:
        """Send into the existing 1:1 chat with ``provider_id``, or start one."""
        ...

    def list_messages(
        self, account: str, provider_id: str, *, since: datetime | None = None
    ) -> list[ChatMessage]:
        """Messages of the 1:1 chat with ``provider_id``, oldest first (empty if no chat)."""
        ...

    def account_state(self, account: str) -> AccountState: ...
