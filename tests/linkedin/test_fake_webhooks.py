"""Webhooks out of the fake Unipile reach a real loopback receiver, the way Unipile sends them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach.db import Base, create_engine, make_sessionmaker
from outreach.sandbox.fake_unipile import create_fake_unipile_app
from outreach.sandbox.people import provider_id_for
from outreach.sandbox.records import own_provider_id
from outreach.sandbox.simulator import SandboxBehaviour, Simulator
from tests.loopback import serve

API_KEY = "hook-key"
ACCOUNT = "acc-hooks"
SECRET = "s3cret"
JANE = provider_id_for("jane-roe")
CALM = SandboxBehaviour(
    seed=9, accept_rate=0.0, reply_rate=0.0, error_rate=0.0, already_connected_rate=0.0
)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A loopback HTTP server that records every POST; the first ``failures`` answer 500."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[Received] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver.received.append(Received(headers, body))
                failing = len(receiver.received) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, test: Callable[[list[Received]], bool], timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while not test(list(self.received)):
            assert time.monotonic() < deadline, f"not received in time: {self.received}"
            time.sleep(0.01)

    def events(self) -> list[Any]:
        return [item.json() for item in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ManualClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current


@dataclass
class Setup:
    simulator: Simulator
    clock: ManualClock
    api: httpx.Client
    steer: httpx.Client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Setup]]:
    """Start fake Unipiles (simulated clock moved by hand) with the given app options."""
    engine = create_engine(f"sqlite:///{tmp_path / 'fake.db'}")
    Base.metadata.create_all(engine)
    with ExitStack() as stack:

        def start(**options: Any) -> Setup:
            clock = ManualClock()
            simulator = Simulator(make_sessionmaker(engine), clock, CALM)
            options = {"webhook_url": None, "webhook_secret": SECRET, **options}
            app = create_fake_unipile_app(
                simulator,
                api_key=API_KEY,
                account_ids=[ACCOUNT],
                retry_delays=(0.05, 0.05, 0.05, 0.05, 0.05),
                poll_interval=0.02,
                **options,
            )
            url = stack.enter_context(serve(app, lifespan="on"))
            headers = {"X-API-KEY": API_KEY}
            api = stack.enter_context(httpx.Client(base_url=f"{url}/api/v1", headers=headers))
            steer = stack.enter_context(httpx.Client(base_url=f"{url}/_sandbox"))
            return Setup(simulator, clock, api, steer)

        yield start
    engine.dispose()


def connect(setup: Setup, provider_id: str) -> None:
    body = {"account_id": ACCOUNT, "provider_id": provider_id}
    assert setup.api.post("/users/invite", json=body).status_code == 200
    accepted = setup.steer.post("/accept", json={"account_id": ACCOUNT, "provider_id": provider_id})
    assert accepted.status_code == 200


def test_messages_and_relations_are_posted_as_flat_json_with_the_secret(
    start: Callable[..., Setup], receiver: Receiver
) -> None:
    setup = start(webhook_url=receiver.url)
    connect(setup, JANE)
    receiver.wait_for(lambda got: len(got) == 1)
    relation = receiver.events()[0]
    assert (relation["event"], relation["user_provider_id"]) == ("new_relation", JANE)
    assert relation["user_public_identifier"] == "jane-roe"

    form = [("account_id", ACCOUNT), ("attendees_ids", JANE), ("text", "Hi Jane")]
    chat = setup.api.post("/chats", files=[(k, (None, v.encode())) for k, v in form])
    assert chat.status_code == 201
    setup.steer.post("/reply", json={"account_id": ACCOUNT, "provider_id": JANE, "text": "Hello!"})
    receiver.wait_for(lambda got: len(got) == 3)

    ours, theirs = receiver.events()[1:]
    own = own_provider_id(ACCOUNT)
    for event in (ours, theirs):
        assert event["event"] == "message_received" and event["account_id"] == ACCOUNT
        assert event["account_info"] == {"type": "LINKEDIN", "feature": "classic", "user_id": own}
        assert event["chat_id"] == chat.json()["chat_id"]
        assert [a["attendee_provider_id"] for a in event["attendees"]] == [JANE]
    assert (ours["message"], ours["is_sender"], ours["sender"]["attendee_provider_id"]) == (
        "Hi Jane",
        True,
        own,
    )
    assert (theirs["message"], theirs["is_sender"], theirs["sender"]["attendee_provider_id"]) == (
        "Hello!",
        False,
        JANE,
    )
    for item in receiver.received:
        assert item.headers["content-type"] == "application/json"
        assert item.headers["unipile-auth"] == SECRET


def test_a_failed_delivery_is_retried(start: Callable[..., Setup]) -> None:
    receiver = Receiver(failures=2)
    try:
        setup = start(webhook_url=receiver.url)
        setup.simulator.reply(ACCOUNT, JANE, "Are you there?")
        receiver.wait_for(lambda got: len(got) == 3)
        time.sleep(0.2)
        assert len(receiver.received) == 3  # delivered on the third attempt, then no more
        assert len({item.body for item in receiver.received}) == 1
    finally:
        receiver.close()


def test_a_delivery_is_given_up_after_five_retries(start: Callable[..., Setup]) -> None:
    receiver = Receiver(failures=100)
    try:
        setup = start(webhook_url=receiver.url)
        setup.simulator.reply(ACCOUNT, JANE, "Hello?")
        receiver.wait_for(lambda got: len(got) == 6)
        time.sleep(0.3)
        assert len(receiver.received) == 6
    finally:
        receiver.close()


def test_registered_webhooks_get_their_events_and_headers_only(
    start: Callable[..., Setup], receiver: Receiver
) -> None:
    setup = start()
    registration = {
        "request_url": receiver.url,
        "source": "users",
        "name": "outreach-users",
        "headers": [{"key": "Unipile-Auth", "value": "other-secret"}],
    }
    assert setup.api.post("/webhooks", json=registration).status_code == 201
    setup.simulator.reply(ACCOUNT, JANE, "Not for the users webhook")
    connect(setup, JANE)
    receiver.wait_for(lambda got: len(got) == 1)
    time.sleep(0.2)
    [item] = receiver.received
    assert item.json()["event"] == "new_relation"
    assert item.json()["webhook_name"] == "outreach-users"
    assert item.headers["unipile-auth"] == "other-secret"
    assert "content-type" not in item.headers  # Unipile adds none unless registered


def test_account_status_changes_and_messages_held_while_disconnected(
    start: Callable[..., Setup], receiver: Receiver
) -> None:
    setup = start(webhook_url=receiver.url)
    assert setup.steer.post("/errors", json={"disconnect": ACCOUNT}).status_code == 200
    receiver.wait_for(lambda got: len(got) == 1)
    setup.simulator.reply(ACCOUNT, JANE, "Written while you were away")
    time.sleep(0.2)
    assert len(receiver.received) == 1

    assert setup.steer.post("/errors", json={"reconnect": ACCOUNT}).status_code == 200
    receiver.wait_for(lambda got: len(got) == 3)
    statuses = [e["AccountStatus"] for e in receiver.events() if "AccountStatus" in e]
    assert statuses == [
        {"account_id": ACCOUNT, "account_type": "LINKEDIN", "message": "CREDENTIALS"},
        {"account_id": ACCOUNT, "account_type": "LINKEDIN", "message": "RECONNECTED"},
    ]
    assert receiver.events()[-1]["message"] == "Written while you were away"


def test_new_relation_waits_for_its_configured_delay(
    start: Callable[..., Setup], receiver: Receiver
) -> None:
    setup = start(webhook_url=receiver.url, new_relation_delay_hours=5)
    connect(setup, JANE)
    time.sleep(0.2)
    assert receiver.received == []
    setup.clock.current += timedelta(hours=5)
    receiver.wait_for(lambda got: len(got) == 1)
    assert receiver.events()[0]["event"] == "new_relation"
