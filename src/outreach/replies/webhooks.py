"""The receiving end of Unipile's webhooks: ``POST /api/webhooks/unipile``.

Unipile signs nothing; it sends back the static ``Unipile-Auth`` header we registered,
so that header is the only proof of origin and nothing is accepted without it. Each
delivery is authenticated, parsed, handed to ``outreach.replies.service`` and stored
in ``webhook_deliveries`` with what became of it, and answered at once (Unipile waits
30 s, then retries). A payload we cannot use is answered with a 4xx and kept as
``rejected``, and so is one refused for its ``Unipile-Auth`` header (its first 64 KB);
a failure on our side answers 500, without its text, so that Unipile delivers it again.
Text that is not valid Unicode (a lone ``\ud800`` escape) is kept with U+FFFD in its
place: a reply must not be lost over one bad character.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outreach.errors import ErrorBody, OutreachError, Unauthorized
from outreach.metrics import WEBHOOK_DELIVERIES
from outreach.models import WebhookDelivery
from outreach.replies import service
from outreach.runtime import Runtime
from outreach.web.deps import body_schema, get_runtime

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])

AUTH_HEADER = "Unipile-Auth"
SOURCE = "unipile"

# Messaging events we subscribe to or may receive, but act on only for ``message_received``.
KEPT_UNAUTHENTICATED = 64 * 1024  # bytes of a refused delivery's body kept
OTHER_MESSAGING_EVENTS = frozenset(
    {"message_read", "message_reaction", "message_edited", "message_deleted", "message_delivered"}
)

Outcome = Literal["processed", "duplicate", "ignored", "rejected", "failed"]


class WebhooksDisabled(OutreachError):
    status_code = 403  # kept as rejected: nothing is lost, and nothing is accepted without a secret
    code = "webhooks_disabled"


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
    status_code: int = 200


class Rejected(Exception):
    """A payload we cannot use, with the 4xx it is answered with."""

    def __init__(self, reason: str, *, event: str | None = None, status_code: int = 422) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event = event
        self.status_code = status_code


def authenticate(expected: str | None, given: str | None) -> None:
    """Compare the ``Unipile-Auth`` header in constant time; refuse all without a secret."""
    if not expected:
        raise WebhooksDisabled(
            "webhooks are disabled: set OUTREACH_WEBHOOK_SECRET and register it with "
            "`outreach unipile webhooks`"
        )
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(f"missing or wrong {AUTH_HEADER} header")


class DeliveryAnswer(BaseModel):
    """What became of a delivery (it is kept in ``webhook_deliveries`` either way)."""

    outcome: Outcome
    detail: str | None = None


@router.post(
    "/unipile",
    summary="Receive a Unipile webhook (message, new relation, account status)",
    response_model=DeliveryAnswer,
    responses={
        400: {"model": DeliveryAnswer, "description": "Not a JSON object"},
        401: {"model": ErrorBody, "description": "No or a wrong `Unipile-Auth` header"},
        413: {"model": ErrorBody, "description": "Over 1 MB"},
        422: {"model": DeliveryAnswer, "description": "An event we cannot use"},
        403: {"model": ErrorBody, "description": "No webhook secret is configured"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": body_schema(MessageReceived | NewRelation | AccountStatusChange)
                }
            },
        }
    },
)
async def receive_unipile(request: Request, rt: Runtime = Depends(get_runtime)) -> JSONResponse:
    """Authenticate, then parse, hand off and store one delivery."""
    body = await request.body()
    secret = rt.settings.webhook_secret
    try:
        authenticate(
            secret.get_secret_value() if secret else None, request.headers.get(AUTH_HEADER)
        )
    except OutreachError as refused:
        result = Result("rejected", _event_name(body), refused.message, refused.status_code)
        await run_in_threadpool(_record, rt, body[:KEPT_UNAUTHENTICATED], result)
        raise
    result = await run_in_threadpool(handle_delivery, rt, body)
    if result.outcome == "failed":  # the reason is in webhook_deliveries, not in the answer
        content: dict[str, str | None] = {"outcome": "failed", "detail": "internal error (logged)"}
    else:
        content = {"outcome": result.outcome, "detail": result.note}
    return JSONResponse(content, status_code=result.status_code)


def handle_delivery(rt: Runtime, body: bytes) -> Result:
    """Parse and dispatch one authenticated delivery, then record it (blocking: DB work)."""
    try:
        result = dispatch(rt, parse(body))
    except Rejected as rejected:
        result = Result("rejected", rejected.event, rejected.reason, rejected.status_code)
    except Exception as exc:  # recorded, and answered 500 so Unipile delivers it again
        log.exception("webhook delivery failed")
        result = Result("failed", _event_name(body), f"{type(exc).__name__}: {exc}", 500)
    _record(rt, body, result)
    WEBHOOK_DELIVERIES.labels(outcome=result.outcome).inc()
    return result


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


def dispatch(rt: Runtime, event: Event) -> Result:
    """Hand the event to the replies service; map its answer onto a delivery outcome."""
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
            at=_utc(event.timestamp) if event.timestamp else rt.clock.now(),
            source="webhook",
        )
        answer = service.handle_inbound(rt, inbound)
        return _result(answer, event.event)
    if isinstance(event, NewRelation):
        answer = service.handle_new_relation(
            rt, account_external_id=event.account_id, provider_id=event.user_provider_id
        )
        return _result(answer, event.event)
    status = event.account_status
    answer = service.handle_account_status(
        rt, account_external_id=status.account_id, status=status.message
    )
    return _result(answer, "account_status")


def _result(answer: str, event: str) -> Result:
    """``processed`` and ``duplicate`` as such; anything else (unknown account…) is ignored."""
    if answer == "processed":
        return Result("processed", event)
    if answer == "duplicate":
        return Result("duplicate", event, "already received")
    return Result("ignored", event, answer)


def _record(rt: Runtime, body: bytes, result: Result) -> None:
    with rt.sessions() as session, session.begin():
        session.add(
            WebhookDelivery(
                received_at=rt.clock.now(),
                source=SOURCE,
                event=result.event,
                outcome=result.outcome,
                error=result.note,
                payload=body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
            )
        )


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


def _event_name(body: bytes) -> str | None:
    try:
        data = _valid_text(json.loads(body))
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        return "account_status" if "AccountStatus" in data else _short(data.get("event"))
    return None
