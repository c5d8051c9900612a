"""The seed's timing, kept in what is sent, at 14400x, while another process loads both cores.

120 prospects on one sender in New York (09-18, Monday to Friday, 20 invitations a day),
the default sequence, through our HTTP API: on the simulator (SQLite), and 40 through the
fake Unipile (PostgreSQL). Judged from the journeys' timelines and, through the fake,
from what the fake LinkedIn received and when: every invitation gap inside the band,
every follow-up within a working day of its day, every action inside working hours, the
campaign finished in under five minutes of real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

import httpx
import pytest

from outreach import testing
from outreach.campaigns.scheduling import WorkingHours
from outreach.testing import new_york_sender, wait_until
from outreach.timing import (
    Sent,
    gaps_outside,
    invitation_gaps,
    late_follow_ups,
    outside_hours,
    per_day,
    sends_of,
)
from tests.e2e.conftest import ACCOUNTS, Stack, serve_sandbox

SCALE = 14_400.0
PROSPECTS = 120
# Through the fake Unipile every action is several HTTP calls and a webhook, each with
# its own transactions: a smaller campaign keeps the suite's time (bench/faithful_time.py
# runs the 120 through the fake as well).
PROSPECTS_THROUGH_FAKE = 40
HOURS = WorkingHours("America/New_York", clock_time(9), clock_time(18))
BAND = (timedelta(minutes=18), timedelta(minutes=23))
FOLLOW_UP_DAYS = (2, 7, 14, 19, 26)
REAL_LIMIT = 300.0  # seconds


@pytest.fixture
def busy_cores() -> Iterator[None]:
    """Another process keeping both cores busy for the whole test."""
    with testing.busy_cores():
        yield


def run_campaign(app: httpx.Client, people: list[dict[str, Any]], account: dict[str, Any]) -> int:
    created = app.post("/api/accounts", json=account)
    assert created.status_code == 201, created.text
    body = {"name": "Timing", "account_id": created.json()["id"]}
    campaign = app.post("/api/campaigns", json=body)
    assert campaign.status_code == 201, campaign.text
    campaign_id = int(campaign.json()["id"])
    imported = app.post(f"/api/campaigns/{campaign_id}/prospects", json=people)
    assert imported.status_code == 200 and imported.json()["imported"] == len(people)
    assert app.post(f"/api/campaigns/{campaign_id}/launch").status_code == 202
    return campaign_id


def sent_of(app: httpx.Client, campaign_id: int) -> list[Sent]:
    """Every invitation and message on the campaign's timelines (and who was connected)."""
    journeys = app.get(f"/api/campaigns/{campaign_id}/journeys?limit=1000").json()
    details = [app.get(f"/api/journeys/{j['id']}").json() for j in journeys]
    return [s for s in sends_of(details, FOLLOW_UP_DAYS) if s.kind != "withdrawal"]


def assert_faithful(sent: list[Sent], real_seconds: float, prospects: int = PROSPECTS) -> None:
    invitations = [s for s in sent if s.kind == "invitation"]
    connected = [s for s in sent if s.kind == "view"]
    assert len(invitations) + len(connected) == prospects
    assert outside_hours(sent, HOURS) == []
    gaps = invitation_gaps(sent, HOURS)
    assert len(gaps) >= len(invitations) - 10
    assert gaps_outside(gaps, *BAND) == [], sorted(gaps)[:3] + sorted(gaps)[-3:]
    assert max(per_day(sent, HOURS, "invitation").values()) <= 20
    assert late_follow_ups(sent, HOURS) == []
    assert any(s.kind == "message" and s.due is not None for s in sent)
    assert real_seconds < REAL_LIMIT


def wait_finished(app: httpx.Client, campaign_id: int, started: float) -> float:
    def finished() -> bool:
        return app.get(f"/api/campaigns/{campaign_id}").json()["status"] == "completed"

    wait_until(finished, timeout=REAL_LIMIT + 60, what="the campaign to complete")
    return time.monotonic() - started


def sandbox_people(count: int) -> list[dict[str, Any]]:
    return [
        {"profile_url": f"https://www.linkedin.com/in/timing-{i}", "first_name": "P"}
        for i in range(count)
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL: the fake's
def test_the_simulator_keeps_the_seeds_timing_under_load(
    database_url: str, busy_cores: None
) -> None:
    with serve_sandbox(database_url, time_scale=SCALE) as app:
        started = time.monotonic()
        campaign_id = run_campaign(app, sandbox_people(PROSPECTS), new_york_sender())
        real = wait_finished(app, campaign_id, started)
        assert_faithful(sent_of(app, campaign_id), real)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_fake_unipile_receives_the_seeds_timing_under_load(
    start_stack: Callable[..., Stack], busy_cores: None
) -> None:
    stack = start_stack(scale=SCALE, time_skip=True)
    people = stack.people(PROSPECTS_THROUGH_FAKE, lambda p: True)
    rows = [{"profile_url": p.profile_url, "first_name": p.first_name} for p in people]
    started = time.monotonic()
    account = new_york_sender(provider="unipile", external_id=ACCOUNTS[0])
    campaign_id = run_campaign(stack.app, rows, account)
    real = wait_finished(stack.app, campaign_id, started)
    sent = sent_of(stack.app, campaign_id)
    assert_faithful(sent, real, PROSPECTS_THROUGH_FAKE)
    # What the fake LinkedIn received, and when, says the same.
    received = [
        Sent(e["kind"], datetime.fromisoformat(e["at"]), 0)
        for e in stack.log()
        if e["kind"] in ("invitation", "message")
    ]
    assert len([r for r in received if r.kind == "invitation"]) == len(
        [s for s in sent if s.kind == "invitation"]
    )
    assert outside_hours(received, HOURS) == []
    assert gaps_outside(invitation_gaps(received, HOURS), *BAND) == []
    stack.assert_no_action_twice()
