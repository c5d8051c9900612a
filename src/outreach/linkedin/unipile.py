"""Unipile's v1 REST API behind the ``LinkedInProvider`` port.

Every answer is read by meaning (``unipile_errors``: the error slug first, the HTTP
status only when the slug is unknown). Transient failures are retried with exponential
backoff and jitter, honouring ``Retry-After``. A POST that performs an action (invite,
message) is never re-sent after an ambiguous failure: it raises ``OutcomeUnknown`` and
the engine checks the provider's state before acting again, so no action is done twice.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from outreach.config import Settings
from outreach.linkedin.provider import (
    AccountState,
    ChatMessage,
    Connection,
    Profile,
    ProviderError,
    SentInvitation,
    SentMessage,
    TransientError,
)
from outreach.linkedin.unipile_errors import (
    AlreadyDone,
    ConfigurationError,
    Kind,
    OutcomeUnknown,
    error_for,
)
from outreach.linkedin.unipile_webhooks import WEBHOOK_EVENTS, register_webhooks

__all__ = [
    "WEBHOOK_EVENTS",
    "AlreadyDone",
    "ConfigurationError",
    "OutcomeUnknown",
    "UnipileProvider",
    "register_webhooks",
]

logger = logging.getLogger(__name__)

PAGE_LIMIT = 100  # the largest page every list endpoint we use accepts


# Failures after which a request surely did not reach Unipile: safe to re-send a POST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_CONNECTED_DISTANCES = frozenset({"FIRST_DEGREE", "DISTANCE_1"})

# Account source statuses, worst first: an account is as healthy as its worst source.
_SOURCE_STATES: dict[str, AccountState] = {
    "CREDENTIALS": AccountState.CREDENTIALS,
    "PERMISSIONS": AccountState.RESTRICTED,
    "ERROR": AccountState.ERROR,
    "STOPPED": AccountState.ERROR,
    "CONNECTING": AccountState.CONNECTING,
    "OK": AccountState.OK,
}

_PROFILE_URL = re.compile(r"linkedin\.com/in/([^/?#\s]+)", re.IGNORECASE)


def profile_identifier(identifier: str) -> str:
    """The identifier Unipile accepts: the slug of a profile URL, else the value itself."""
    value = identifier.strip()
    match = _PROFILE_URL.search(value)
    return unquote(match.group(1)) if match else value


def parse_time(value: object) -> datetime | None:
    """An aware UTC datetime from Unipile's ISO-8601 text; ``None`` if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """Unipile's filter format: UTC with milliseconds, ``YYYY-MM-DDTHH:MM:SS.sssZ``."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _base_url(dsn: str) -> str:
    """``{DSN}/api/v1/`` from a DSN given with or without scheme (https by default)."""
    value = dsn.strip().rstrip("/")
    if "://" not in value:
        value = f"https://{value}"
    return value.removesuffix("/api/v1") + "/api/v1/"


def _form(fields: Mapping[str, str | list[str]]) -> list[tuple[str, tuple[None, bytes]]]:
    """Multipart form fields (no file parts); a list value repeats its field name."""
    parts: list[tuple[str, tuple[None, bytes]]] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append((name, (None, item.encode())))
    return parts


class UnipileProvider:
    """A ``LinkedInProvider`` over Unipile's v1 API: one instance serves every sender account."""

    def __init__(
        self,
        dsn: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 5,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise ConfigurationError("the Unipile API key is empty")
        self.base_url = _base_url(dsn)
        self._max_attempts = max(1, max_attempts)
        self._max_wait = max_wait
        self._backoff = wait_exponential_jitter(multiplier=backoff, max=max_wait, jitter=backoff)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"X-API-KEY": api_key, "accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> UnipileProvider:
        """Build from ``OUTREACH_UNIPILE_DSN`` and ``OUTREACH_UNIPILE_API_KEY``."""
        key = settings.unipile_api_key
        if not settings.unipile_dsn or key is None:
            raise ConfigurationError(
                "Unipile is not configured: set OUTREACH_UNIPILE_DSN and OUTREACH_UNIPILE_API_KEY"
            )
        secret = key.get_secret_value() if isinstance(key, SecretStr) else str(key)
        return cls(settings.unipile_dsn, secret, **options)

    def __repr__(self) -> str:
        return f"UnipileProvider({self.base_url!r})"  # never the key

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> UnipileProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the LinkedInProvider port -------------------------------------------------------

    def get_profile(self, account: str, identifier: str) -> Profile:
        """Resolve a provider id, public id or profile URL, with our connection state."""
        slug = quote(profile_identifier(identifier), safe="")
        body = self._call(
            "GET", f"users/{slug}", params={"account_id": account}, on_404=Kind.RECIPIENT
        )
        return _profile(body)

    def send_invitation(self, account: str, provider_id: str, note: str | None) -> str | None:
        """Invite ``provider_id``; an earlier invitation or an existing relation is success."""
        payload = {"account_id": account, "provider_id": provider_id}
        if note:
            payload["message"] = note
        try:
            body = self._call("POST", "users/invite", json=payload)
        except AlreadyDone as done:
            logger.info("invitation to %s already done (%s)", provider_id, done.code)
            return None
        invitation_id = body.get("invitation_id")
        return invitation_id if isinstance(invitation_id, str) and invitation_id else None

    def list_sent_invitations(self, account: str) -> list[SentInvitation]:
        """Every pending invitation of ``account``, all pages."""
        return [
            SentInvitation(
                invitation_id=str(item["id"]),
                provider_id=item["invited_user_id"],
                sent_at=parse_time(item.get("parsed_datetime")),
            )
            for item in self._pages("users/invite/sent", {"account_id": account})
            if item.get("id") and isinstance(item.get("invited_user_id"), str)
        ]

    def withdraw_invitation(self, account: str, invitation_id: str) -> None:
        """Cancel a pending invitation; one that is already gone counts as withdrawn."""
        path = f"users/invite/sent/{quote(invitation_id, safe='')}"
        try:
            self._call("DELETE", path, params={"account_id": account}, on_404=Kind.ALREADY_DONE)
        except AlreadyDone:
            logger.info("invitation %s was already gone", invitation_id)

    def send_message(self, account: str, provider_id: str, text: str) -> SentMessage:
        """Write into the existing 1:1 chat with ``provider_id``, or start one."""
        chat_id = self._find_chat(account, provider_id)
        if chat_id is None:
            fields: dict[str, str | list[str]] = {
                "account_id": account,
                "attendees_ids": [provider_id],
                "text": text,
            }
            body = self._call("POST", "chats", form=fields)
            return SentMessage(
                chat_id=_opt_str(body, "chat_id"), message_id=_opt_str(body, "message_id")
            )
        path = f"chats/{quote(chat_id, safe='')}/messages"
        body = self._call("POST", path, form={"account_id": account, "text": text})
        return SentMessage(chat_id=chat_id, message_id=_opt_str(body, "message_id"))

    def list_messages(
        self, account: str, provider_id: str, *, since: datetime | None = None
    ) -> list[ChatMessage]:
        """The 1:1 chat with ``provider_id``, oldest first; empty when there is no chat."""
        chat_id = self._find_chat(account, provider_id)
        if chat_id is None:
            return []
        params = {"after": format_time(since)} if since else {}
        path = f"chats/{quote(chat_id, safe='')}/messages"
        # Unipile's times have milliseconds: compare at that precision, so nothing is lost.
        floor = since.replace(microsecond=since.microsecond // 1000 * 1000) if since else None
        messages = [_message(item) for item in self._pages(path, params)]
        kept = [m for m in messages if m is not None and (floor is None or m.at >= floor)]
        return sorted(kept, key=lambda message: message.at)

    def account_state(self, account: str) -> AccountState:
        """The account's worst source status; an unknown account is an ``AccountError``."""
        body = self._call("GET", f"accounts/{quote(account, safe='')}", on_404=Kind.ACCOUNT)
        statuses = {str(source.get("status")) for source in body.get("sources") or []}
        for status, state in _SOURCE_STATES.items():
            if status in statuses:
                return state
        return AccountState.CONNECTING if not statuses else AccountState.ERROR

    # -- webhooks (used by ``register_webhooks``) -----------------------------------------

    def list_webhooks(self) -> list[dict[str, Any]]:
        return list(self._pages("webhooks", {}))

    def create_webhook(self, body: dict[str, Any]) -> str:
        """Create one webhook and return its id."""
        return str(self._call("POST", "webhooks", json=body).get("webhook_id", ""))

    # -- plumbing ------------------------------------------------------------------------

    def _find_chat(self, account: str, provider_id: str) -> str | None:
        """The id of the 1:1 chat (type 0) between ``account`` and ``provider_id``."""
        path = f"chat_attendees/{quote(provider_id, safe='')}/chats"
        for chat in self._pages(path, {"account_id": account}):
            if chat.get("type") == 0 and chat.get("account_id", account) == account:
                return str(chat["id"])
        return None

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Items of a cursor-paginated list, following the cursor to its end."""
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            query: dict[str, str | int] = {**params, "limit": PAGE_LIMIT}
            if cursor:
                query["cursor"] = cursor
            page = self._call("GET", path, params=query)
            yield from (item for item in page.get("items") or [] if isinstance(item, dict))
            next_cursor = page.get("cursor")
            if not isinstance(next_cursor, str) or not next_cursor or next_cursor in seen:
                return
            seen.add(next_cursor)
            cursor = next_cursor

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: dict[str, Any] | None = None,
        form: Mapping[str, str | list[str]] | None = None,
        on_404: Kind = Kind.REJECTED,
    ) -> dict[str, Any]:
        """One API call with retries of transient failures; the JSON object it answers."""
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception(self._may_retry),
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        request = self._http.build_request(
            method, path, params=params, json=json, files=_form(form) if form else None
        )
        return retrying(self._send, request, on_404=on_404)

    def _send(self, request: httpx.Request, *, on_404: Kind) -> dict[str, Any]:
        """Send once; turn any failure into the exception that says what it means."""
        where = f"{request.method} {request.url.path}"
        idempotent = request.method in ("GET", "HEAD", "DELETE")
        try:
            response = self._http.send(request)
        except httpx.UnsupportedProtocol as exc:
            raise ConfigurationError(f"{where}: bad Unipile DSN ({exc})") from exc
        except httpx.TransportError as exc:
            message = f"{where}: {type(exc).__name__}"
            if idempotent or isinstance(exc, _NOT_SENT):
                raise TransientError(message) from exc
            raise OutcomeUnknown(message) from exc
        if response.is_success:
            return _json_object(response, where)
        raise error_for(response, where, idempotent=idempotent, on_404=on_404)

    def _may_retry(self, exc: BaseException) -> bool:
        """Retry transient failures only, and only when waiting stays within ``max_wait``."""
        if not isinstance(exc, TransientError) or isinstance(exc, OutcomeUnknown):
            return False
        return exc.retry_after is None or exc.retry_after <= self._max_wait

    def _wait(self, state: RetryCallState) -> float:
        """Unipile's ``Retry-After`` when given, else exponential backoff with jitter."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(state)


def _json_object(response: httpx.Response, where: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError(f"{where}: the answer is not JSON") from exc
    if not isinstance(body, dict):
        raise ProviderError(f"{where}: the answer is not a JSON object")
    return body


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    logger.warning(
        "Unipile call failed (%s); attempt %d, retrying in %.2fs", exc, state.attempt_number, wait
    )


def _opt_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


def _connection(body: Mapping[str, Any]) -> tuple[Connection, str | None]:
    """Our relation to a profile: connected, invited by us (with the invitation id), or none."""
    if body.get("network_distance") in _CONNECTED_DISTANCES or body.get("is_relationship") is True:
        return Connection.CONNECTED, None
    invitation = body.get("invitation")
    if (
        isinstance(invitation, dict)
        and invitation.get("status") == "PENDING"
        and invitation.get("type") == "SENT"
    ):
        return Connection.PENDING, _opt_str(invitation, "id")
    return Connection.NONE, None


def _profile(body: Mapping[str, Any]) -> Profile:
    provider_id = _opt_str(body, "provider_id")
    if provider_id is None:
        raise ProviderError("GET users: the profile has no provider_id")
    connection, invitation_id = _connection(body)
    return Profile(
        provider_id=provider_id,
        public_identifier=_opt_str(body, "public_identifier"),
        first_name=_opt_str(body, "first_name"),
        last_name=_opt_str(body, "last_name"),
        headline=_opt_str(body, "headline"),
        connection=connection,
        invitation_id=invitation_id,
    )


def _message(item: Mapping[str, Any]) -> ChatMessage | None:
    """A chat message from Unipile's ``Message``; ``None`` when it lacks an id or a time."""
    at = parse_time(item.get("timestamp"))
    message_id = _opt_str(item, "id")
    if at is None or message_id is None:
        return None
    return ChatMessage(
        message_id=message_id,
        sender_provider_id=str(item.get("sender_id") or ""),
        text=str(item.get("text") or ""),
        at=at,
        is_sender=item.get("is_sender") in (1, True),
    )


# -- webhook registration ----------------------------------------------------------------

# Every account status event: the service decides which ones matter (Unipile's default
# leaves out OK, CONNECTING and STOPPED, and OK is how we learn a reconnection).
