"""The simulated clock across restarts: kept, and re-timed when the scale changes."""

from __future__ import annotations

from outreach.testing import (
    TEST_SCALE,
    accepts_silently,
    all_ended,
    events,
    find_people,
    journeys,
    launch,
    new_campaign,
    started,
    test_settings,
    wait_until,
)


def test_a_new_time_scale_retimes_the_waiting_stages(database_url: str) -> None:
    with started(test_settings(database_url, time_scale=1.0)) as rt:
        person = find_people(rt, 1, accepts_silently)
        campaign_id = new_campaign(rt, person)
        launch(rt, campaign_id)
        journey = wait_until(
            lambda: [j for j in journeys(rt, campaign_id) if j.invited_at], what="the invitation"
        )[0]
        assert journey.stage == "check_acceptance"  # due in two real days at scale 1
        before_stop = rt.clock.now()

    with started(test_settings(database_url, time_scale=TEST_SCALE)) as rt:
        assert rt.rescaled
        assert rt.clock.now() >= before_stop, "a restart keeps the simulated date"
        ended = wait_until(lambda: all_ended(rt, campaign_id), timeout=60, what="the end")
        assert ended[0].status.value == "completed"
        sent = [e for e in events(rt, ended[0].id) if e.kind == "message_sent"]
        assert len(sent) == 5

    with started(test_settings(database_url, time_scale=TEST_SCALE)) as rt:
        assert not rt.rescaled, "the same scale keeps the anchor"
