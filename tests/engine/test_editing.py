"""Editing a running campaign: each save is a version; journeys past a step keep what
they were sent, journeys not yet at it get the new text and day, a removed step strands
nobody. On SQLite and PostgreSQL, judged from the timelines and the simulator's log."""

from __future__ import annotations

from typing import Any

import pytest

from outreach.accounts.commands import pause_account, resume_account
from outreach.campaigns.commands import update_campaign
from outreach.campaigns.schemas import CampaignUpdate
from outreach.campaigns.sequence import SequenceSpec, Templates
from outreach.campaigns.service import list_versions
from outreach.errors import InvalidInput
from outreach.models import Account, JourneyEvent
from outreach.testing import (
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

OLD = ["Old one for {{ first_name }}", "Old two", "Old three"]
# Follow-up 2 far away: the test edits while the journey waits for it, with time to spare.
FAR = SequenceSpec(follow_up_days=[2, 300, 301])


def _sent(rt: object, journey_id: int) -> list[JourneyEvent]:
    return [e for e in events(rt, journey_id) if e.kind == "message_sent"]  # type: ignore[arg-type]


def _days_ahead(rt: Any, campaign_id: int, margin: int = 10) -> int:
    """A day of the sequence ``margin`` simulated days from now (5 real seconds): the new
    day an edit gives follow-up 2, still to come when the edit lands, whatever the load."""
    invited_at = journeys(rt, campaign_id)[0].invited_at
    assert invited_at is not None
    return int((rt.clock.now() - invited_at).total_seconds() // 86400) + margin


def _after_follow_up_1(rt: Any, campaign_id: int) -> int:
    """Follow-up 1 sent and its stage over: the sender is free again (an edit leaves a
    stage still running alone, so one that has recorded its send but not yet ended
    would not be re-planned)."""

    def done() -> int | None:
        found = journeys(rt, campaign_id)
        if not found or found[0].follow_ups_sent != 1:
            return None
        with rt.sessions() as session:
            account = session.get(Account, found[0].account_id)
            busy = account is not None and account.busy_journey_id == found[0].id
        return None if busy else found[0].id

    journey_id: int = wait_until(done, timeout=60, what="follow-up 1's stage over")
    return journey_id


def test_a_new_version_reaches_the_steps_not_yet_sent(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        person = find_people(rt, 1, accepts_silently)
        templates = Templates(invitation_note="Hi {{ first_name }}", follow_ups=OLD)
        campaign_id = new_campaign(rt, person, sequence=FAR, templates=templates)
        launch(rt, campaign_id)
        journey_id = _after_follow_up_1(rt, campaign_id)

        new = Templates(
            invitation_note="A new note nobody gets now",
            follow_ups=["New one", "New two for {{ first_name }}", "New three"],
        )
        day = _days_ahead(rt, campaign_id)
        edited = update_campaign(
            rt,
            campaign_id,
            CampaignUpdate(sequence=SequenceSpec(follow_up_days=[2, day, day + 1]), templates=new),
            saved_by="tester",
        )
        assert (edited.new_version, edited.replanned, edited.ended) == (True, 1, 0)
        assert edited.campaign.version == 2

        ended = wait_until(lambda: all_ended(rt, campaign_id), timeout=60, what="the journey's end")
        assert ended[0].status.value == "completed"
        sent = _sent(rt, journey_id)
        first = person[0].first_name
        assert [(e.details["text"], e.details["version"]) for e in sent] == [
            (f"Old one for {first}", 1),
            (f"New two for {first}", 2),
            ("New three", 2),
        ]
        invited = next(e for e in events(rt, journey_id) if e.kind == "invitation_sent")
        assert (invited.details["note"], invited.details["version"]) == (f"Hi {first}", 1)
        replanned = [e for e in events(rt, journey_id) if e.kind == "replanned"]
        assert [e.details["version"] for e in replanned] == [2]
        # On its new day from the invitation, not day 300: what LinkedIn received says so.
        log = [entry for entry in rt.simulator.log() if entry["kind"] == "message"]
        assert [entry["text"] for entry in log] == [e.details["text"] for e in sent]
        days = [(entry["at"] - ended[0].invited_at).total_seconds() / 86400 for entry in log]
        assert day <= days[1] < day + 0.5 and day + 1 <= days[2] < day + 1.5, (day, days)

        with rt.sessions() as session:
            versions = list_versions(session, campaign_id)
        assert [(v.version, v.saved_by) for v in versions] == [(2, "tester"), (1, None)]
        assert versions[1].templates["follow_ups"] == OLD


def test_a_removed_follow_up_ends_the_journeys_waiting_for_it(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        person = find_people(rt, 1, accepts_silently)
        templates = Templates(follow_ups=OLD)
        campaign_id = new_campaign(rt, person, sequence=FAR, templates=templates)
        launch(rt, campaign_id)
        journey_id = _after_follow_up_1(rt, campaign_id)

        shorter = CampaignUpdate(
            sequence=SequenceSpec(follow_up_days=[2]), templates=Templates(follow_ups=OLD[:1])
        )
        edited = update_campaign(rt, campaign_id, shorter)
        assert (edited.replanned, edited.ended) == (0, 1)
        journey = journeys(rt, campaign_id)[0]
        assert journey.status.value == "completed"
        assert journey.end_reason == "follow-up 2 removed from the sequence"
        assert edited.campaign.status == "completed"
        assert len(_sent(rt, journey_id)) == 1
        # Saving the same again is no new version.
        again = update_campaign(rt, campaign_id, shorter)
        assert (again.new_version, again.campaign.version) == (False, 2)


def test_a_version_that_could_not_be_sent_is_refused(database_url: str) -> None:
    with started(test_settings(database_url), workers=False) as rt:
        campaign_id = new_campaign(rt, [])
        bad = CampaignUpdate(templates=Templates(follow_ups=["{{ oops"] * 5))
        with pytest.raises(InvalidInput) as refused:
            update_campaign(rt, campaign_id, bad)
        assert any("follow_ups[1]" in p for p in refused.value.details)
        long = CampaignUpdate(templates=Templates(follow_ups=["x" * 8001] * 5))
        with pytest.raises(InvalidInput, match="cannot be sent"):
            update_campaign(rt, campaign_id, long)
        with rt.sessions() as session:
            assert [v.version for v in list_versions(session, campaign_id)] == [1]


def test_a_held_journey_keeps_its_hold_and_resumes_on_the_new_day(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        person = find_people(rt, 1, accepts_silently)
        campaign_id = new_campaign(rt, person, sequence=FAR, templates=Templates(follow_ups=OLD))
        launch(rt, campaign_id)
        journey_id = _after_follow_up_1(rt, campaign_id)
        sender = journeys(rt, campaign_id)[0].account_id
        pause_account(rt, sender)
        assert journeys(rt, campaign_id)[0].held

        day = _days_ahead(rt, campaign_id)
        later = CampaignUpdate(sequence=SequenceSpec(follow_up_days=[2, day, day + 1]))
        edited = update_campaign(rt, campaign_id, later)
        assert edited.replanned == 1
        held = journeys(rt, campaign_id)[0]
        assert held.held, "a new version does not lift a pause"
        assert held.invited_at is not None and held.next_run_at is not None
        assert (held.next_run_at - held.invited_at).days == day

        resume_account(rt, sender)
        ended = wait_until(lambda: all_ended(rt, campaign_id), timeout=60, what="the journey's end")
        assert ended[0].status.value == "completed"
        assert [e.details["version"] for e in _sent(rt, journey_id)] == [1, 2, 2]
