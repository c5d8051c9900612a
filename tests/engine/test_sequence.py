"""The default sequence end to end on the simulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

from outreach.testing import (
    accepts_silently,
    all_ended,
    assert_on_schedule,
    by_slug,
    events,
    find_people,
    launch,
    never_accepts,
    new_campaign,
    stage_kinds,
    started,
    test_settings,
    wait_until,
)


def test_default_sequence_accepted_not_accepted_and_replied(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        silent = find_people(rt, 1, accepts_silently)
        refuses = find_people(rt, 1, never_accepts)
        replier = find_people(
            rt, 1, lambda p: p.accepts and not p.already_connected and p.replies_after == 2
        )
        late = find_people(
            rt, 1, lambda p: p.accepts and not p.already_connected and p.replies_after == 5
        )
        campaign_id = new_campaign(rt, silent + refuses + replier + late)
        assert launch(rt, campaign_id) == 4
        wait_until(lambda: all_ended(rt, campaign_id), timeout=90, what="every journey to end")
        journeys = by_slug(rt, campaign_id)

        done = journeys[silent[0].slug]
        assert done.status.value == "completed"
        timeline = events(rt, done.id)
        kinds = [e.kind for e in timeline]
        assert kinds == [
            "scheduled",
            "invitation_sent",
            "invitation_accepted",
            *["message_sent"] * 5,
            "completed",
        ]
        assert_on_schedule([(e.kind, e.at, e.details) for e in timeline])

        lost = journeys[refuses[0].slug]
        assert lost.status.value == "not_accepted"
        lost_kinds = [e.kind for e in events(rt, lost.id)]
        assert lost_kinds == [
            "scheduled",
            "invitation_sent",
            "not_accepted",
            "invitation_withdrawn",
        ]

        stopped = journeys[replier[0].slug]
        assert stopped.status.value == "replied"
        stopped_kinds = Counter(e.kind for e in events(rt, stopped.id))
        assert stopped_kinds["message_sent"] == 2, (
            "the reply after follow-up 2 stops follow-ups 3-5"
        )
        assert stopped_kinds["reply_received"] == 1

        # Answering the goodbye message, after the sequence completed, still counts.
        answered = wait_until(
            lambda: (j := by_slug(rt, campaign_id)[late[0].slug]).status.value == "replied" and j,
            what="the reply to the last follow-up",
        )
        answered_kinds = stage_kinds(rt, answered.id)
        assert answered_kinds[-2:] == ["completed", "reply_received"]
        assert answered.end_reason == "replied after the sequence"

        log = rt.simulator.log()
        # The unanswered invitation was withdrawn on day 21.
        assert Counter(entry["kind"] for entry in log) == {
            "invitation": 4,
            "message": 12,
            "withdrawal": 1,
        }
