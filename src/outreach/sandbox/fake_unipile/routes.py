"""The routes of the fake Unipile: ``/api/v1/...`` (API key required) and ``/_sandbox/...``.

Each route parses its input, asks the ``Simulator`` and renders Unipile's JSON
(``fake_unipile_payloads``). Simulator errors become Unipile's error bodies in the
handlers of ``fake_unipile``. The steering routes under ``/_sandbox`` need no API key:
the fake server is a local test tool and they are how tests and demos drive it.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from outreach.linkedin.provider import Connection
from outreach.sandbox.fake_unipile import payloads
from outreach.sandbox.fake_unipile.payloads import JSONObject
from outreach.sandbox.fake_unipile.webhooks import WebhookRegistry, parse_webhook
from outreach.sandbox.people import PROVIDER_ID_PREFIX
from outreach.sandbox.records import ChatRecord, own_provider_id
from outreach.sandbox.simulator import NOTE_LIMIT, Simulator


class UnipileError(Exception):
    """An error answered with Unipile's body ``{status, type: errors/<code>, title, detail}``."""

    def __init__(self, status: int, code: str, title: str, detail: str | None = None) -> None:
        super().__init__(f"{status} {code}: {title}")
        self.status, self.code, self.title, self.detail = status, code, title, detail


@dataclass
class FakeUnipile:
    """What the routes share: the simulator, the key, the accounts and the webhooks."""

    simulator: Simulator
    api_key: str
    account_ids: list[str]
    created_at: datetime
    webhooks: WebhookRegistry
    answers_to_lose: int = 0  # the next invitations or messages whose answer is lost
    answers_to_slow: int = 0  # the next ones answered only after ``slow_seconds``
    slow_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def known(self, account_id: str) -> str:
        if account_id not in self.account_ids:
            raise UnipileError(
                404, "resource_not_found", "Resource not found.", "Account not found"
            )
        return account_id

    def lose_answers(self, count: int) -> None:
        """Lose the answers to the next ``count`` invitations or messages (0: none)."""
        with self._lock:
            self.answers_to_lose = count

    def slow_answers(self, count: int, seconds: float) -> None:
        """Answer the next ``count`` invitations or messages ``seconds`` after performing
        them (a caller killed meanwhile never learns it went through)."""
        with self._lock:
            self.answers_to_slow, self.slow_seconds = count, seconds

    def answered(self, body: JSONObject) -> JSONObject:
        """The answer to an action just performed, unless it is one to lose on the way back.

        A lost answer is a 504 ``request_timeout`` for an invitation or message that
        LinkedIn did receive: the caller cannot tell, and must check before acting again.
        A slow one comes, later.
        """
        with self._lock:
            lose = self.answers_to_lose > 0
            if lose:
                self.answers_to_lose -= 1
            slow = self.slow_seconds if self.answers_to_slow > 0 else 0.0
            if slow:
                self.answers_to_slow -= 1
        if slow:
            time.sleep(slow)
        if lose:
            raise UnipileError(
                504, "request_timeout", "Request timeout", "The provider did not answer in time."
            )
        return body


def _fake(request: Request) -> FakeUnipile:
    return cast(FakeUnipile, request.app.state.fake)


def _require_api_key(request: Request) -> None:
    given = request.headers.get("x-api-key", "")
    if not hmac.compare_digest(given.encode(), _fake(request).api_key.encode()):
        raise UnipileError(
            401, "missing_credentials", "Missing credentials", "Some credentials are necessary."
        )


Fake = Annotated[FakeUnipile, Depends(_fake)]
AccountId = Annotated[str, Query(min_length=1)]
Cursor = Annotated[str | None, Query(min_length=1)]
api = APIRouter(prefix="/api/v1", dependencies=[Depends(_require_api_key)])
steering = APIRouter(prefix="/_sandbox")


def _page(items: list[JSONObject], kind: str, limit: int, cursor: str | None) -> JSONObject:
    try:
        return payloads.page(items, kind, limit, cursor)
    except ValueError as exc:
        raise UnipileError(400, "invalid_parameters", "Invalid parameters", str(exc)) from exc


# -- accounts and users ------------------------------------------------------------------


@api.get("/accounts")
def list_accounts(
    fake: Fake, limit: Annotated[int, Query(ge=1, le=250)] = 100, cursor: Cursor = None
) -> JSONObject:
    items = [_account(fake, account_id) for account_id in fake.account_ids]
    return _page(items, "AccountList", limit, cursor)


@api.get("/accounts/{account_id}")
def get_account(fake: Fake, account_id: str) -> JSONObject:
    return _account(fake, fake.known(account_id))


def _account(fake: FakeUnipile, account_id: str) -> JSONObject:
    own = fake.simulator.person(own_provider_id(account_id))
    state = fake.simulator.status(account_id)
    return payloads.account(account_id, state, own, fake.created_at)


@api.get("/users/me")
def get_own_profile(fake: Fake, account_id: AccountId) -> JSONObject:
    return payloads.own_profile(fake.simulator.own_profile(fake.known(account_id)))


@api.get("/users/relations")
def list_relations(
    fake: Fake,
    account_id: AccountId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
    name_filter: Annotated[str | None, Query(alias="filter")] = None,
) -> JSONObject:
    simulator = fake.simulator
    people = [
        (acceptance, simulator.person(acceptance.provider_id))
        for acceptance in simulator.relations(fake.known(account_id))
    ]
    wanted = (name_filter or "").lower()
    items = [payloads.relation(a, p) for a, p in people if wanted in p.full_name.lower()]
    return _page(items, "UserRelationsList", limit, cursor)


@api.get("/users/invite/sent")
def list_sent_invitations(
    fake: Fake,
    account_id: AccountId,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    cursor: Cursor = None,
) -> JSONObject:
    simulator, now = fake.simulator, fake.simulator.now()
    items = [
        payloads.sent_invitation(record, simulator.person(record.provider_id), now)
        for record in simulator.pending_invitations(fake.known(account_id))
    ]
    return _page(items, "InvitationList", limit, cursor)


@api.delete("/users/invite/sent/{invitation_id}")
def cancel_invitation(fake: Fake, invitation_id: str, account_id: AccountId) -> JSONObject:
    fake.simulator.withdraw(fake.known(account_id), invitation_id)
    return {"object": "InvitationCanceled"}


@api.post("/users/invite")
def send_invitation(fake: Fake, body: Annotated[dict[str, Any], Body()]) -> JSONObject:
    account_id, provider_id = body.get("account_id"), body.get("provider_id")
    note = body.get("message")
    if not isinstance(account_id, str) or not isinstance(provider_id, str):
        raise UnipileError(
            400, "missing_parameters", "Missing parameters", "account_id, provider_id"
        )
    if note is not None and (not isinstance(note, str) or len(note) > NOTE_LIMIT):
        raise UnipileError(
            400, "too_many_characters", "Too many characters", f"message: max {NOTE_LIMIT}"
        )
    if not provider_id.startswith(PROVIDER_ID_PREFIX):  # Unipile wants the internal id
        raise UnipileError(422, "invalid_recipient", "Invalid recipient", "use the provider_id")
    outcome = fake.simulator.invite(fake.known(account_id), provider_id, note)
    if outcome.created and outcome.invitation_id is not None:
        return fake.answered(
            {"object": "UserInvitationSent", "invitation_id": outcome.invitation_id}
        )
    if outcome.connection is Connection.PENDING:
        raise UnipileError(
            422, "already_invited_recently", "Should delay new invitation to this recipient"
        )
    raise UnipileError(422, "action_already_performed", "Action already performed", "connected")


@api.get("/users/{identifier}")
def get_profile(fake: Fake, identifier: str, account_id: AccountId) -> JSONObject:
    return payloads.user_profile(fake.simulator.profile(fake.known(account_id), identifier))


# -- chats and messages ------------------------------------------------------------------


@dataclass(frozen=True)
class _ChatInput:
    account_id: str | None
    attendees_ids: list[str]
    text: str | None


async def _chat_input(request: Request) -> _ChatInput:
    """A chat body, multipart (the spec) or JSON (what many clients send)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            data = await request.json()
        except ValueError as exc:
            raise UnipileError(400, "malformed_request", "Malformed request") from exc
        if not isinstance(data, dict):
            raise UnipileError(400, "malformed_request", "Malformed request")
        attendees = data.get("attendees_ids") or []
        attendees = [attendees] if isinstance(attendees, str) else attendees
        return _ChatInput(
            _text(data.get("account_id")), [str(a) for a in attendees], _text(data.get("text"))
        )
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form() as form:
            attendees = [
                value
                for key in ("attendees_ids", "attendees_ids[]")
                for value in form.getlist(key)
                if isinstance(value, str)
            ]
            return _ChatInput(_text(form.get("account_id")), attendees, _text(form.get("text")))
    raise UnipileError(415, "unsupported_media_type", "Unsupported media type", content_type)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


ChatInput = Annotated[_ChatInput, Depends(_chat_input)]


@api.get("/chats")
def list_chats(
    fake: Fake,
    account_id: str | None = None,
    account_type: str | None = None,
    unread: bool | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=250)] = 100,
    cursor: Cursor = None,
) -> JSONObject:
    accounts = account_id.split(",") if account_id else fake.account_ids
    chats = fake.simulator.chats(accounts) if account_type in (None, "LINKEDIN") else []
    kept = [
        chat
        for chat in chats
        if (unread is None or (chat.unread_count > 0) == unread) and _within(chat, before, after)
    ]
    return _page([payloads.chat(chat) for chat in kept], "ChatList", limit, cursor)


def _within(chat: ChatRecord, before: datetime | None, after: datetime | None) -> bool:
    return (before is None or chat.last_at < before) and (after is None or chat.last_at >= after)


@api.post("/chats", status_code=201)
def start_chat(fake: Fake, data: ChatInput) -> JSONObject:
    if data.account_id is None or not data.attendees_ids or data.text is None:
        raise UnipileError(
            400, "missing_parameters", "Missing parameters", "account_id, attendees_ids, text"
        )
    if len(data.attendees_ids) > 1:
        raise UnipileError(400, "invalid_parameters", "Invalid parameters", "1:1 chats only")
    account_id = fake.known(data.account_id)
    sent = fake.simulator.send(account_id, data.attendees_ids[0], data.text)
    return fake.answered(
        {"object": "ChatStarted", "chat_id": sent.chat_id, "message_id": sent.message_id}
    )


def _chat(fake: FakeUnipile, chat_id: str, account_id: str | None) -> ChatRecord:
    chat = fake.simulator.chat(chat_id)
    if chat is None or (account_id is not None and chat.account != account_id):
        raise UnipileError(404, "resource_not_found", "Resource not found.", "Chat not found")
    return chat


@api.get("/chats/{chat_id}")
def get_chat(fake: Fake, chat_id: str, account_id: str | None = None) -> JSONObject:
    """One chat with its ``lastMessage`` (required by the spec here, nullable)."""
    chat = _chat(fake, chat_id, account_id)
    messages = fake.simulator.chat_messages(chat_id)
    own = own_provider_id(chat.account)
    last = payloads.message(messages[-1], own) if messages else None
    return {**payloads.chat(chat), "lastMessage": last}


@api.get("/chats/{chat_id}/messages")
def list_chat_messages(
    fake: Fake,
    chat_id: str,
    sender_id: str | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=250)] = 100,
    cursor: Cursor = None,
) -> JSONObject:
    """Messages newest first, as Unipile lists them."""
    chat = _chat(fake, chat_id, None)
    own = own_provider_id(chat.account)
    items = [
        payloads.message(record, own)
        for record in reversed(fake.simulator.chat_messages(chat_id, since=after))
        if before is None or record.at < before
    ]
    if sender_id is not None:
        items = [item for item in items if item["sender_id"] == sender_id]
    return _page(items, "MessageList", limit, cursor)


@api.post("/chats/{chat_id}/messages", status_code=201)
def send_chat_message(fake: Fake, chat_id: str, data: ChatInput) -> JSONObject:
    if data.text is None:
        raise UnipileError(422, "invalid_message", "Message couldn't pass validation", "no text")
    chat = _chat(fake, chat_id, data.account_id)
    sent = fake.simulator.send(chat.account, chat.provider_id, data.text)
    return fake.answered({"object": "MessageSent", "message_id": sent.message_id})


@api.get("/chat_attendees/{attendee_id}/chats")
def list_attendee_chats(
    fake: Fake,
    attendee_id: str,
    account_id: str | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=250)] = 100,
    cursor: Cursor = None,
) -> JSONObject:
    """Chats with one or more attendees, given by provider id or attendee id."""
    people = {part.removeprefix(payloads.ATTENDEE_PREFIX) for part in attendee_id.split(",")}
    accounts = account_id.split(",") if account_id else fake.account_ids
    kept = [
        chat
        for chat in fake.simulator.chats(accounts)
        if chat.provider_id in people and _within(chat, before, after)
    ]
    return _page([payloads.chat(chat) for chat in kept], "ChatList", limit, cursor)


# -- webhooks ----------------------------------------------------------------------------


@api.get("/webhooks")
def list_webhooks(
    fake: Fake, limit: Annotated[int, Query(ge=1, le=250)] = 100, cursor: Cursor = None
) -> JSONObject:
    items = [
        {
            "object": "Webhook",
            "id": target.id,
            "type": "AUTO",
            "name": target.name,
            "request_url": target.request_url,
            "format": target.format,
            "enabled": target.enabled,
            "headers": [{"key": key, "value": value} for key, value in target.headers],
            "account_ids": [{"id": account, "type": "LINKEDIN"} for account in target.account_ids],
            "events": list(target.events),
            "data": [],
        }
        for target in fake.webhooks.registered()
    ]
    return _page(items, "WebhookList", limit, cursor)


@api.post("/webhooks", status_code=201)
def create_webhook(fake: Fake, body: Annotated[dict[str, Any], Body()]) -> JSONObject:
    try:
        target = parse_webhook(body)
    except ValueError as exc:
        raise UnipileError(400, "invalid_parameters", "Invalid parameters", str(exc)) from exc
    fake.webhooks.add(target)
    return {"object": "WebhookCreated", "webhook_id": target.id}


@api.delete("/webhooks/{webhook_id}")
def delete_webhook(fake: Fake, webhook_id: str) -> JSONObject:
    if not fake.webhooks.remove(webhook_id):
        raise UnipileError(404, "resource_not_found", "Resource not found.", "Webhook not found")
    return {"object": "WebhookDeleted"}


# -- steering ----------------------------------------------------------------------------


class PersonAction(BaseModel):
    account_id: str
    provider_id: str | None = None
    identifier: str | None = None  # a public identifier or profile URL instead
    text: str | None = None

    def person(self) -> str:
        chosen = self.provider_id or self.identifier
        if not chosen:
            raise UnipileError(400, "missing_parameters", "Missing parameters", "provider_id")
        return chosen


class ErrorInjection(BaseModel):
    transient_rate: float | None = None
    disconnect: str | None = None
    reconnect: str | None = None
    restrict: str | None = None
    invalid_recipient: str | None = None
    limit: str | None = None
    limit_code: str = "limit_exceeded"  # or cannot_resend_yet
    # The next N invitations or messages are performed, then answered 504 request_timeout.
    lose_answers: int | None = Field(default=None, ge=0)
    # The next N are performed, then answered only after ``slow_seconds``.
    slow_answers: int | None = Field(default=None, ge=0)
    slow_seconds: float = Field(default=30.0, ge=0, le=600)


@steering.get("/log")
def action_log(fake: Fake, account_id: str | None = None) -> JSONObject:
    """Every invitation, message and withdrawal the fake LinkedIn received."""
    rows = fake.simulator.log(account_id)
    return {"items": [{**row, "at": payloads.iso(row["at"])} for row in rows]}


@steering.get("/clock")
def clock(fake: Fake) -> JSONObject:
    return {"now": payloads.iso(fake.simulator.now())}


@steering.post("/accept")
def force_accept(fake: Fake, action: PersonAction) -> JSONObject:
    invitation_id = fake.simulator.accept(action.account_id, action.person())
    if invitation_id is None:
        raise UnipileError(404, "resource_not_found", "Resource not found.", "No open invitation")
    return {"invitation_id": invitation_id}


@steering.post("/reply")
def force_reply(fake: Fake, action: PersonAction) -> JSONObject:
    return {"message_id": fake.simulator.reply(action.account_id, action.person(), action.text)}


@steering.post("/errors")
def inject_errors(fake: Fake, injection: ErrorInjection) -> JSONObject:
    simulator = fake.simulator
    if injection.transient_rate is not None:
        simulator.inject_transient(injection.transient_rate)
    if injection.disconnect:
        simulator.disconnect(injection.disconnect)
    if injection.reconnect:
        simulator.reconnect(injection.reconnect)
    if injection.restrict:
        simulator.restrict(injection.restrict)
    if injection.invalid_recipient:
        simulator.invalid_recipient(injection.invalid_recipient)
    if injection.limit:
        simulator.limit(injection.limit, injection.limit_code)
    if injection.lose_answers is not None:
        fake.lose_answers(injection.lose_answers)
    if injection.slow_answers is not None:
        fake.slow_answers(injection.slow_answers, injection.slow_seconds)
    return {"ok": True}


@steering.post("/reset-errors")
def reset_errors(fake: Fake) -> JSONObject:
    fake.simulator.reset_errors()
    fake.lose_answers(0)
    fake.slow_answers(0, 0.0)
    return {"ok": True}


def json_error(error: UnipileError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = payloads.error_body(error.status, error.code, error.title, error.detail)
    return JSONResponse(body, status_code=error.status, headers=headers)
