"""Our app and the fake Unipile, each served by uvicorn on a loopback port, on one database.

The app runs with ``linkedin_provider="unipile"`` against the fake; the fake sends its
webhooks to the app's ``/api/webhooks/unipile``. The fake's simulator opens the app's
own database, so both sides read one simulated clock (see ``fake_unipile``). Tests drive
everything through HTTP: our JSON API, the fake's ``/_sandbox`` steering routes and its
``/api/v1`` routes. They read the database only for what no API shows (webhook
deliveries).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from outreach import runtime
from outreach.config import Settings
from outreach.linkedin.unipile import UnipileProvider, register_webhooks
from outreach.models import WebhookDelivery
from outreach.sandbox.fake_unipile import create_fake_unipile_app, open_simulator
from outreach.sandbox.fake_unipile.routes import FakeUnipile
from outreach.sandbox.people import Person
from outreach.sandbox.simulator import SandboxBehaviour, Simulator
from outreach.testing import API_KEY as API_KEY_OF_TESTS
from outreach.testing import (  # noqa: F401  (re-exported for the tests here)
    Steering,
    accepts_silently_within,
    api_client,
    find_people,
    never_accepts,
    wait_until,
)
from outreach.web.app import create_app
from tests.contract.validation import SpecValidator
from tests.loopback import free_socket, serve_on, url_of

# One simulated day is half a real second.
SCALE = 172_800.0
DAY = timedelta(days=1)
API_KEY = "e2e-unipile-key"
SECRET = "e2e-webhook-secret"
APP_KEY = API_KEY_OF_TESTS  # our API's bootstrap key
ACCOUNTS = ("e2e-account-a", "e2e-account-b")
# The people's behaviour: Unipile's own rates, no random errors (tests inject theirs).
BEHAVIOUR = SandboxBehaviour(seed=7, error_rate=0.0)
TERMINAL = {"completed", "not_accepted", "replied", "failed"}
# A short sequence for the error tests: check on day 1, follow-ups on days 1 and 2.
SHORT_SEQUENCE = {"acceptance_check_days": 1, "follow_up_days": [1, 2]}
SHORT_TEMPLATES = {
    "invitation_note": "Hi {{ first_name }}, let's connect.",
    "follow_ups": [
        "Thanks for connecting, {{ first_name }}!",
        "One last note, {{ first_name }}: happy to help whenever you need.",
    ],
}


def replies_after_follow_up_1(p: Person) -> bool:
    """Accepts, and answers the first follow-up."""
    return p.accepts and not p.already_connected and p.replies_after == 1


def always_open_account(external_id: str) -> dict[str, Any]:
    """A Unipile sender working every day, all day: day offsets read exactly."""
    return {
        "name": f"Sender {external_id}",
        "provider": "unipile",
        "external_id": external_id,
        "timezone": "UTC",
        "work_start": time(0, 0).isoformat(),
        "work_end": time(23, 59, 59).isoformat(),
        "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "daily_invite_cap": 100,
        "weekly_invite_cap": 500,
        "warmup_days": 0,
    }


@dataclass
class Stack:
    """Both servers, and the clients a test drives them with."""

    app: httpx.Client  # our API, at the app's base URL
    fake: httpx.Client  # the fake Unipile, at its base URL (``/_sandbox``, ``/api/v1``)
    app_url: str
    fake_url: str
    simulator: Simulator
    traffic: SpecValidator  # every call our client made to the fake, with its status
    fake_state: FakeUnipile  # the fake's own state (the accounts it knows)

    # -- setting up ------------------------------------------------------------------------

    def people(self, count: int, want: Callable[[Person], bool]) -> list[Person]:
        """Slugs whose simulated person behaves as wanted (the simulator is deterministic)."""
        return find_people(self.simulator, count, want, prefix="e2e")

    def create_account(self, external_id: str = ACCOUNTS[0]) -> int:
        response = self.app.post("/api/accounts", json=always_open_account(external_id))
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def create_campaign(self, account_id: int, people: list[Person], **options: Any) -> int:
        body = {"name": "E2E", "account_id": account_id, **options}
        response = self.app.post("/api/campaigns", json=body)
        assert response.status_code == 201, response.text
        campaign_id = int(response.json()["id"])
        rows = [
            {"profile_url": p.profile_url, "first_name": p.first_name, "last_name": p.last_name}
            for p in people
        ]
        imported = self.app.post(f"/api/campaigns/{campaign_id}/prospects", json=rows)
        assert imported.status_code == 200 and not imported.json()["errors"], imported.text
        return campaign_id

    def launch(self, campaign_id: int) -> None:
        response = self.app.post(f"/api/campaigns/{campaign_id}/launch")
        assert response.status_code == 202, response.text

    # -- steering the fake -----------------------------------------------------------------

    @property
    def steering(self) -> Steering:
        return Steering(self.fake)

    def inject(self, **errors: Any) -> None:
        """``POST /_sandbox/errors`` (transient_rate, disconnect, reconnect, restrict, …)."""
        self.steering.inject(**errors)

    def reset_errors(self) -> None:
        self.steering.reset_errors()

    def worker_env(self) -> dict[str, str]:
        """The environment of an ``outreach worker`` process driving this fake Unipile."""
        return {
            "OUTREACH_LINKEDIN_PROVIDER": "unipile",
            "UNIPILE_DSN": self.fake_url,
            "UNIPILE_API_KEY": API_KEY,
        }

    def log(self) -> list[dict[str, Any]]:
        """Every action the fake LinkedIn received, oldest first."""
        return self.steering.log()

    def assert_no_action_twice(self) -> None:
        self.steering.assert_no_action_twice()

    # -- reading our side ------------------------------------------------------------------

    def get(self, path: str) -> Any:
        response = self.app.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def account(self, account_id: int) -> dict[str, Any]:
        return dict(self.get(f"/api/accounts/{account_id}"))

    def journeys(self, campaign_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"/api/campaigns/{campaign_id}/journeys"))

    def journey(self, journey_id: int) -> dict[str, Any]:
        return dict(self.get(f"/api/journeys/{journey_id}"))

    def by_slug(self, campaign_id: int) -> dict[str, dict[str, Any]]:
        """Each journey of the campaign with its events, by the prospect's slug."""
        return {j["public_identifier"]: self.journey(j["id"]) for j in self.journeys(campaign_id)}

    def wait_journeys(
        self,
        campaign_id: int,
        test: Callable[[dict[str, Any]], bool],
        *,
        what: str,
        timeout: float = 60,
    ) -> list[dict[str, Any]]:
        """The campaign's journeys, once every one passes ``test``."""

        def passed() -> list[dict[str, Any]]:
            found = self.journeys(campaign_id)
            return found if found and all(test(j) for j in found) else []

        return wait_until(passed, timeout=timeout, what=what)

    def wait_ended(self, campaign_id: int, *, timeout: float = 60) -> list[dict[str, Any]]:
        return self.wait_journeys(
            campaign_id,
            lambda j: j["status"] in TERMINAL,
            what=f"every journey of campaign {campaign_id} to end",
            timeout=timeout,
        )

    def wait_account(self, account_id: int, status: str) -> dict[str, Any]:
        """The sender account, once its status is ``status``."""

        def reached() -> dict[str, Any]:
            found = self.account(account_id)
            return found if found["status"] == status else {}

        return wait_until(reached, what=f"account {account_id} to be {status}")

    def fake_now(self) -> datetime:
        """The fake's simulated time (to the millisecond, as Unipile writes times)."""
        return self.steering.now()

    def sim_now(self) -> datetime:
        return datetime.fromisoformat(self.get("/api/health")["sim_time"])

    def post_webhook(self, body: bytes, *, secret: str | None = SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["Unipile-Auth"] = secret
        return self.app.post("/api/webhooks/unipile", content=body, headers=headers)

    def deliveries(self, event: str | None = None) -> list[WebhookDelivery]:
        """The webhook deliveries our app recorded, oldest first, once each is processed
        (the app answers a delivery once it is stored, and processes it after)."""
        query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
        if event is not None:
            query = query.where(WebhookDelivery.event == event)
        kept: list[WebhookDelivery] = []

        def processed() -> bool:
            nonlocal kept
            with runtime.current().sessions() as session:
                kept = list(session.execute(query).scalars())
            return all(d.outcome != "received" for d in kept)

        wait_until(processed, what="the deliveries processed")
        return kept


@contextmanager
def serve_sandbox(database_url: str, **overrides: Any) -> Iterator[httpx.Client]:
    """Our app on the simulator (its own provider, no fake Unipile) over loopback, time
    compressed 14400x and skipping to the work due; a client for its API."""
    settings = Settings(
        **{
            "database_url": database_url,
            "time_scale": 14_400.0,
            "time_skip": True,
            "sandbox_error_rate": 0.0,
            "executor_id": f"e2e-{uuid.uuid4().hex[:8]}",
            "sweep_cron": "0 0 1 1 *",
            "api_key": APP_KEY,
        }
        | overrides
    )
    sock = free_socket()
    with (
        serve_on(create_app(settings), sock),
        api_client(url_of(sock), APP_KEY) as client,
    ):
        yield client


@pytest.fixture
def start_stack(database_url: str) -> Iterator[Callable[..., Stack]]:
    """Start our app and the fake Unipile on ``database_url`` (once per test: one DBOS
    runtime per process); stop both at the end.

    ``workers=False``: the app runs no queue (a worker process of the test's does).
    ``startup_webhook``: the fake sends every webhook to our app from the start (its
    ``--webhook-url``); without it, ``register_webhooks`` registers ours through the
    fake's ``POST /webhooks`` the way ``outreach unipile webhooks`` does.
    """
    with ExitStack() as stack:

        def start(
            *,
            new_relation_delay_hours: float = 0.0,
            startup_webhook: bool = True,
            scale: float = SCALE,
            workers: bool = True,
            **overrides: Any,
        ) -> Stack:
            app_sock, fake_sock = free_socket(), free_socket()
            app_url, fake_url = url_of(app_sock), url_of(fake_sock)
            settings = Settings(
                database_url=database_url,
                linkedin_provider="unipile",
                unipile_dsn=fake_url,
                unipile_api_key=SecretStr(API_KEY),
                webhook_secret=SecretStr(SECRET),
                time_scale=scale,
                sandbox_error_rate=0.0,
                executor_id=f"e2e-{uuid.uuid4().hex[:8]}",
                sweep_cron="0 0 1 1 *",
                api_key=APP_KEY,
                **overrides,
            )
            # The app first: its lifespan migrates the database and anchors the clock,
            # which the simulator then reads from the same row.
            stack.enter_context(serve_on(create_app(settings, workers=workers), app_sock))
            simulator = open_simulator(database_url, time_scale=scale, behaviour=BEHAVIOUR)
            webhook_url = f"{app_url}/api/webhooks/unipile"
            fake_app = create_fake_unipile_app(
                simulator,
                api_key=API_KEY,
                webhook_url=webhook_url if startup_webhook else None,
                webhook_secret=SECRET,
                account_ids=ACCOUNTS,
                new_relation_delay_hours=new_relation_delay_hours,
                retry_delays=(0.05, 0.1, 0.2, 0.4, 0.8),
                poll_interval=0.02,  # about an hour of simulated time
            )
            traffic = SpecValidator(fake_app, None)
            stack.enter_context(serve_on(traffic, fake_sock))  # stopped before the app
            app = stack.enter_context(api_client(app_url, APP_KEY))
            fake = stack.enter_context(httpx.Client(base_url=fake_url, timeout=30))
            if not startup_webhook:
                with UnipileProvider(fake_url, API_KEY) as client:
                    register_webhooks(client, webhook_url, SECRET)
            return Stack(app, fake, app_url, fake_url, simulator, traffic, fake_app.state.fake)

        yield start


def days_between(later: str | datetime, earlier: str | datetime) -> float:
    def parse(value: str | datetime) -> datetime:
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    return (parse(later) - parse(earlier)) / DAY


def kinds(journey: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in journey["events"]]


def events_of(journey: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in journey["events"] if e["kind"] == kind]
