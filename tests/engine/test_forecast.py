"""The forecast is the governor's dry run: what then happens matches it within a working day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from outreach.accounts.schemas import AccountCreate
from outreach.campaigns.forecast import forecast
from outreach.campaigns.scheduling import WorkingHours, next_day_open, next_open
from outreach.testing import (
    all_ended,
    events,
    find_people,
    launch,
    new_campaign,
    started,
    test_settings,
    wait_until,
)

HOURS = WorkingHours("Europe/Paris", time(9), time(18))


def sender() -> AccountCreate:
    return AccountCreate(
        name="Paris sender",
        timezone="Europe/Paris",
        daily_invite_cap=20,
        weekly_invite_cap=100,
        warmup_days=0,
    )


def within_a_working_day(actual: datetime, expected: datetime) -> bool:
    early, late = sorted((actual, expected))
    limit = HOURS.window(HOURS.local_day(next_day_open(next_open(early, HOURS), HOURS)))[1]
    return late <= limit


# SQLite only: the forecast reads what any database holds alike, and the runs it is
# compared with are the engine's, tested on both (tests/e2e/test_shared_senders.py, …).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_forecast_of_the_default_campaign_is_what_then_happens(database_url: str) -> None:
    settings = test_settings(database_url, time_scale=14_400.0, time_skip=True)
    with started(settings) as rt:
        # People already connected take no invitation, and LinkedIn says so only when the
        # profile is read: the forecast assumes each one needs one.
        people = find_people(rt, 100, lambda p: not p.already_connected, prefix="forecast")
        campaign_id = new_campaign(rt, people, account=sender())
        with rt.sessions() as session:
            draft = forecast(session, campaign_id, rt.clock.now())
        assert draft.prospects == 100
        assert draft.days is not None and 30 < draft.days < 45
        assert draft.senders[0].busiest_day["invitation"] == 20
        # The draft's forecast says "if launched now", and the clock runs on until the
        # launch; the running campaign's forecast, right after it, is what is compared.
        launch(rt, campaign_id)
        with rt.sessions() as session:
            expected = forecast(session, campaign_id, rt.clock.now())
        assert expected.prospects >= 95
        # The same end, not the same number of days: with time skip the clock may run on
        # by days (a day's invitations done, it jumps to the next) before ``expected`` is made.
        assert draft.last_action_at is not None and expected.last_action_at is not None
        assert abs(expected.last_action_at - draft.last_action_at) < timedelta(days=2)
        ended = wait_until(lambda: all_ended(rt, campaign_id), timeout=240, what="the end")
        planned = {
            p.public_identifier: {s.stage: s.at for s in p.steps} for p in expected.per_prospect
        }
        compared = 0
        for journey in ended:
            plan = planned.get(journey.prospect.public_identifier, {})
            for event in events(rt, journey.id):
                if event.kind == "invitation_sent":
                    stage = "invite"
                elif event.kind == "message_sent":
                    stage = f"follow_up:{event.details['follow_up']}"
                else:
                    continue
                if stage not in plan:  # done before the forecast was made
                    continue
                assert within_a_working_day(event.at, plan[stage]), (stage, event.at, plan[stage])
                compared += 1
        assert compared > 150
