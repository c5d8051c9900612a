"""``POST /api/webhooks/unipile`` over loopback HTTP, with the real replies service and database.

The router is mounted the way the app mounts it, on a small app. The tests that only
look at what the route answers and keeps run it on a runtime holding what the route uses
(settings, sessions, clock), with no DBOS; those whose delivery is processed run it on a
real runtime with workers: they process what the route stored (``replies.intake``), and
a stored reply starts its reply agent after the commit.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import SimClock, load_clock
from outreach.config import Settings
from outreach.db import create_engine, make_sessionmaker
from outreach.errors import OutreachError
from outreach.linkedin.unipile import UnipileProvider, register_webhooks
from outreach.migrations import upgrade
from outreach.models import (
    Account,
    AccountStatus,
    Campaign,
    InboundMessage,
    Journey,
    JourneyStatus,
    Prospect,
    WebhookDelivery,
)
from outreach.replies.intake import MAX_ATTEMPTS
from outreach.replies.webhooks import router
from outreach.sandbox.fake_unipile import create_fake_unipile_app, open_simulator
from outreach.sandbox.simulator import SandboxBehaviour
from outreach.testing import started, test_settings
from outreach.web.app import create_app
from tests.loopback import serve

SECRET = "whsec-test-1"
ACCOUNT = "acc-1"
ME = "ACoAAme"
JANE = "ACoAAjane"
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
E2E_ACCOUNT = "acc-e2e"
CALM = SandboxBehaviour(accept_rate=0.0, reply_rate=0.0, error_rate=0.0, already_connected_rate=0.0)


@dataclass
class WebhookRuntime:
    """The part of ``outreach.runtime.Runtime`` the webhook route uses."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: SimClock
    webhooks_wanted: threading.Event = field(default_factory=threading.Event)


@dataclass
class Site:
    url: str
    sessions: sessionmaker[Session]

    def post(self, body: Any, *, secret: str | None = SECRET) -> httpx.Response:
        headers = {"Unipile-Auth": secret} if secret is not None else {}
        content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).read()
        headers["Content-Type"] = "application/json"
        return httpx.post(f"{self.url}/api/webhooks/unipile", content=content, headers=headers)

    def last_delivery(self) -> WebhookDelivery | None:
        with self.sessions() as session:
            query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(1)
            return session.execute(query).scalar_one_or_none()

    def deliveries(self) -> list[WebhookDelivery]:
        with self.sessions() as session:
            query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
            return list(session.execute(query).scalars())

    def delivery_count(self) -> int:
        with self.sessions() as session:
            return session.execute(sa.select(sa.func.count(WebhookDelivery.id))).scalar_one()

    def settled(self, timeout: float = 10.0) -> list[WebhookDelivery]:
        """The deliveries, once none is left to process (they are processed after the answer)."""
        deadline = time.monotonic() + timeout
        while (kept := self.deliveries()) and any(d.outcome == "received" for d in kept):
            assert time.monotonic() < deadline, f"still to process: {kept}"
            time.sleep(0.02)
        return kept


def build_app(rt: Any) -> FastAPI:
    app = FastAPI()
    app.state.runtime = rt

    @app.exception_handler(OutreachError)
    async def _error(_: Request, exc: OutreachError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    app.include_router(router, prefix="/api/webhooks")
    return app


@contextmanager
def running_site(database_url: str, *, secret: str | None = SECRET) -> Iterator[Site]:
    """A migrated database and the webhook route served on a loopback port (no DBOS)."""
    engine = create_engine(database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    settings = Settings(
        database_url=database_url, webhook_secret=SecretStr(secret) if secret else None
    )
    rt = WebhookRuntime(settings, sessions, load_clock(sessions, 1.0))
    try:
        with serve(build_app(rt)) as url:
            yield Site(url, sessions)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One SQLite site for the tests that only look at their own last delivery."""
    path: Path = tmp_path_factory.mktemp("webhooks") / "outreach.db"
    with running_site(f"sqlite:///{path}") as site:
        yield site


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    """A fresh site on SQLite and on PostgreSQL, for the tests that go through the service:
    a real runtime with its workers, which process what the route stored, and start the
    work a reply asks for."""
    settings = test_settings(database_url, time_scale=1.0, webhook_secret=SecretStr(SECRET))
    with started(settings) as rt, serve(build_app(rt)) as url:
        yield Site(url, rt.sessions)


def message_received(message_id: str = "msg-1", **changes: Any) -> dict[str, Any]:
    """A delivery shaped like Unipile's real ones (unipile-api.md §4.3), extras included."""
    payload: dict[str, Any] = {
        "event": "message_received",
        "account_id": ACCOUNT,
        "account_type": "LINKEDIN",
        "account_info": {"type": "LINKEDIN", "feature": "classic", "user_id": ME},
        "webhook_name": "outreach-messaging",
        "chat_id": "chat-1",
        "provider_chat_id": "2-abc",
        "message_id": message_id,
        "provider_message_id": "2-msg",
        "message": "Sounds interesting, tell me more",
        "subject": None,
        "timestamp": "2025-03-03T09:58:12.345Z",
        "sender": {
            "attendee_id": "att-9",
            "attendee_name": "Jane Doe",
            "attendee_provider_id": JANE,
            "attendee_profile_url": "https://www.linkedin.com/in/jane-doe",
            "attendee_specifics": {"provider": "LINKEDIN", "network_distance": "DISTANCE_1"},
        },
        "attendees": [],
        "attachments": [],
        "is_sender": False,
        "is_event": 0,
        "message_type": "MESSAGE",
        "is_group": False,
        "folder": ["INBOX", "INBOX_LINKEDIN_CLASSIC"],
    }
    payload.update(changes)
    return payload


def add_connected_journey(
    sessions: sessionmaker[Session], provider_id: str = JANE, *, account_id: str = ACCOUNT
) -> int:
    """An account with one prospect in the follow-up sequence; returns the journey id."""
    with sessions() as session, session.begin():
        account = Account(name="Sender", provider="unipile", external_id=account_id, created_at=NOW)
        session.add(account)
        session.flush()
        campaign = Campaign(
            name="C", account_id=account.id, sequence={}, templates={}, created_at=NOW
        )
        session.add(campaign)
        session.flush()
        prospect = Prospect(
            campaign_id=campaign.id,
            public_identifier="jane-doe",
            provider_id=provider_id,
            created_at=NOW,
        )
        session.add(prospect)
        session.flush()
        journey = Journey(
            campaign_id=campaign.id,
            prospect_id=prospect.id,
            account_id=account.id,
            status=JourneyStatus.CONNECTED,
            invited_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(journey)
        session.flush()
        return journey.id


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "whsec-wrong", SECRET + "x"])
def test_missing_or_wrong_secret_is_401_and_kept_as_rejected(
    shared: Site, secret: str | None
) -> None:
    before = shared.delivery_count()

    response = shared.post(message_received(), secret=secret)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert shared.delivery_count() == before + 1
    kept = shared.deliveries()[-1]
    assert (kept.outcome, kept.event) == ("rejected", "message_received")
    assert "Unipile-Auth" in (kept.error or "")
    assert SECRET not in kept.payload


def test_without_a_configured_secret_nothing_is_accepted(tmp_path: Path) -> None:
    with running_site(f"sqlite:///{tmp_path / 'o.db'}", secret=None) as site:
        response = site.post(message_received(), secret="anything")

        assert response.status_code == 403
        assert "OUTREACH_WEBHOOK_SECRET" in response.json()["error"]["message"]
        assert [d.outcome for d in site.deliveries()] == ["rejected"]


# -- payloads we cannot use ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "event", "error"),
    [
        (b"{not json", 400, None, "not JSON"),
        (b"[1, 2]", 400, None, "not a JSON object"),
        ({**message_received(), "message_id": None}, 422, "message_received", "message_id"),
        ({"event": "message_received", "account_id": ACCOUNT}, 422, "message_received", "sender"),
        ({"event": "new_relation", "account_id": ACCOUNT}, 422, "new_relation", "user_provider_id"),
        ({"AccountStatus": {"account_id": ACCOUNT}}, 422, "account_status", "message"),
        ({"event": "something_new"}, 422, "something_new", "unknown event"),
        ({"no": "event"}, 422, None, "unknown event"),
    ],
)
def test_unusable_payload_is_4xx_and_kept_as_rejected(
    shared: Site, body: Any, status: int, event: str | None, error: str
) -> None:
    response = shared.post(body)

    assert response.status_code == status
    assert response.json()["outcome"] == "rejected"
    delivery = shared.last_delivery()
    assert delivery is not None
    assert (delivery.outcome, delivery.event, delivery.source) == ("rejected", event, "unipile")
    assert error in (delivery.error or "")
    sent = body if isinstance(body, bytes) else None
    assert sent is None or delivery.payload == sent.decode()


# -- ignored deliveries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        message_received("own-1", is_sender=True),
        message_received(  # sent from another device: the sender is the account's own user
            "own-2", sender={"attendee_provider_id": ME, "attendee_name": "Me"}
        ),
        {**message_received("read-1"), "event": "message_read"},
    ],
)
def test_own_messages_and_other_events_are_ignored(shared: Site, payload: dict[str, Any]) -> None:
    response = shared.post(payload)

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    delivery = shared.last_delivery()
    assert delivery is not None and delivery.outcome == "ignored"


def test_message_for_an_unknown_account_is_accepted_then_ignored(site: Site) -> None:
    response = site.post(message_received("stranger-1", account_id="not-ours"))

    assert response.json() == {"outcome": "accepted", "detail": None}
    [kept] = site.settled()
    assert (kept.outcome, kept.error, kept.attempts) == ("ignored", "unknown_account", 1)
    assert kept.processed_at is not None and kept.processed_at >= kept.received_at


# -- through the replies service, on both databases ---------------------------------------------


def test_reply_stops_the_journey_once(site: Site) -> None:
    journey_id = add_connected_journey(site.sessions)

    first = site.post(message_received("msg-42"))
    again = site.post(message_received("msg-42"))

    assert (first.status_code, first.json()["outcome"]) == (200, "accepted")
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    site.settled()
    with site.sessions() as session:
        journey = session.get(Journey, journey_id)
        assert journey is not None and journey.status is JourneyStatus.REPLIED
        outcomes = session.execute(
            sa.select(WebhookDelivery.outcome).order_by(WebhookDelivery.id)
        ).scalars()
        assert list(outcomes) == ["processed", "duplicate"]
        stored = session.execute(sa.select(InboundMessage)).scalar_one()
        assert (stored.message_id, stored.journey_id, stored.source) == (
            "msg-42",
            journey_id,
            "webhook",
        )
        assert stored.at == datetime(2025, 3, 3, 9, 58, 12, 345000, tzinfo=UTC)


def test_a_reply_with_text_no_database_stores_is_kept_replaced_not_lost(site: Site) -> None:
    journey_id = add_connected_journey(site.sessions)
    body = json.dumps(message_received("msg-odd")).replace(
        '"message": "', '"message": "\\ud800 Not now \\u0000 thanks \\ud83d\\ude00 ', 1
    )

    response = site.post(body.encode())

    assert (response.status_code, response.json()["outcome"]) == (200, "accepted")
    assert [d.outcome for d in site.settled()] == ["processed"]
    with site.sessions() as session:
        journey = session.get(Journey, journey_id)
        assert journey is not None and journey.status is JourneyStatus.REPLIED
        stored = session.execute(sa.select(InboundMessage)).scalar_one()
        assert stored.text.startswith("\ufffd Not now \ufffd thanks \U0001f600 ")


def test_json_nested_too_deep_is_a_400_kept(shared: Site) -> None:
    response = shared.post(b"[" * 100_000 + b"]" * 100_000)

    assert (response.status_code, response.json()["outcome"]) == (400, "rejected")
    delivery = shared.last_delivery()
    assert delivery is not None and "nested too deep" in (delivery.error or "")


def test_a_failure_to_store_answers_500_without_its_text(tmp_path: Path) -> None:
    with running_site(f"sqlite:///{tmp_path / 'broken.db'}") as broken:
        with broken.sessions() as session, session.begin():
            session.execute(sa.text("DROP TABLE webhook_deliveries"))

        response = broken.post(message_received("msg-500"))

    assert response.status_code == 500, "Unipile delivers it again"
    assert response.json() == {"outcome": "failed", "detail": "internal error (logged)"}


def test_a_failure_to_process_is_tried_again_then_kept_as_failed(database_url: str) -> None:
    settings = test_settings(
        database_url, time_scale=1.0, webhook_secret=SecretStr(SECRET), queue_poll_seconds=0.05
    )
    with started(settings) as rt, serve(build_app(rt)) as url:
        broken = Site(url, rt.sessions)
        add_connected_journey(broken.sessions)
        with broken.sessions() as session, session.begin():
            session.execute(sa.text("ALTER TABLE inbound_messages RENAME TO gone"))

        response = broken.post(message_received("msg-500"))
        assert response.json()["outcome"] == "accepted", "stored: nothing is lost"
        [kept] = broken.settled()

    assert (kept.outcome, kept.attempts) == ("failed", MAX_ATTEMPTS)
    assert "inbound_messages" in (kept.error or ""), "the reason is kept"


def test_time_without_a_zone_is_utc(site: Site) -> None:
    add_connected_journey(site.sessions)

    response = site.post(message_received("msg-7", timestamp="2025-03-03T09:00:00"))

    assert response.json()["outcome"] == "accepted"
    assert [d.outcome for d in site.settled()] == ["processed"]
    with site.sessions() as session:
        stored = session.execute(sa.select(InboundMessage)).scalar_one()
        assert stored.at == datetime(2025, 3, 3, 9, tzinfo=UTC)


def test_account_status_pauses_the_account(site: Site) -> None:
    add_connected_journey(site.sessions)

    response = site.post(
        {
            "AccountStatus": {
                "account_id": ACCOUNT,
                "account_type": "LINKEDIN",
                "message": "CREDENTIALS",
            }
        }
    )

    assert response.json()["outcome"] == "accepted"
    assert [d.outcome for d in site.settled()] == ["processed"]
    with site.sessions() as session:
        account = session.execute(sa.select(Account)).scalar_one()
        assert account.status is AccountStatus.PAUSED


def test_new_relation_for_an_unknown_account_is_ignored(site: Site) -> None:
    payload = {
        "event": "new_relation",
        "account_id": "not-ours",
        "account_type": "LINKEDIN",
        "webhook_name": "outreach-users",
        "user_full_name": "Jane Doe",
        "user_provider_id": JANE,
        "user_public_identifier": "jane-doe",
        "user_profile_url": "https://www.linkedin.com/in/jane-doe/",
        "user_picture_url": None,
    }

    response = site.post(payload)

    assert response.json()["outcome"] == "accepted"
    [kept] = site.settled()
    assert (kept.outcome, kept.error) == ("ignored", "unknown_account")


# -- end to end: the fake Unipile delivers, the route receives ---------------------------------


def test_fake_unipile_delivers_a_reply_end_to_end(site: Site, tmp_path: Path) -> None:
    """Webhooks registered through the real client; the fake sends them as Unipile would."""
    simulator = open_simulator(f"sqlite:///{tmp_path / 'fake.db'}", behaviour=CALM)
    fake_app = create_fake_unipile_app(
        simulator,
        api_key="fake-key",
        webhook_url=None,
        webhook_secret=None,
        account_ids=[E2E_ACCOUNT],
        poll_interval=0.02,
    )
    with (
        serve(fake_app, lifespan="on") as fake_url,
        UnipileProvider(fake_url, "fake-key") as client,
    ):
        register_webhooks(client, f"{site.url}/api/webhooks/unipile", SECRET)
        person = client.get_profile(E2E_ACCOUNT, "lea-stone").provider_id
        journey_id = add_connected_journey(site.sessions, person, account_id=E2E_ACCOUNT)
        client.send_invitation(E2E_ACCOUNT, person, None)
        simulator.accept(E2E_ACCOUNT, person)
        client.send_message(E2E_ACCOUNT, person, "Thanks for connecting")
        simulator.reply(E2E_ACCOUNT, person, "Happy to talk")

        outcomes = wait_for(site, lambda seen: "processed" in seen.get("message_received", []))

    assert sorted(outcomes["message_received"]) == ["ignored", "processed"]  # ours, theirs
    with site.sessions() as session:
        journey = session.get(Journey, journey_id)
        assert journey is not None and journey.status is JourneyStatus.REPLIED


def wait_for(
    site: Site, done: Callable[[dict[str, list[str]]], bool], timeout: float = 5.0
) -> dict[str, list[str]]:
    """Outcomes of this account's deliveries by event, once ``done`` holds (or at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        with site.sessions() as session:
            rows = session.execute(
                sa.select(WebhookDelivery.event, WebhookDelivery.outcome, WebhookDelivery.payload)
            ).all()
        seen: dict[str, list[str]] = {}
        for event, outcome, payload in rows:
            if E2E_ACCOUNT in payload:
                seen.setdefault(event or "", []).append(outcome)
        if done(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def test_route_in_the_real_app_needs_the_webhook_secret_not_the_api_key(tmp_path: Path) -> None:
    """Mounted by ``create_app`` at ``/api/webhooks/unipile``, outside the bearer-key guard."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        api_key=SecretStr("api-bearer-key-of-twenty-chars"),
        webhook_secret=SecretStr(SECRET),
        executor_id=f"webhooks-test-{tmp_path.name}",
    )
    with serve(create_app(settings), lifespan="on") as url:
        site = Site(url, make_sessionmaker(create_engine(settings.database_url)))
        unsigned = site.post(message_received("app-1"), secret=None)
        signed = site.post(message_received("app-1", account_id="not-ours"))

        too_big = site.post(message_received("big", message="x" * 1_100_000))
        kept = site.settled()

    assert unsigned.status_code == 401
    assert signed.json() == {"outcome": "accepted", "detail": None}
    assert [(d.outcome, d.error) for d in kept][-1] == ("ignored", "unknown_account")
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large"
