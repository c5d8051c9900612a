"""Unipile's webhook events: what a delivery says, and what it does in a transaction.

``parse`` turns a body into a typed event (or the name of one we deliberately ignore);
``dispatch`` hands it to ``outreach.replies.service`` inside the caller's transaction,
which ``outreach.replies.intake`` opens for each stored delivery. Unipile adds fields over
time, so the models keep what we need and accept the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from outreach.models import WebhookDelivery
from outreach.replies import service
from outreach.replies.intake import RECEIVED, Delivery, Handler

if TYPE_CHECKING:
    from outreach.runtime import Runtime

# Messaging events we subscribe to or may receive, but act on only for ``message_received``.
OTHER_MESSAGING_EVENTS = frozenset(
    {"message_read", "message_reaction", "message_edited", "message_deleted", "message_delivered"}
)

Outcome = Literal["processed", "duplicate", "ignored", "rejected", "failed"]


class _Lenient(BaseModel):
    """Unipile adds fields over time: keep what we need, accept the rest."""

    model_config = ConfigDict(extra="allow")


class Attendee(_Lenient):
    attendee_provider_id: str | None = None
    attendee_name: str | None = None


class AccountInfo(_Lenient):
    user_id: str | None = None


class MessageReceived(_Lenient):
    """``source: messaging`` (unipile-api.md §4.3); ``is_sender`` is a boolean here."""

    event: Literal["message_received"]
    account_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)
    message: str | None = None
    timestamp: datetime | None = None
    sender: Attendee
    account_info: AccountInfo | None = None
    is_sender: bool | None = None

    @property
    def is_own(self) -> bool:
        """Sent by the account itself (from our API or another device)."""
        own_id = self.account_info.user_id if self.account_info else None
        return bool(self.is_sender) or (
            own_id is not None and self.sender.attendee_provider_id == own_id
        )


class NewRelation(_Lenient):
    """``source: users`` (§4.4): someone became a first-degree relation."""

    event: Literal["new_relation"]
    account_id: str = Field(min_length=1)
    user_provider_id: str = Field(min_length=1)


class AccountStatusBody(_Lenient):
    account_id: str = Field(min_length=1)
    message: str = Field(min_length=1)


class AccountStatusChange(_Lenient):
    """``source: account_status`` (§4.5): ``{"AccountStatus": {account_id, message}}``."""

    account_status: AccountStatusBody = Field(alias="AccountStatus")


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    event: str | None
    note: str | None = None


class Rejected(Exception):
    """A payload we cannot use, with the 4xx it is answered with."""

    def __init__(self, reason: str, *, event: str | None = None, status_code: int = 422) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event = event
        self.status_code = status_code


def admit(body: bytes) -> tuple[Delivery, int]:
    """The delivery to store for an authenticated body, and the status to answer with:
    ``received`` (processed after, once per event), or at once ``ignored`` or ``rejected``."""
    text = stored_text(body)
    try:
        event = parse(body)
    except Rejected as rejected:
        refused = Delivery(rejected.event, "rejected", text, error=rejected.reason)
        return refused, rejected.status_code
    if isinstance(event, str):
        return Delivery(event, "ignored", text, error="event not used"), 200
    if isinstance(event, MessageReceived) and event.is_own:
        return Delivery(event.event, "ignored", text, error="sent by the account itself"), 200
    return Delivery(_name(event), RECEIVED, text, dedupe_key=dedupe_key(event)), 200


def dedupe_key(event: MessageReceived | NewRelation | AccountStatusChange) -> str | None:
    """What makes two deliveries one event: a message's id, a new relation's pair; an
    account's status can change back and forth, so each of those is its own."""
    if isinstance(event, MessageReceived):
        return f"message_received:{event.message_id}"
    if isinstance(event, NewRelation):
        return f"new_relation:{event.account_id}:{event.user_provider_id}"[:300]
    return None


def _name(event: MessageReceived | NewRelation | AccountStatusChange) -> str:
    return "account_status" if isinstance(event, AccountStatusChange) else event.event


def processor(rt: Runtime) -> Handler:
    """What ``intake.process_pending`` does with a stored delivery, in its transaction."""

    def handle(
        session: Session, now: datetime, delivery: WebhookDelivery
    ) -> tuple[str, str | None]:
        result = dispatch(rt, session, now, parse(delivery.payload.encode()))
        return result.outcome, result.note

    return handle


Event = MessageReceived | NewRelation | AccountStatusChange | str
EventModel = TypeVar("EventModel", MessageReceived, NewRelation, AccountStatusChange)


def parse(body: bytes) -> Event:
    """The typed event of a payload, or the name of an event we deliberately ignore."""
    try:
        data: Any = _valid_text(json.loads(body, parse_constant=_no_constant))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected(f"the body is not JSON ({exc})", status_code=400) from exc
    except RecursionError as exc:
        raise Rejected(
            "the body is nested too deep to be a Unipile event", status_code=400
        ) from exc
    if not isinstance(data, dict):
        raise Rejected("the body is not a JSON object", status_code=400)
    event = data.get("event")
    if "AccountStatus" in data:
        return _validate(AccountStatusChange, data, "account_status")
    if event == "message_received":
        return _validate(MessageReceived, data, event)
    if event == "new_relation":
        return _validate(NewRelation, data, event)
    if isinstance(event, str) and event in OTHER_MESSAGING_EVENTS:
        return event
    raise Rejected(f"unknown event {_short(event)!r}", event=_short(event))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _valid_text(value: Any) -> Any:
    """The payload with every lone surrogate and NUL replaced by U+FFFD (no database
    stores the one, PostgreSQL not the other); pairs of escapes are their character."""
    if isinstance(value, str):
        text = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return text.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_valid_text(k): _valid_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_text(v) for v in value]
    return value


def _validate(model: type[EventModel], data: dict[str, Any], event: str) -> EventModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Rejected(_validation_text(exc), event=event) from exc


def dispatch(rt: Runtime, session: Session, now: datetime, event: Event) -> Result:
    """Hand the event to the replies service in ``session``'s transaction; map its answer
    onto a delivery outcome."""
    if isinstance(event, str):
        return Result("ignored", event, "event not used")
    if isinstance(event, MessageReceived):
        if event.is_own:
            return Result("ignored", event.event, "sent by the account itself")
        inbound = service.Inbound(
            account_external_id=event.account_id,
            sender_provider_id=event.sender.attendee_provider_id or "",
            message_id=event.message_id,
            text=event.message or "",
            at=_utc(event.timestamp) if event.timestamp else now,
            source="webhook",
        )
        answer = service.record_inbound(session, now, inbound, clock=rt.clock.now)
        return _result(answer, event.event)
    if isinstance(event, NewRelation):
        answer = service.record_acceptance(session, now, event.account_id, event.user_provider_id)
        return _result(answer, event.event)
    status = event.account_status
    answer = service.record_account_status(session, now, status.account_id, status.message)
    return _result(answer, "account_status")


def _result(answer: str, event: str) -> Result:
    """``processed`` and ``duplicate`` as such; anything else (unknown account…) is ignored."""
    if answer == "processed":
        return Result("processed", event)
    if answer == "duplicate":
        return Result("duplicate", event, "already received")
    return Result("ignored", event, answer)


def _utc(value: datetime) -> datetime:
    """Unipile sends ISO times with ``Z``; a time without a zone is taken as UTC too."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _validation_text(exc: ValidationError) -> str:
    """Pydantic's errors as one short line: ``sender: Field required; …``."""
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
    ]
    return "; ".join(parts)[:500]


def _short(value: object) -> str | None:
    return None if value is None else str(value)[:60]


def event_name(body: bytes) -> str | None:
    try:
        data = _valid_text(json.loads(body))
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        return "account_status" if "AccountStatus" in data else _short(data.get("event"))
    return None


def stored_text(body: bytes) -> str:
    """The body as stored: UTF-8, any bad byte and NUL as U+FFFD."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
