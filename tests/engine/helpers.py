"""Helpers for engine tests: a started runtime on a given database, and waiting for states."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any, TypeVar

import sqlalchemy as sa
from dbos import DBOS

from outreach import runtime
from outreach.accounts.schemas import AccountCreate
from outreach.accounts.service import create_account
from outreach.campaigns.schemas import CampaignCreate
from outreach.campaigns.service import activate, create_campaign
from outreach.campaigns.workflows import schedule_campaign
from outreach.config import Settings
from outreach.linkedin.people import Person
from outreach.models import TERMINAL_STATUSES, Journey, JourneyEvent
from outreach.prospects.service import import_prospects
from outreach.runtime import Runtime

T = TypeVar("T")

# One simulated day is half a real second.
TEST_SCALE = 172_800.0


def engine_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "time_scale": TEST_SCALE,
        "sandbox_error_rate": 0.0,
        "executor_id": f"test-{uuid.uuid4().hex[:8]}",
        "sweep_cron": "0 0 1 1 *",
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def started(settings: Settings, *, workers: bool = True) -> Iterator[Runtime]:
    rt = runtime.start(settings, workers=workers)
    try:
        yield rt
    finally:
        runtime.stop()


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


def find_people(
    rt: Runtime, count: int, want: Callable[[Person], bool], prefix: str = "p"
) -> list[Person]:
    """Slugs whose seeded simulated person behaves as wanted (the simulator is deterministic)."""
    found: list[Person] = []
    for i in range(10_000):
        person = rt.simulator.person(f"{prefix}-{i}")
        if want(person):
            found.append(person)
            if len(found) == count:
                return found
    raise AssertionError("no such people in 10,000 slugs")


def accepts_silently(p: Person) -> bool:
    return p.accepts and not p.already_connected and p.replies_after is None


def never_accepts(p: Person) -> bool:
    return not p.accepts and not p.already_connected


def always_open_account() -> AccountCreate:
    """Working every day, all day: day offsets read exactly."""
    return AccountCreate(
        name="Test sender",
        timezone="UTC",
        work_start=clock_time(0, 0),
        work_end=clock_time(23, 59, 59),
        work_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        daily_invite_cap=100,
        weekly_invite_cap=500,
        invite_gap_min_minutes=18,
        invite_gap_max_minutes=23,
    )


def new_campaign(
    rt: Runtime, people: list[Person], *, account: AccountCreate | None = None, **campaign: Any
) -> int:
    now = rt.clock.now()
    with rt.sessions.begin() as session:
        acc = create_account(session, account or always_open_account(), now=now)
        created = create_campaign(
            session, CampaignCreate(name="Test", account_id=acc.id, **campaign), now=now
        )
        add_people(session, created.id, people, now=now)
        return created.id


def add_people(session: Any, campaign_id: int, people: list[Person], *, now: Any) -> None:
    rows = [
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
    result = import_prospects(session, campaign_id, rows, now=now)
    assert not result.errors, result.errors


def launch(rt: Runtime, campaign_id: int) -> int:
    with rt.sessions.begin() as session:
        activate(session, campaign_id, now=rt.clock.now())
    return int(DBOS.start_workflow(schedule_campaign, campaign_id).get_result())


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


def by_slug(rt: Runtime, campaign_id: int) -> dict[str, Journey]:
    return {j.prospect.public_identifier: j for j in journeys(rt, campaign_id)}


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
