"""The send governor with plain dates: caps, ramps, priorities, gaps, hours, senders."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.accounts.governor import (
    Action,
    Band,
    Candidate,
    Caps,
    Done,
    History,
    Policy,
    Ramp,
    Step,
    decide,
    earliest,
)
from outreach.accounts.simulate import Path, simulate
from outreach.campaigns.rotation import SenderLoad, assign_senders
from outreach.campaigns.scheduling import WorkingHours
from outreach.campaigns.sequence import SequenceSpec, Stage, StageRef

NEW_YORK = WorkingHours("America/New_York", time(9), time(18))
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # 14:00 UTC
SPEC = SequenceSpec()


def policy(sender: int = 1, *, day: int = 20, week: int = 80, **changes: object) -> Policy:
    caps = {
        Action.INVITATION: Caps(day, week),
        Action.MESSAGE: Caps(80, 400),
        Action.VIEW: Caps(150, 700),
    }
    return Policy(sender, NEW_YORK, caps, **changes)  # type: ignore[arg-type]


def invitations(campaigns: int, each: int, *, sender: int = 1, start_key: int = 0) -> list[Path]:
    return [
        Path(start_key + c * each + i, c, sender, StageRef(Stage.INVITE), MONDAY)
        for c in range(campaigns)
        for i in range(each)
    ]


def run(policies: dict[int, Policy], paths: list[Path], days: int = 60, **options: object):
    specs = {p.campaign: SPEC for p in paths}
    return simulate(
        policies,
        paths,
        specs,
        start=MONDAY,
        until=MONDAY + timedelta(days=days),
        **options,  # type: ignore[arg-type]
    )


def local(at: datetime, hours: WorkingHours = NEW_YORK) -> datetime:
    return at.astimezone(hours.zone)


def assert_in_hours(times: list[datetime], hours: WorkingHours = NEW_YORK) -> None:
    for at in times:
        seen = local(at, hours)
        assert seen.weekday() in hours.days, seen
        assert hours.start <= seen.time() < hours.end, seen


@pytest.mark.parametrize("campaigns", [2, 5])
def test_caps_hold_across_the_campaigns_that_share_a_sender(campaigns: int) -> None:
    happened = run({1: policy(day=20, week=80)}, invitations(campaigns, 60))
    sent = [h for h in happened if h.action is Action.INVITATION]
    assert len(sent) == campaigns * 60
    per_day = Counter(local(h.at).date() for h in sent)
    per_week = Counter(local(h.at).isocalendar()[:2] for h in sent)
    assert max(per_day.values()) <= 20
    assert max(per_week.values()) <= 80
    assert_in_hours([h.at for h in happened])


def test_campaigns_sharing_a_sender_are_served_in_turn() -> None:
    happened = run({1: policy(day=20)}, invitations(5, 40), days=1)
    first_day = Counter(
        h.campaign
        for h in happened
        if h.action is Action.INVITATION and local(h.at).date() == MONDAY.date()
    )
    assert sum(first_day.values()) == 20
    assert max(first_day.values()) - min(first_day.values()) <= 1, first_day


def test_invitation_gaps_are_drawn_inside_the_band_from_the_previous_invitation() -> None:
    happened = run({1: policy(day=25, week=200)}, invitations(1, 100), days=10)
    sent = sorted(h.at for h in happened if h.action is Action.INVITATION)
    same_day = [(b - a) for a, b in itertools.pairwise(sent) if local(a).date() == local(b).date()]
    assert same_day and all(timedelta(minutes=18) <= g <= timedelta(minutes=23) for g in same_day)
    assert len({g.total_seconds() for g in same_day}) > 20, "gaps are random, not a fixed step"


def test_the_gap_counts_from_the_actual_send_of_a_stage_that_ran_late() -> None:
    booked = MONDAY + timedelta(minutes=20)
    actual = booked + timedelta(minutes=37)  # the stage ran late
    history = History.of([Done(Action.INVITATION, actual)], NEW_YORK)
    pol = policy()
    nxt = earliest(pol, history, Action.INVITATION, MONDAY)
    assert actual + timedelta(minutes=18) <= nxt <= actual + timedelta(minutes=23)
    assert earliest(pol, history, Action.INVITATION, MONDAY) == nxt, "the same draw twice"


def test_a_ramp_starts_small_and_reaches_the_cap_in_two_weeks() -> None:
    ramp = Ramp(MONDAY.date(), start=5, days=14)
    happened = run({1: policy(day=25, week=125, ramp=ramp)}, invitations(1, 300), days=28)
    per_day = Counter(local(h.at).date() for h in happened if h.action is Action.INVITATION)
    for day, count in per_day.items():
        assert count <= ramp.cap(25, day), (day, count)
    assert per_day[MONDAY.date()] == 5
    late = [n for d, n in per_day.items() if d >= MONDAY.date() + timedelta(days=14)]
    assert late and max(late) == 25


def test_ramp_caps_rise_linearly() -> None:
    ramp = Ramp(date(2026, 3, 2), start=5, days=14)
    caps = [ramp.cap(25, date(2026, 3, 2) + timedelta(days=d)) for d in range(16)]
    assert caps[0] == 5 and caps[14] == 25 and caps[15] == 25
    assert caps == sorted(caps)


def candidate(step: Step, due: datetime, campaign: int = 1, journey: int = 1) -> Candidate:
    return Candidate(journey, campaign, step, due)


def test_priorities_reply_then_follow_up_then_check() -> None:
    now = MONDAY + timedelta(hours=2)
    history = History(NEW_YORK)
    found = [
        candidate(Step.CHECK, MONDAY, journey=1),
        candidate(Step.FOLLOW_UP, MONDAY, journey=2),
        candidate(Step.REPLY, MONDAY + timedelta(hours=1), journey=3),
    ]
    order = []
    while found:
        decision = decide(policy(), history, found, now)
        assert decision.run is not None
        order.append(decision.run.step)
        found.remove(decision.run)
        history.add(Done(decision.run.step.action, now))
        now = now + timedelta(minutes=10)
    assert order == [Step.REPLY, Step.FOLLOW_UP, Step.CHECK]


def test_a_follow_up_goes_before_a_later_invitation_and_never_takes_its_moment() -> None:
    last_invitation = MONDAY + timedelta(minutes=5)
    history = History.of([Done(Action.INVITATION, last_invitation)], NEW_YORK)
    pol = policy()
    invite_at = earliest(pol, history, Action.INVITATION, MONDAY)
    found = [
        candidate(Step.INVITE, MONDAY, journey=1),
        candidate(Step.FOLLOW_UP, MONDAY, journey=2),
    ]
    early = decide(pol, history, found, last_invitation + timedelta(minutes=5))
    assert early.run is not None and early.run.step is Step.FOLLOW_UP
    # Just before the invitation's moment the follow-up waits until after it.
    decision = decide(pol, history, found, invite_at)
    assert decision.run is not None and decision.run.step is Step.INVITE


def test_invitations_wait_when_the_day_is_full_but_follow_ups_still_go() -> None:
    full_day = [Done(Action.INVITATION, MONDAY + timedelta(minutes=20 * i)) for i in range(20)]
    history = History.of(full_day, NEW_YORK)
    now = MONDAY + timedelta(hours=7)
    found = [candidate(Step.INVITE, MONDAY, journey=1), candidate(Step.FOLLOW_UP, now, journey=2)]
    decision = decide(policy(day=20), history, found, now)
    assert decision.run is not None and decision.run.step is Step.FOLLOW_UP
    tomorrow = earliest(policy(day=20), history, Action.INVITATION, now)
    assert local(tomorrow).date() == MONDAY.date() + timedelta(days=1)
    assert time(9) <= local(tomorrow).time() <= time(9, 15)  # a little after opening


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("America/New_York", datetime(2026, 3, 5, 9, tzinfo=UTC)),  # DST starts Sunday 8 March
        ("Europe/Paris", datetime(2026, 10, 21, 9, tzinfo=UTC)),  # DST ends Sunday 25 October
    ],
)
def test_every_action_stays_in_local_working_hours_across_dst_and_weekends(
    zone: str, start: datetime
) -> None:
    hours = WorkingHours(zone, time(9), time(18))
    caps = {
        Action.INVITATION: Caps(20, 100),
        Action.MESSAGE: Caps(80, 400),
        Action.VIEW: Caps(150, 700),
    }
    pol = Policy(1, hours, caps)
    paths = [Path(i, 1, 1, StageRef(Stage.INVITE), start) for i in range(80)]
    happened = simulate({1: pol}, paths, {1: SPEC}, start=start, until=start + timedelta(days=45))
    assert happened
    assert_in_hours([h.at for h in happened], hours)
    assert {h.stage for h in happened} >= {"invite", "check_acceptance", "follow_up:5"}


def test_follow_ups_land_on_their_days_when_capacity_allows() -> None:
    happened = run({1: policy(day=20)}, invitations(1, 60), days=60)
    invited = {h.key: h.at for h in happened if h.stage == "invite"}
    for h in happened:
        if h.stage.startswith("follow_up:"):
            late = h.at - h.due
            assert timedelta(0) <= late < timedelta(days=3), (h, late)  # a weekend at most
    assert len(invited) == 60


def test_several_senders_share_a_campaign_and_a_paused_one_holds_only_its_prospects() -> None:
    loads = [SenderLoad(1, 100, 0), SenderLoad(2, 100, 0), SenderLoad(3, 50, 0)]
    assigned = assign_senders(100, loads)
    counts = Counter(assigned)
    assert counts[1] == pytest.approx(40, abs=1) and counts[3] == pytest.approx(20, abs=1)
    paths = [Path(i, 1, s, StageRef(Stage.INVITE), MONDAY) for i, s in enumerate(assigned)]
    policies = {s: policy(s) for s in (1, 2, 3)}
    happened = run(policies, paths, days=20, paused=lambda sender, at: sender == 2)
    by_sender = Counter(h.sender for h in happened if h.action is Action.INVITATION)
    assert by_sender[2] == 0
    assert by_sender[1] == counts[1] and by_sender[3] == counts[3]


def test_a_paused_sender_gets_no_new_prospects_while_another_can_take_them() -> None:
    assigned = assign_senders(10, [SenderLoad(1, 100, 0, available=False), SenderLoad(2, 100, 5)])
    assert set(assigned) == {2}
    assert set(assign_senders(3, [SenderLoad(1, 100, 0, available=False)])) == {1}


def test_a_limit_error_backs_off_until_tomorrow_and_warms_up_again() -> None:
    faults = {MONDAY.date()}

    def fault(sender: int, action: Action, at: datetime):
        from outreach.accounts.simulate import Fault

        day = local(at).date()
        if action is Action.INVITATION and day in faults and local(at).hour >= 11:
            faults.discard(day)
            return Fault()
        return None

    happened = run({1: policy(day=25, week=125)}, invitations(1, 120), days=10, fault=fault)
    per_day = Counter(local(h.at).date() for h in happened if h.action is Action.INVITATION)
    assert per_day[MONDAY.date()] < 10  # it stopped at the error
    tuesday = MONDAY.date() + timedelta(days=1)
    assert per_day[tuesday] == 5  # back on a ramp


def test_the_same_seed_draws_the_same_gap() -> None:
    band = Band.minutes(18, 23)
    assert band.draw(1, "x") == band.draw(1, "x")
    draws = {band.draw(1, i) for i in range(200)}
    assert len(draws) > 100
    assert all(timedelta(minutes=18) <= d <= timedelta(minutes=23) for d in draws)


def test_a_step_due_in_the_day_waits_for_the_next_opening_when_looked_at_after_hours() -> None:
    evening = MONDAY.replace(hour=19, minute=45)
    due = MONDAY.replace(hour=15)
    decision = decide(policy(), History(NEW_YORK), [candidate(Step.INVITE, due)], evening)
    assert decision.run is None and decision.wake is not None
    assert local(decision.wake).date() == MONDAY.date() + timedelta(days=1)
    assert time(9) <= local(decision.wake).time() <= time(9, 15)


def test_a_profile_read_in_an_invitations_moment_leaves_the_next_invitation_in_its_band() -> None:
    """An invitation stage that found the person connected read a profile and sent
    nothing: the next invitation still keeps the gap from the last one sent."""
    last = MONDAY + timedelta(minutes=5)
    history = History.of([Done(Action.INVITATION, last)], NEW_YORK)
    pol = policy()
    slot = earliest(pol, history, Action.INVITATION, MONDAY)
    history.add(Done(Action.VIEW, slot))  # the already-connected read, at the slot
    after = earliest(pol, history, Action.INVITATION, slot)
    assert after == slot
    assert timedelta(minutes=18) <= after - last <= timedelta(minutes=23)
