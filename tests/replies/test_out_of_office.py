"""An out-of-office reply with a return date, in a campaign that resumes after one: the
sequence waits until the day after the return (no message in between, judged from the
simulator's own log of what it received) and then goes on; a real reply later ends it.
Without the rule, the same reply ends the sequence. On both databases."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from outreach.models import JourneyStatus
from outreach.testing import (
    events,
    find_people,
    journeys,
    launch,
    new_campaign,
    started,
    test_settings,
    wait_until,
)
from tests.replies.helpers import reply


def _messages_at(rt, slug: str) -> list[datetime]:  # type: ignore[no-untyped-def]
    return [
        e["at"]
        for e in rt.simulator.log()
        if e["kind"] == "message" and e["public_identifier"] == slug
    ]


@pytest.mark.parametrize("resume", [True, False])
def test_an_out_of_office_reply_pauses_the_sequence_until_the_return(
    database_url: str, resume: bool
) -> None:
    with started(test_settings(database_url)) as rt:
        people = find_people(
            rt,
            1,
            lambda p: (
                p.accepts
                and not p.already_connected
                and p.replies_after is None
                and p.accept_delay < timedelta(days=1)
            ),
            prefix="away",
        )
        campaign_id = new_campaign(rt, people, sequence={"resume_after_out_of_office": resume})
        assert launch(rt, campaign_id) == 1
        [journey] = wait_until(
            lambda: [j for j in journeys(rt, campaign_id) if j.follow_ups_sent >= 1],
            timeout=60,
            what="follow-up 1",
        )
        slug = journey.prospect.public_identifier
        back = (rt.clock.now() + timedelta(days=9)).date()
        reply(rt, journey.id, f"Out of office until {back.isoformat()}, no access to email.")
        if not resume:
            ended = wait_until(
                lambda: [j for j in journeys(rt, campaign_id) if j.ended_at is not None],
                timeout=60,
                what="the sequence ended",
            )
            assert ended[0].status is JourneyStatus.REPLIED
            return
        waited = wait_until(
            lambda: next(
                (e for e in events(rt, journey.id) if e.kind.value == "waiting_for_return"),
                None,
            ),
            timeout=60,
            what="the sequence waiting for the return",
        )
        resume_at = datetime.combine(back + timedelta(days=1), time(0), tzinfo=UTC)
        assert waited.details["back"] == back.isoformat()
        [now] = journeys(rt, campaign_id)
        assert now.status is JourneyStatus.CONNECTED and now.ended_at is None
        assert now.not_before == resume_at and now.next_run_at >= resume_at
        assert "after the prospect's return" in (now.waiting_for or "")
        # The sequence goes on after the return, not before.
        wait_until(
            lambda: len(_messages_at(rt, slug)) >= 3,
            timeout=120,
            what="follow-ups 2 and 3",
        )
        sent = _messages_at(rt, slug)
        assert all(at >= resume_at for at in sent[1:]), (sent, resume_at)
        # A real reply then ends it.
        reply(rt, journey.id, "Back now. Sure, let's talk next week.")
        wait_until(
            lambda: journeys(rt, campaign_id)[0].status is JourneyStatus.REPLIED,
            timeout=60,
            what="the reply ends the sequence",
        )
