"""The journey's wait in words: each reason a stage runs when it does, and lateness.

Pure cases on ``waiting.explain``, then the line of real journeys on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from outreach.accounts.commands import pause_account
from outreach.accounts.schemas import Governor, Usage
from outreach.campaigns.scheduling import WorkingHours
from outreach.campaigns.sequence import SequenceSpec
from outreach.journeys.service import journey_detail
from outreach.journeys.waiting import Sender, Waiting, explain
from outreach.models import AccountStatus, JourneyStatus
from outreach.testing import (
    find_people,
    journeys,
    launch,
    never_accepts,
    new_campaign,
    started,
    test_settings,
    wait_until,
)

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Paris
PARIS = WorkingHours("Europe/Paris", time(9), time(18), frozenset(range(5)))
SPEC = SequenceSpec()


def _usage(today: int = 0, cap: int = 25) -> Usage:
    return Usage(today=today, day_cap=cap, this_week=today, week_cap=100)


def _sender(**changes: object) -> Sender:
    governor = Governor(
        invitations=_usage(),
        messages=_usage(cap=80),
        views=_usage(cap=150),
        warming_up=False,
        pending_invitations=3,
        pending_limit=200,
        next_action_at=None,
        busy=False,
    )
    sender = Sender(
        status=AccountStatus.ACTIVE,
        status_reason=None,
        paused_until=None,
        hours=PARIS,
        usage=governor,
        busy_journey_id=None,
        withdraw_after_days=21,
    )
    return replace(sender, **changes)  # type: ignore[arg-type]


def _journey(stage: str, due: datetime, **changes: object) -> Waiting:
    journey = Waiting(
        id=7,
        name="Ada <b>Lovelace</b>",
        status="connected",
        stage=stage,
        next_run_at=due,
        held=False,
        waiting_for=None,
        invited_at=NOW - timedelta(days=3),
        campaign_paused=False,
    )
    return replace(journey, **changes)  # type: ignore[arg-type]


def test_a_sleeping_step_says_its_place_in_the_sequence() -> None:
    later = NOW + timedelta(days=4)
    line = explain(_journey("follow_up:2", later), SPEC, _sender(), now=NOW, scale=1)
    assert (line.state, line.until, line.overdue) == ("sleeping", later, False)
    assert line.what == "send follow-up 2"
    assert line.why == "follow-up 2 of 5, on day 7 after the invitation"
    check = explain(
        _journey("check_acceptance", later, status="invited"), SPEC, _sender(), now=NOW, scale=1
    )
    assert check.what == "check whether Ada <b>Lovelace</b> accepted"
    assert check.why.startswith("the acceptance window: 2 days after the invitation")


def test_a_due_step_says_what_holds_it_back() -> None:
    due = NOW - timedelta(minutes=1)
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=UTC)
    closed = explain(_journey("follow_up:1", saturday), SPEC, _sender(), now=saturday, scale=1)
    assert (
        closed.why
        == "outside the sender's working hours (Mon\u2013Fri 09:00\u201318:00 Europe/Paris)"
    )
    assert closed.until == datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # Monday 09:00 in Paris

    full = _sender().usage.model_copy(
        update={"invitations": _usage(25), "next_action_at": NOW + timedelta(hours=20)}
    )
    capped = explain(
        _journey("invite", due, status="scheduled"), SPEC, _sender(usage=full), now=NOW, scale=1
    )
    assert capped.why == "invitations: today's cap is used (25 of 25)"
    assert capped.until == NOW + timedelta(hours=20) and not capped.overdue

    crowded = _sender().usage.model_copy(update={"pending_invitations": 200})
    waiting = explain(
        _journey("invite", due, status="scheduled"), SPEC, _sender(usage=crowded), now=NOW, scale=1
    )
    assert waiting.why.startswith("200 invitations wait for an answer (the limit is 200)")
    # The limit is for invitations only: a follow-up goes.
    message = explain(_journey("follow_up:1", due), SPEC, _sender(usage=crowded), now=NOW, scale=1)
    assert message.why == "due now: starting"

    paced = _sender().usage.model_copy(update={"next_action_at": NOW + timedelta(minutes=12)})
    turn = explain(_journey("follow_up:1", due), SPEC, _sender(usage=paced), now=NOW, scale=1)
    assert turn.why.startswith("its turn: the sender paces") and turn.until == NOW + timedelta(
        minutes=12
    )

    busy = explain(_journey("follow_up:1", due), SPEC, _sender(busy_journey_id=7), now=NOW, scale=1)
    assert busy.state == "running"
    other = explain(
        _journey("follow_up:1", due), SPEC, _sender(busy_journey_id=8), now=NOW, scale=1
    )
    assert other.why == "its turn: the sender is busy with another prospect's step"

    paused = explain(
        _journey("follow_up:1", due),
        SPEC,
        _sender(status=AccountStatus.PAUSED, status_reason="LinkedIn restricted this account"),
        now=NOW,
        scale=1,
    )
    assert (paused.state, paused.why) == (
        "held",
        "the sender is paused: LinkedIn restricted this account",
    )
    until = NOW + timedelta(hours=9)
    backing = explain(
        _journey("follow_up:1", due),
        SPEC,
        _sender(
            status=AccountStatus.BACKOFF, status_reason="too many requests", paused_until=until
        ),
        now=NOW,
        scale=1,
    )
    assert backing.why == "the sender is backing off: too many requests" and backing.until == until
    held = explain(
        _journey("follow_up:1", due, held=True, waiting_for="campaign paused"),
        SPEC,
        _sender(),
        now=NOW,
        scale=1,
    )
    assert (held.state, held.why, held.until) == ("held", "held: campaign paused", None)


def test_a_step_due_long_ago_with_nothing_holding_it_is_late() -> None:
    just = explain(
        _journey("follow_up:1", NOW - timedelta(minutes=2)), SPEC, _sender(), now=NOW, scale=1
    )
    assert (just.state, just.overdue) == ("due", False)
    late = explain(
        _journey("follow_up:1", NOW - timedelta(hours=1)), SPEC, _sender(), now=NOW, scale=1
    )
    assert (late.state, late.overdue, late.until) == ("late", True, NOW - timedelta(hours=1))
    assert "no worker has started it" in late.why
    # Compressed time: an hour of simulated time is no time at all for a worker.
    fast = explain(
        _journey("follow_up:1", NOW - timedelta(hours=1)), SPEC, _sender(), now=NOW, scale=86_400
    )
    assert not fast.overdue
    ended = explain(
        replace(_journey("follow_up:1", NOW), stage=None, next_run_at=None, status="replied"),
        SPEC,
        _sender(),
        now=NOW,
        scale=1,
    )
    assert (ended.state, ended.what) == ("done", "the journey has ended: nothing more is sent")


def test_the_line_of_real_journeys(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        people = find_people(rt, 1, never_accepts)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        invited = wait_until(
            lambda: next(
                (j for j in journeys(rt, campaign_id) if j.status is JourneyStatus.INVITED), None
            ),
            what="the invitation",
        )
        with rt.sessions() as session:
            line = journey_detail(
                session, invited.id, now=rt.clock.now(), scale=rt.clock.scale
            ).wait
        assert line is not None and line.what.startswith("check whether")
        assert line.state in ("sleeping", "due", "running")
        pause_account(rt, invited.account_id)
        with rt.sessions() as session:
            line = journey_detail(
                session, invited.id, now=rt.clock.now(), scale=rt.clock.scale
            ).wait
        assert line is not None and line.state == "held", line
        assert "paused" in line.why
