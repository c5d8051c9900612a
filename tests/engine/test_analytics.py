"""Funnels and daily activity, judged against what the simulated LinkedIn received."""

from __future__ import annotations

from collections import Counter

from outreach.campaigns import analytics
from outreach.testing import (
    accepts_silently,
    all_ended,
    find_people,
    launch,
    never_accepts,
    new_campaign,
    started,
    test_settings,
    wait_until,
)


def test_the_funnel_and_the_days_match_what_was_sent(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        accepting = find_people(rt, 3, accepts_silently)
        refusing = find_people(rt, 2, never_accepts, prefix="n")
        campaign_id = new_campaign(rt, accepting + refusing)
        other = new_campaign(rt, find_people(rt, 1, accepts_silently, prefix="o"))
        launch(rt, campaign_id)
        wait_until(lambda: all_ended(rt, campaign_id), timeout=90, what="the campaign's end")
        with rt.sessions() as session:
            funnel = analytics.funnel(session, campaign_id=campaign_id)
            daily = analytics.daily(session, now=rt.clock.now(), campaign_id=campaign_id, days=60)
            compared = {c.id: c for c in analytics.compare(session)}
        log = rt.simulator.log()
        sent = Counter(e["kind"] for e in log)
        assert (funnel.journeys, funnel.invited, funnel.accepted, funnel.replied) == (5, 5, 3, 0)
        assert funnel.acceptance_rate == 0.6 and funnel.reply_rate == 0.0
        assert sum(daily.invitations) == sent["invitation"] == 5
        assert sum(daily.messages) == sent["message"] == 3 * 5
        assert len(daily.days) == 60 and daily.days[-1] == rt.clock.now().date()
        by_day = Counter(e["at"].date().isoformat() for e in log if e["kind"] == "invitation")
        assert {
            d.isoformat(): n for d, n in zip(daily.days, daily.invitations, strict=True) if n
        } == dict(by_day)
        assert compared[campaign_id].funnel == funnel
        assert compared[other].funnel.journeys == 0  # not launched
