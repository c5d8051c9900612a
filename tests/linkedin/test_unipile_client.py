"""``UnipileProvider`` against a scripted, spec-shaped Unipile over real loopback HTTP.

The server answers with canned, spec-valid bodies unless a test queues its own answer
for a route. Every request and answer passes through ``SpecValidator``: a test fails if
the client sent anything the official spec does not allow. Retries are counted on the
server side.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from outreach.config import Settings
from outreach.linkedin.provider import (
    AccountError,
    AccountState,
    Connection,
    ProviderError,
    RecipientError,
    TransientError,
)
from outreach.linkedin.unipile import (
    ConfigurationError,
    OutcomeUnknown,
    UnipileProvider,
    format_time,
    profile_identifier,
    register_webhooks,
)
from tests.contract.conftest import spec_path
from tests.contract.validation import SpecValidator, load_spec
from tests.loopback import serve

API_KEY = "test-key-5f1c0ffee"
ACCOUNT = "acc-1"
JANE = "ACoAAjane"


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (to provoke client timeouts)


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)


def error(status: int, slug: str, title: str = "Error", **headers: str) -> Answer:
    """An error answer in Unipile's body shape."""
    body = {"status": status, "type": f"errors/{slug}", "title": title, "detail": title}
    return Answer(status, body, headers)


def message(message_id: str, at: str, *, sender: str, mine: bool) -> dict[str, Any]:
    return {
        "object": "Message",
        "provider_id": f"p-{message_id}",
        "sender_id": sender,
        "text": f"text {message_id}",
        "attachments": [],
        "id": message_id,
        "account_id": ACCOUNT,
        "chat_id": "chat-1",
        "chat_provider_id": "2-chat",
        "timestamp": at,
        "is_sender": 1 if mine else 0,
        "reactions": [],
        "seen": 1,
        "seen_by": {},
        "hidden": 0,
        "deleted": 0,
        "edited": 0,
        "is_event": 0,
        "delivered": 1,
        "behavior": None,
        "original": "{}",
        "sender_attendee_id": "att-1",
    }


def chat(chat_id: str, *, kind: int) -> dict[str, Any]:
    return {
        "object": "Chat",
        "id": chat_id,
        "account_id": ACCOUNT,
        "account_type": "LINKEDIN",
        "provider_id": f"2-{chat_id}",
        "name": None,
        "type": kind,
        "timestamp": "2025-01-01T10:00:00.000Z",
        "unread_count": 0,
        "archived": 0,
        "muted_until": None,
        "read_only": 0,
    }


def invitation(invitation_id: str, provider_id: str) -> dict[str, Any]:
    return {
        "object": "InvitationSent",
        "id": invitation_id,
        "invited_user": "Someone",
        "invited_user_id": provider_id,
        "invited_user_public_id": provider_id.lower(),
        "invited_user_description": None,
        "date": "2 days ago",
        "parsed_datetime": "2025-01-02T08:00:00.000Z",
        "invitation_text": None,
    }


def account(*statuses: str) -> dict[str, Any]:
    return {
        "object": "Account",
        "type": "LINKEDIN",
        "id": ACCOUNT,
        "name": "Sender",
        "created_at": "2025-01-01T00:00:00.000Z",
        "groups": [],
        "connection_params": {
            "im": {
                "id": "ACoAAme",
                "username": "me",
                "premiumId": None,
                "premiumContractId": None,
                "organizations": [],
            }
        },
        "sources": [{"id": f"{ACCOUNT}_{i}", "status": s} for i, s in enumerate(statuses)],
    }


PROFILE = {
    "object": "UserProfile",
    "provider": "LINKEDIN",
    "provider_id": JANE,
    "public_identifier": "jane-doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "headline": "CTO at Example",
    "websites": [],
    "network_distance": "SECOND_DEGREE",
}


class ScriptedUnipile:
    """The Unipile routes our client uses: canned answers unless a test queues its own."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the canned answers (one server serves every test of this module)."""
        self.queued: dict[str, list[Answer]] = defaultdict(list)
        self.received: list[Received] = []
        self.chats: list[dict[str, Any]] = []
        self.messages: list[list[dict[str, Any]]] = [[]]  # pages, as Unipile sends them
        self.invitations: list[list[dict[str, Any]]] = [[]]
        self.webhooks: list[dict[str, Any]] = []
        self.off_spec = False  # a test answers off-spec on purpose (checks requests only)

    def then(self, route: str, *answers: Answer) -> None:
        """Queue answers for ``route`` ("METHOD /path/{template}"), used once each, in order."""
        self.queued[route].extend(answers)

    def app(self) -> Starlette:
        routes = [
            (
                "GET",
                "/users/invite/sent",
                lambda r: self._page("InvitationList", self.invitations, r),
            ),
            ("DELETE", "/users/invite/sent/{invitation_id}", self._canned("InvitationCanceled")),
            ("POST", "/users/invite", self._invite),
            ("GET", "/users/{identifier}", lambda _: Answer(200, PROFILE)),
            (
                "GET",
                "/chat_attendees/{attendee_id}/chats",
                lambda r: self._page("ChatList", [self.chats], r),
            ),
            ("POST", "/chats", lambda _: Answer(201, self._started())),
            (
                "GET",
                "/chats/{chat_id}/messages",
                lambda r: self._page("MessageList", self.messages, r),
            ),
            ("POST", "/chats/{chat_id}/messages", self._canned("MessageSent", 201, "msg-9")),
            ("GET", "/accounts/{id}", lambda _: Answer(200, account("OK"))),
            ("GET", "/webhooks", lambda r: self._page("WebhookList", [self.webhooks], r)),
            ("POST", "/webhooks", self._create_webhook),
        ]
        return Starlette(
            routes=[
                Route(f"/api/v1{path}", self._endpoint(f"{method} {path}", fn), methods=[method])
                for method, path, fn in routes
            ]
        )

    def _endpoint(
        self, route: str, canned: Callable[[Received], Answer]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            received = await _receive(request)
            self.received.append(received)
            if request.headers.get("x-api-key") != API_KEY:
                answer = error(401, "missing_credentials", "Missing credentials")
            else:
                queue = self.queued[route]
                answer = queue.pop(0) if queue else canned(received)
            await asyncio.sleep(answer.delay)
            return JSONResponse(answer.body, answer.status, headers=answer.headers)

        return endpoint

    @staticmethod
    def _page(obj: str, pages: list[list[dict[str, Any]]], received: Received) -> Answer:
        """One page of a list; cursors are ``c1``, ``c2``… and the last page has none."""
        index = int(received.query.get("cursor", "c0")[1:])
        cursor = f"c{index + 1}" if index + 1 < len(pages) else None
        return Answer(200, {"object": obj, "items": pages[index], "cursor": cursor})

    def _invite(self, _: Received) -> Answer:
        return Answer(200, {"object": "UserInvitationSent", "invitation_id": "inv-1"})

    def _started(self) -> dict[str, Any]:
        return {"object": "ChatStarted", "chat_id": "chat-new", "message_id": "msg-1"}

    def _create_webhook(self, received: Received) -> Answer:
        webhook_id = f"wh-{len(self.webhooks) + 1}"
        body = received.json
        self.webhooks.append(
            {
                "object": "Webhook",
                "id": webhook_id,
                "account_ids": [],
                "enabled": True,
                "request_url": body["request_url"],
                "name": body.get("name", ""),
                "format": "json",
                "headers": body.get("headers", []),
                "data": [],
                "events": body.get("events", []),
                "type": "AUTO",
            }
        )
        return Answer(201, {"object": "WebhookCreated", "webhook_id": webhook_id})

    @staticmethod
    def _canned(
        obj: str, status: int = 200, message_id: str | None = None
    ) -> Callable[[Received], Answer]:
        body: dict[str, Any] = {"object": obj}
        if obj == "MessageSent":
            body["message_id"] = message_id
        return lambda _: Answer(status, body)


async def _receive(request: Request) -> Received:
    content_type = request.headers.get("content-type", "")
    received = Received(request.method, request.url.path, dict(request.query_params))
    if content_type.startswith("multipart/"):
        form = await request.form()
        received.form = {key: [str(v) for v in form.getlist(key)] for key in form}
    elif content_type.startswith("application/json"):
        received.json = await request.json()
    return received


@dataclass
class Harness:
    scripted: ScriptedUnipile
    validator: SpecValidator
    url: str
    sleeps: list[float]

    def provider(self, **options: Any) -> UnipileProvider:
        options.setdefault("backoff", 0.001)
        options.setdefault("sleep", self._sleep)
        options.setdefault("timeout", 5.0)
        return UnipileProvider(self.url, options.pop("api_key", API_KEY), **options)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)

    def count(self, method: str, path: str) -> int:
        return self.validator.count(method, f"/api/v1{path}")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ScriptedUnipile, SpecValidator, str]]:
    scripted = ScriptedUnipile()
    validator = SpecValidator(scripted.app(), load_spec(spec_path()))
    with serve(validator) as url:
        yield scripted, validator, url


@pytest.fixture
def harness(server: tuple[ScriptedUnipile, SpecValidator, str]) -> Iterator[Harness]:
    scripted, validator, url = server
    scripted.reset()
    validator.calls.clear()
    validator.violations.clear()
    yield Harness(scripted, validator, url, [])
    checked = validator.request_violations() if scripted.off_spec else validator.violations
    assert [str(v) for v in checked] == []


@pytest.fixture
def provider(harness: Harness) -> Iterator[UnipileProvider]:
    with harness.provider() as client:
        yield client


# -- the port's happy paths ----------------------------------------------------------------


def test_get_profile_by_url_asks_for_the_slug(harness: Harness, provider: UnipileProvider) -> None:
    profile = provider.get_profile(ACCOUNT, "https://www.linkedin.com/in/jane-doe/?trk=x")

    assert (profile.provider_id, profile.public_identifier) == (JANE, "jane-doe")
    assert (profile.first_name, profile.headline) == ("Jane", "CTO at Example")
    assert profile.connection is Connection.NONE
    (request,) = harness.scripted.received
    assert (request.path, request.query) == ("/api/v1/users/jane-doe", {"account_id": ACCOUNT})


@pytest.mark.parametrize(
    ("fields", "connection", "invitation_id"),
    [
        ({"network_distance": "FIRST_DEGREE"}, Connection.CONNECTED, None),
        ({"is_relationship": True}, Connection.CONNECTED, None),
        ({"invitation": {"type": "SENT", "status": "PENDING"}}, Connection.PENDING, None),
        (
            {"invitation": {"type": "SENT", "status": "PENDING", "id": "i7"}},
            Connection.PENDING,
            "i7",
        ),
        ({"invitation": {"type": "RECEIVED", "status": "PENDING"}}, Connection.NONE, None),
        ({"invitation": {"type": "SENT", "status": "WITHDRAWN"}}, Connection.NONE, None),
        ({"network_distance": "DISTANCE_1"}, Connection.CONNECTED, None),  # webhook wording
    ],
)
def test_profile_connection_state(
    harness: Harness,
    provider: UnipileProvider,
    fields: dict[str, Any],
    connection: Connection,
    invitation_id: str | None,
) -> None:
    harness.scripted.off_spec = True  # "id" and "DISTANCE_1" are not in the spec's profile
    harness.scripted.then("GET /users/{identifier}", Answer(200, {**PROFILE, **fields}))

    profile = provider.get_profile(ACCOUNT, JANE)

    assert (profile.connection, profile.invitation_id) == (connection, invitation_id)


def test_send_invitation_posts_json_with_the_note(
    harness: Harness, provider: UnipileProvider
) -> None:
    assert provider.send_invitation(ACCOUNT, JANE, "Hello Jane") == "inv-1"
    assert provider.send_invitation(ACCOUNT, JANE, None) == "inv-1"

    with_note, without = harness.scripted.received
    assert with_note.json == {"account_id": ACCOUNT, "provider_id": JANE, "message": "Hello Jane"}
    assert without.json == {"account_id": ACCOUNT, "provider_id": JANE}


@pytest.mark.parametrize("slug", ["already_invited_recently", "action_already_performed"])
def test_already_invited_is_success(harness: Harness, provider: UnipileProvider, slug: str) -> None:
    harness.scripted.then("POST /users/invite", error(422, slug))

    assert provider.send_invitation(ACCOUNT, JANE, None) is None


def test_already_connected_is_success(harness: Harness, provider: UnipileProvider) -> None:
    harness.scripted.off_spec = True  # a slug seen in the wild, absent from the spec
    harness.scripted.then("POST /users/invite", error(422, "already_connected"))

    assert provider.send_invitation(ACCOUNT, JANE, None) is None


def test_list_sent_invitations_follows_the_cursor(
    harness: Harness, provider: UnipileProvider
) -> None:
    harness.scripted.invitations = [
        [invitation("i1", "ACoAA1"), invitation("i2", "ACoAA2")],
        [invitation("i3", "ACoAA3")],
    ]

    invitations = provider.list_sent_invitations(ACCOUNT)

    assert [(i.invitation_id, i.provider_id) for i in invitations] == [
        ("i1", "ACoAA1"),
        ("i2", "ACoAA2"),
        ("i3", "ACoAA3"),
    ]
    assert invitations[0].sent_at == datetime(2025, 1, 2, 8, tzinfo=UTC)
    first, second = harness.scripted.received
    assert first.query == {"account_id": ACCOUNT, "limit": "100"}
    assert second.query == {"account_id": ACCOUNT, "limit": "100", "cursor": "c1"}


def test_withdraw_invitation_and_one_already_gone(
    harness: Harness, provider: UnipileProvider
) -> None:
    provider.withdraw_invitation(ACCOUNT, "i1")
    harness.scripted.then(
        "DELETE /users/invite/sent/{invitation_id}", error(404, "resource_not_found")
    )
    provider.withdraw_invitation(ACCOUNT, "i2")

    assert [(r.method, r.path, r.query) for r in harness.scripted.received] == [
        ("DELETE", "/api/v1/users/invite/sent/i1", {"account_id": ACCOUNT}),
        ("DELETE", "/api/v1/users/invite/sent/i2", {"account_id": ACCOUNT}),
    ]


def test_send_message_into_the_existing_one_to_one_chat(
    harness: Harness, provider: UnipileProvider
) -> None:
    harness.scripted.chats = [chat("group-1", kind=1), chat("chat-1", kind=0)]

    sent = provider.send_message(ACCOUNT, JANE, "Thanks for connecting")

    assert (sent.chat_id, sent.message_id) == ("chat-1", "msg-9")
    lookup, post = harness.scripted.received
    assert (lookup.path, lookup.query["account_id"]) == (
        f"/api/v1/chat_attendees/{JANE}/chats",
        ACCOUNT,
    )
    assert post.path == "/api/v1/chats/chat-1/messages"
    assert post.form == {"account_id": [ACCOUNT], "text": ["Thanks for connecting"]}


def test_send_message_starts_a_chat_when_there_is_none(
    harness: Harness, provider: UnipileProvider
) -> None:
    sent = provider.send_message(ACCOUNT, JANE, "Hello")

    assert (sent.chat_id, sent.message_id) == ("chat-new", "msg-1")
    post = harness.scripted.received[-1]
    assert (post.method, post.path) == ("POST", "/api/v1/chats")
    assert post.form == {"account_id": [ACCOUNT], "attendees_ids": [JANE], "text": ["Hello"]}


def test_list_messages_oldest_first_across_pages(
    harness: Harness, provider: UnipileProvider
) -> None:
    harness.scripted.chats = [chat("chat-1", kind=0)]
    harness.scripted.messages = [  # Unipile sends newest first
        [message("m3", "2025-01-03T10:00:00.000Z", sender=JANE, mine=False)],
        [message("m2", "2025-01-02T10:00:00.000Z", sender="ACoAAme", mine=True)],
    ]
    since = datetime(2025, 1, 1, 9, 30, 15, 250000, tzinfo=UTC)

    messages = provider.list_messages(ACCOUNT, JANE, since=since)

    assert [(m.message_id, m.is_sender, m.sender_provider_id) for m in messages] == [
        ("m2", True, "ACoAAme"),
        ("m3", False, JANE),
    ]
    assert messages[1].at == datetime(2025, 1, 3, 10, tzinfo=UTC)
    assert messages[1].text == "text m3"
    page_one = harness.scripted.received[1]
    assert page_one.query == {"after": "2025-01-01T09:30:15.250Z", "limit": "100"}


def test_list_messages_without_a_chat_is_empty(harness: Harness, provider: UnipileProvider) -> None:
    assert provider.list_messages(ACCOUNT, JANE) == []
    assert harness.count("GET", "/chats/chat-1/messages") == 0


@pytest.mark.parametrize(
    ("statuses", "state"),
    [
        (("OK",), AccountState.OK),
        (("OK", "CONNECTING"), AccountState.CONNECTING),
        (("CREDENTIALS", "OK"), AccountState.CREDENTIALS),
        (("ERROR",), AccountState.ERROR),
        (("STOPPED",), AccountState.ERROR),
        (("PERMISSIONS",), AccountState.RESTRICTED),
    ],
)
def test_account_state_is_the_worst_source(
    harness: Harness, provider: UnipileProvider, statuses: tuple[str, ...], state: AccountState
) -> None:
    harness.scripted.then("GET /accounts/{id}", Answer(200, account(*statuses)))

    assert provider.account_state(ACCOUNT) is state


def test_unknown_account_is_an_account_error(harness: Harness, provider: UnipileProvider) -> None:
    harness.scripted.then("GET /accounts/{id}", error(404, "resource_not_found"))

    with pytest.raises(AccountError):
        provider.account_state("nope")


# -- errors by meaning ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "slug", "expected", "until_tomorrow"),
    [
        (401, "disconnected_account", AccountError, False),
        (401, "expired_credentials", AccountError, False),
        (401, "invalid_credentials", AccountError, False),
        (401, "checkpoint_error", AccountError, False),
        (403, "account_restricted", AccountError, False),
        (422, "cannot_resend_yet", AccountError, True),
        (422, "limit_exceeded", AccountError, True),
        (422, "cannot_resend_within_24hrs", AccountError, True),
        (422, "insufficient_credits", AccountError, True),
        (422, "invalid_recipient", RecipientError, None),
        (422, "no_connection_with_recipient", RecipientError, None),
        (422, "blocked_recipient", RecipientError, None),
        (422, "not_allowed_inmail", RecipientError, None),
        (422, "user_unreachable", RecipientError, None),
        (422, "cannot_invite_attendee", RecipientError, None),
        (422, "recipient_rejected", RecipientError, None),
        (404, "resource_not_found", RecipientError, None),
        (401, "missing_credentials", ConfigurationError, None),
        (422, "provider_unreachable", TransientError, None),
        (429, "too_many_requests", TransientError, None),
        (500, "provider_error", TransientError, None),
        (503, "network_down", TransientError, None),
        (503, "service_unavailable", TransientError, None),
        (504, "request_timeout", TransientError, None),
        (422, "invalid_account", AccountError, False),
        (501, "feature_not_implemented", ProviderError, None),
    ],
)
def test_error_slugs_map_to_their_meaning(
    harness: Harness,
    status: int,
    slug: str,
    expected: type[ProviderError],
    until_tomorrow: bool | None,
) -> None:
    harness.scripted.then("GET /users/{identifier}", error(status, slug))

    with harness.provider(max_attempts=1) as client, pytest.raises(ProviderError) as raised:
        client.get_profile(ACCOUNT, "jane-doe")

    assert type(raised.value) is expected
    assert raised.value.code == slug
    if until_tomorrow is not None:
        assert isinstance(raised.value, AccountError)
        assert raised.value.until_tomorrow is until_tomorrow


def test_bad_api_key_is_a_configuration_error_without_the_key(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-key-do-not-print"
    caplog.set_level(logging.DEBUG)

    with harness.provider(api_key=secret) as client, pytest.raises(ConfigurationError) as raised:
        client.get_profile(ACCOUNT, "jane-doe")

    assert raised.value.code == "missing_credentials"
    assert secret not in str(raised.value) and secret not in repr(client)
    assert secret not in caplog.text
    assert harness.count("GET", "/users/jane-doe") == 1


# -- retries ---------------------------------------------------------------------------------


def test_transient_get_is_retried_until_it_succeeds(harness: Harness) -> None:
    harness.scripted.then(
        "GET /users/{identifier}", error(503, "service_unavailable"), error(500, "unexpected_error")
    )

    with harness.provider() as client:
        assert client.get_profile(ACCOUNT, "jane-doe").provider_id == JANE

    assert harness.count("GET", "/users/jane-doe") == 3
    assert len(harness.sleeps) == 2


def test_transient_get_gives_up_after_max_attempts(harness: Harness) -> None:
    harness.scripted.then("GET /users/{identifier}", *[error(500, "provider_error")] * 5)

    with harness.provider(max_attempts=3) as client, pytest.raises(TransientError):
        client.get_profile(ACCOUNT, "jane-doe")

    assert harness.count("GET", "/users/jane-doe") == 3


def test_invitation_after_a_500_is_not_resent(harness: Harness) -> None:
    harness.scripted.then("POST /users/invite", error(500, "unexpected_error"))

    with harness.provider() as client, pytest.raises(OutcomeUnknown) as raised:
        client.send_invitation(ACCOUNT, JANE, None)

    assert isinstance(raised.value, TransientError)
    assert harness.count("POST", "/users/invite") == 1


def test_message_after_a_timeout_is_not_resent(harness: Harness) -> None:
    harness.scripted.chats = [chat("chat-1", kind=0)]
    harness.scripted.then(
        "POST /chats/{chat_id}/messages",
        Answer(201, {"object": "MessageSent", "message_id": "m"}, delay=0.5),
    )

    with harness.provider(timeout=0.2) as client, pytest.raises(OutcomeUnknown):
        client.send_message(ACCOUNT, JANE, "Hi")

    assert harness.count("POST", "/chats/chat-1/messages") == 1


def test_get_after_a_timeout_is_retried(harness: Harness) -> None:
    harness.scripted.then("GET /users/{identifier}", Answer(200, PROFILE, delay=0.5))

    with harness.provider(timeout=0.2) as client:
        assert client.get_profile(ACCOUNT, JANE).provider_id == JANE

    assert harness.count("GET", f"/users/{JANE}") == 2


def test_invitation_after_429_waits_retry_after_and_is_resent(harness: Harness) -> None:
    harness.scripted.then(
        "POST /users/invite", error(429, "too_many_requests", **{"Retry-After": "0.05"})
    )

    started = time.monotonic()
    with harness.provider() as client:
        assert client.send_invitation(ACCOUNT, JANE, None) == "inv-1"

    assert time.monotonic() - started >= 0.05
    assert harness.sleeps == [0.05]
    assert harness.count("POST", "/users/invite") == 2


def test_retry_after_beyond_max_wait_is_left_to_the_caller(harness: Harness) -> None:
    harness.scripted.then(
        "GET /users/{identifier}", error(429, "too_many_requests", **{"Retry-After": "120"})
    )

    with harness.provider(max_wait=1.0) as client, pytest.raises(TransientError) as raised:
        client.get_profile(ACCOUNT, "jane-doe")

    assert raised.value.retry_after == 120.0
    assert harness.count("GET", "/users/jane-doe") == 1
    assert harness.sleeps == []


def test_refused_connection_is_retried_even_for_a_post() -> None:
    """Nothing reached the server, so re-sending cannot perform the action twice."""
    sleeps: list[float] = []
    with serve(Starlette()) as url:
        pass  # the port is free again: connections are refused
    client = UnipileProvider(url, API_KEY, max_attempts=3, backoff=0.001, sleep=sleeps.append)

    with client, pytest.raises(TransientError) as raised:
        client.send_invitation(ACCOUNT, JANE, None)

    assert not isinstance(raised.value, OutcomeUnknown)
    assert len(sleeps) == 2


# -- configuration and webhooks --------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "base"),
    [
        ("api8.unipile.com:13443", "https://api8.unipile.com:13443/api/v1/"),
        ("https://api8.unipile.com:13443/", "https://api8.unipile.com:13443/api/v1/"),
        ("http://127.0.0.1:8123/api/v1", "http://127.0.0.1:8123/api/v1/"),
    ],
)
def test_dsn_with_or_without_scheme(dsn: str, base: str) -> None:
    with UnipileProvider(dsn, API_KEY) as client:
        assert client.base_url == base


def test_from_settings(harness: Harness) -> None:
    settings = Settings(unipile_dsn=harness.url, unipile_api_key=API_KEY)
    with UnipileProvider.from_settings(settings) as client:
        assert client.get_profile(ACCOUNT, "jane-doe").provider_id == JANE

    with pytest.raises(ConfigurationError, match="OUTREACH_UNIPILE_DSN"):
        UnipileProvider.from_settings(Settings(unipile_dsn=None))


@pytest.mark.parametrize(
    ("given", "identifier"),
    [
        ("https://www.linkedin.com/in/jane-doe/", "jane-doe"),
        ("linkedin.com/in/j%C3%BCrgen-m?trk=abc", "jürgen-m"),
        (" jane-doe ", "jane-doe"),
        (JANE, JANE),
    ],
)
def test_profile_identifier(given: str, identifier: str) -> None:
    assert profile_identifier(given) == identifier


def test_format_time_has_milliseconds_and_z() -> None:
    assert (
        format_time(datetime(2025, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)) == "2025-03-04T05:06:07.891Z"
    )


def test_register_webhooks_once(harness: Harness, provider: UnipileProvider) -> None:
    url = "https://outreach.example.com/api/webhooks/unipile"

    created = register_webhooks(provider, url, "s3cret")
    again = register_webhooks(provider, url, "s3cret")

    assert created == ["wh-1", "wh-2", "wh-3"] and again == []
    bodies = [r.json for r in harness.scripted.received if r.method == "POST"]
    assert [(b["source"], b["events"][0]) for b in bodies] == [
        ("messaging", "message_received"),
        ("users", "new_relation"),
        ("account_status", "ok"),
    ]
    assert all(
        b["headers"]
        == [
            {"key": "Content-Type", "value": "application/json"},
            {"key": "Unipile-Auth", "value": "s3cret"},
        ]
        and b["request_url"] == url
        for b in bodies
    )
