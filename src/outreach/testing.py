"""Helpers for testing with Outreach: a started runtime, simulated people who behave as
wanted, campaigns made through the same commands a user runs, waiting for states, and a
client that steers the fake Unipile server.

Used by Outreach's own tests; usable by anyone who builds on it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
from dbos import DBOS

from outreach import runtime
from outreach.accounts.commands import create_account
from outreach.accounts.schemas import AccountCreate
from outreach.campaigns.commands import create_campaign
from outreach.campaigns.commands import launch as launch_command
from outreach.campaigns.schemas import CampaignCreate
from outreach.clock import load_clock
from outreach.config import Settings
from outreach.db import create_engine, make_sessionmaker
from outreach.linkedin.provider import LinkedInProvider
from outreach.migrations import upgrade
from outreach.models import TERMINAL_STATUSES, EventKind, Journey, JourneyEvent
from outreach.prospects.commands import import_prospects
from outreach.runtime import Runtime
from outreach.sandbox.people import Person
from outreach.sandbox.simulator import SandboxBehaviour, SandboxProvider, Simulator

T = TypeVar("T")

# One simulated day is half a real second.
TEST_SCALE = 172_800.0
NEVER = "0 0 1 1 *"  # a cron that does not fire during a test
# The bootstrap key of test servers (``test_settings``): ``Authorization: Bearer API_KEY``.
API_KEY = "test-bootstrap-key-" + uuid.uuid4().hex
ADMIN_NAME = "admin"
# Debian's chromium for browser tests, started as this machine needs it (no sandbox as
# root, and none of the background traffic a closed network refuses).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PASSWORD = "a long test password"


def test_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test: compressed time, no random errors, a fresh executor id."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "time_scale": TEST_SCALE,
        "sandbox_error_rate": 0.0,
        "executor_id": f"test-{uuid.uuid4().hex[:8]}",
        "sweep_cron": NEVER,
        "api_key": API_KEY,
    }
    values.update(overrides)
    return Settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test for pytest


def api_headers(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def api_client(base_url: str, key: str = API_KEY, **options: Any) -> httpx.Client:
    """An HTTP client of the API, with a bearer key (the test servers' bootstrap key)."""
    options.setdefault("timeout", 30)
    return httpx.Client(base_url=base_url, headers=api_headers(key), **options)


def ensure_user(
    rt: Runtime, username: str = ADMIN_NAME, password: str = ADMIN_PASSWORD, role: str = "admin"
) -> None:
    """A user who can log in (made once)."""
    from outreach.users.commands import create_user
    from outreach.users.repository import by_username
    from outreach.users.schemas import BOOTSTRAP, UserCreate

    with rt.sessions() as session:
        if by_username(session, username) is not None:
            return
    create_user(rt, BOOTSTRAP, UserCreate(username=username, password=password, role=role))


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Dashboard:
    """An HTTP client logged in to the dashboard as a person would be: it reads each
    page's CSRF token and sends it back with the forms it posts."""

    def __init__(
        self, base_url: str, *, username: str = ADMIN_NAME, password: str = ADMIN_PASSWORD
    ) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.csrf = ""
        page = self.get("/login")
        answer = self.post("/login", data={"username": username, "password": password, "next": "/"})
        if answer.status_code != 303:
            raise AssertionError(f"login failed: {answer.status_code} {page.status_code}")
        self.get("/settings")

    def _remember(self, response: httpx.Response) -> httpx.Response:
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self._remember(self.client.get(path, **options))

    def post(self, path: str, data: dict[str, Any] | None = None, **options: Any) -> httpx.Response:
        body = {"csrf_token": self.csrf} | (data or {})
        return self._remember(self.client.post(path, data=body, **options))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def browser_login(
    page: Any, base_url: str, *, username: str = ADMIN_NAME, password: str = ADMIN_PASSWORD
) -> None:
    """Log a Playwright page in through the login form."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


@contextmanager
def started(settings: Settings, *, workers: bool = True, **options: Any) -> Iterator[Runtime]:
    """A started runtime (``runtime.start``'s options pass through), stopped at the end."""
    rt = runtime.start(settings, workers=workers, **options)
    try:
        yield rt
    finally:
        runtime.stop()


@contextmanager
def wrapped_sandbox(
    settings: Settings, wrap: Callable[[LinkedInProvider], LinkedInProvider]
) -> Iterator[dict[str, Any]]:
    """``runtime.start``'s options (also ``create_app``'s) for a LinkedIn that is the
    simulator behind ``wrap`` (a provider that injects faults or latency, say); the
    simulator's replies are delivered as usual."""
    engine = create_engine(settings.database_url)
    try:
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        clock = load_clock(sessions, settings.time_scale)
        simulator = Simulator(sessions, clock.now, SandboxBehaviour.from_settings(settings))
        yield {"provider": wrap(SandboxProvider(simulator)), "clock": clock, "simulator": simulator}
    finally:
        engine.dispose()


@contextmanager
def started_with(
    settings: Settings, wrap: Callable[[LinkedInProvider], LinkedInProvider], **options: Any
) -> Iterator[Runtime]:
    """A started runtime whose LinkedIn is the simulator behind ``wrap``."""
    with wrapped_sandbox(settings, wrap) as sandbox, started(settings, **sandbox, **options) as rt:
        yield rt


class ProviderWrapper:
    """A provider that asks ``before(method, first_argument)`` before each call of ``inner``
    about a person and ``after(method)`` once it has answered (to raise, or to wait)."""

    def __init__(
        self,
        inner: LinkedInProvider,
        *,
        before: Callable[[str, str], None] = lambda method, about: None,
        after: Callable[[str], None] = lambda method: None,
    ) -> None:
        self.inner, self.before, self.after = inner, before, after

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(account: str, *args: Any, **kwargs: Any) -> Any:
            if args:
                self.before(name, str(args[0]))
            answer = method(account, *args, **kwargs)
            self.after(name)
            return answer

        return call


def wait_until(check: Callable[[], T], *, timeout: float = 60.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


# -- people who behave as wanted ----------------------------------------------------------


def find_people(
    source: Runtime | Simulator, count: int, want: Callable[[Person], bool], prefix: str = "p"
) -> list[Person]:
    """Slugs whose seeded simulated person behaves as wanted (the simulator is deterministic)."""
    simulator = source.simulator if isinstance(source, Runtime) else source
    assert simulator is not None, "the sandbox drives LinkedIn here"
    found: list[Person] = []
    for i in range(10_000):
        person = simulator.person(f"{prefix}-{i}")
        if want(person):
            found.append(person)
            if len(found) == count:
                return found
    raise AssertionError("no such people in 10,000 slugs")


def accepts_silently(p: Person) -> bool:
    return p.accepts and not p.already_connected and p.replies_after is None


def never_accepts(p: Person) -> bool:
    return not p.accepts and not p.already_connected


def accepts_silently_within(hours: tuple[float, float]) -> Callable[[Person], bool]:
    """Accepts between ``hours`` after the invitation, never replies, was not connected."""
    low, high = hours
    return lambda p: (
        accepts_silently(p) and (timedelta(hours=low) <= p.accept_delay <= timedelta(hours=high))
    )


# -- campaigns through the commands --------------------------------------------------------


def always_open_account(**fields: Any) -> AccountCreate:
    """A sender working every day, all day: day offsets read exactly."""
    values: dict[str, Any] = {
        "name": "Test sender",
        "timezone": "UTC",
        "work_start": clock_time(0, 0),
        "work_end": clock_time(23, 59, 59),
        "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "daily_invite_cap": 100,
        "weekly_invite_cap": 500,
        "warmup_days": 0,  # tests that want a warm-up ask for one
    }
    return AccountCreate(**(values | fields))


def prospect_rows(people: list[Person]) -> list[tuple[int, dict[str, Any]]]:
    return [
        (
            i,
            {
                "profile_url": p.profile_url,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "company": p.company,
            },
        )
        for i, p in enumerate(people, start=1)
    ]


def new_campaign(
    rt: Runtime, people: list[Person], *, account: AccountCreate | None = None, **campaign: Any
) -> int:
    """A new sender and a draft campaign to ``people``; the campaign's id."""
    sender = create_account(rt, account or always_open_account())
    created = create_campaign(rt, CampaignCreate(name="Test", account_id=sender.id, **campaign))
    add_people(rt, created.id, people)
    return created.id


def add_people(rt: Runtime, campaign_id: int, people: list[Person]) -> None:
    """Import ``people``, every one of them: none rejected, in another campaign or blocked."""
    result = import_prospects(rt, campaign_id, prospect_rows(people))
    assert not result.errors, result.errors
    assert not result.conflicts, f"already in another campaign: {result.conflicts}"
    assert not result.blocked, f"on the do-not-contact list: {result.blocked}"


def launch(rt: Runtime, campaign_id: int) -> int:
    """Launch and wait for the launch's scheduling; how many journeys it created."""
    accepted = launch_command(rt, campaign_id)
    assert accepted.workflow_id is not None
    return int(DBOS.retrieve_workflow(accepted.workflow_id).get_result())


# -- reading what happened -----------------------------------------------------------------


def journeys(rt: Runtime, campaign_id: int) -> list[Journey]:
    with rt.sessions() as session:
        query = sa.select(Journey).where(Journey.campaign_id == campaign_id).order_by(Journey.id)
        return list(session.execute(query).unique().scalars())


def all_ended(rt: Runtime, campaign_id: int) -> list[Journey] | None:
    found = journeys(rt, campaign_id)
    return found if found and all(j.status in TERMINAL_STATUSES for j in found) else None


def events(rt: Runtime, journey_id: int) -> list[JourneyEvent]:
    with rt.sessions() as session:
        query = (
            sa.select(JourneyEvent)
            .where(JourneyEvent.journey_id == journey_id)
            .order_by(JourneyEvent.id)
        )
        return list(session.execute(query).scalars())


# What the reply agent adds to a timeline after a reply, at its own pace.
AGENT_EVENTS = frozenset(
    {
        EventKind.DRAFT_READY,
        EventKind.DRAFT_SUPERSEDED,
        EventKind.DRAFT_REJECTED,
        EventKind.DRAFT_EXPIRED,
        EventKind.ANSWER_APPROVED,
        EventKind.ANSWER_SENT,
        EventKind.ANSWER_FAILED,
    }
)


def stage_kinds(rt: Runtime, journey_id: int) -> list[EventKind]:
    """The journey's timeline without the reply agent's events."""
    return [e.kind for e in events(rt, journey_id) if e.kind not in AGENT_EVENTS]


def by_slug(rt: Runtime, campaign_id: int) -> dict[str, Journey]:
    return {j.prospect.public_identifier: j for j in journeys(rt, campaign_id)}


def repeated_actions(log: list[dict[str, Any]]) -> dict[tuple[Any, ...], int]:
    """Actions LinkedIn received more than once: an invitation (kind, recipient) or a
    message (kind, recipient, text)."""
    keys = Counter(
        (e["kind"], e["recipient"])
        if e["kind"] == "invitation"
        else (e["kind"], e["recipient"], e["text"])
        for e in log
        if e["kind"] != "withdrawal"
    )
    return {key: n for key, n in keys.items() if n > 1}


Event = tuple[str, datetime, dict[str, Any]]  # kind, at, details


def assert_on_schedule(
    timeline: list[Event], days: tuple[float, ...] = (2, 7, 14, 19, 26), check_day: float = 2
) -> None:
    """Follow-ups were due on their days, counted from the invitation, and none ran early.

    Deterministic: it compares the times the engine planned (``due``) with the times it
    recorded, not with how fast this machine ran them (that is a benchmark's business).
    Follow-up 1 is due when the acceptance check saw the acceptance, on ``check_day``.
    """
    invited = next(at for kind, at, _ in timeline if kind == "invitation_sent")
    accepted = next(at for kind, at, _ in timeline if kind == "invitation_accepted")
    sent = [(at, details) for kind, at, details in timeline if kind == "message_sent"]
    assert [details["follow_up"] for _, details in sent] == list(range(1, len(days) + 1))
    assert accepted >= invited + timedelta(days=check_day), "the check is not early"
    for (at, details), day in zip(sent, days, strict=True):
        planned = invited + timedelta(days=day)
        if details["follow_up"] == 1:  # right after the check that saw the acceptance
            planned = max(planned, accepted)
        assert datetime.fromisoformat(details["due"]) == planned, (details, day)
        assert at >= planned, f"follow-up {details['follow_up']} ran before it was due"


# -- the fake Unipile's steering routes ----------------------------------------------------


@dataclass
class Steering:
    """A client of the fake Unipile's ``/_sandbox`` routes."""

    http: httpx.Client

    def inject(self, **errors: Any) -> None:
        """``POST /_sandbox/errors`` (transient_rate, disconnect, reconnect, restrict, …)."""
        response = self.http.post("/_sandbox/errors", json=errors)
        assert response.status_code == 200, response.text

    def reset_errors(self) -> None:
        assert self.http.post("/_sandbox/reset-errors").status_code == 200

    def log(self) -> list[dict[str, Any]]:
        """Every action the fake LinkedIn received, oldest first."""
        response = self.http.get("/_sandbox/log")
        assert response.status_code == 200
        return list(response.json()["items"])

    def accept(self, account_id: str, provider_id: str) -> str:
        response = self.http.post(
            "/_sandbox/accept", json={"account_id": account_id, "provider_id": provider_id}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["invitation_id"])

    def reply(self, account_id: str, provider_id: str, text: str | None = None) -> str:
        body = {"account_id": account_id, "provider_id": provider_id, "text": text}
        response = self.http.post("/_sandbox/reply", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["message_id"])

    def now(self) -> datetime:
        """The fake's simulated time (to the millisecond, as Unipile writes times)."""
        response = self.http.get("/_sandbox/clock")
        assert response.status_code == 200
        return datetime.fromisoformat(response.json()["now"])

    def assert_no_action_twice(self) -> None:
        repeated = repeated_actions(self.log())
        assert not repeated, f"the fake LinkedIn received the same action twice: {repeated}"


# -- the timing scenario and the load it runs under ---------------------------------------


def new_york_sender(**fields: Any) -> dict[str, Any]:
    """The issue's sender, as ``POST /api/accounts`` takes it: New York, 09-18 Monday to
    Friday, 20 invitations a day, no warm-up."""
    return {
        "name": "New York sender",
        "timezone": "America/New_York",
        "work_start": "09:00:00",
        "work_end": "18:00:00",
        "work_days": ["mon", "tue", "wed", "thu", "fri"],
        "daily_invite_cap": 20,
        "weekly_invite_cap": 100,
        "warmup_days": 0,
        **fields,
    }


@contextmanager
def busy_cores() -> Iterator[None]:
    """One busy-looping process per core for the whole block; only those are stopped."""
    burners = [
        subprocess.Popen(
            [sys.executable, "-c", "while True: pass"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
