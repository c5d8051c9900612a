"""Pause and resume, idempotent launch and sweep, prospects added after launch."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from dbos import DBOS

from outreach.accounts.repository import lock_sender
from outreach.campaigns.commands import launch as launch_command
from outreach.campaigns.commands import pause, resume
from outreach.campaigns.workflows import schedule_campaign, sweep
from outreach.engine import start_batch
from outreach.journeys.lifecycle import stage_work
from outreach.journeys.workflows import run_stage
from outreach.models import Account, Journey, Prospect
from outreach.testing import (
    accepts_silently,
    add_people,
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


def _no_duplicates(log: list[dict]) -> None:  # type: ignore[type-arg]
    seen = Counter((e["kind"], e["recipient"], e["text"]) for e in log if e["kind"] != "withdrawal")
    repeated = {key: n for key, n in seen.items() if n > 1}
    assert not repeated, f"the simulator received the same action twice: {repeated}"


def test_pause_holds_journeys_and_resume_finishes_them(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        people = find_people(rt, 3, accepts_silently)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        wait_until(
            lambda: all(j.follow_ups_sent >= 1 for j in journeys(rt, campaign_id)),
            what="follow-up 1 of every journey",
        )
        pause(rt, campaign_id)
        paused_at = rt.clock.now()
        wait_until(
            lambda: all(j.held for j in journeys(rt, campaign_id)),
            what="every journey to be held by the pause",
        )
        held_log = len(rt.simulator.log())
        resumed_at = rt.clock.now()
        assert resumed_at - paused_at > timedelta(days=4)
        accepted = resume(rt, campaign_id)
        assert accepted.workflow_id is not None
        DBOS.retrieve_workflow(accepted.workflow_id).get_result()
        ended = wait_until(lambda: all_ended(rt, campaign_id), timeout=90, what="the end")

        assert {j.status.value for j in ended} == {"completed"}
        log = rt.simulator.log()
        assert len(log) > held_log
        assert Counter(e["kind"] for e in log) == {"invitation": 3, "message": 15}
        _no_duplicates(log)
        for journey in ended:
            timeline = events(rt, journey.id)
            assert {"held", "resumed"} <= {e.kind for e in timeline}
            for event in timeline:
                if event.kind == "message_sent":
                    due = datetime.fromisoformat(event.details["due"])
                    assert not paused_at < due < resumed_at, "a stage due in the pause is held"


def test_launching_and_sweeping_twice_create_no_second_journey(database_url: str) -> None:
    with started(test_settings(database_url, time_scale=60.0)) as rt:
        people = find_people(rt, 4, accepts_silently)
        campaign_id = new_campaign(rt, people)
        first, second = launch_command(rt, campaign_id), launch_command(rt, campaign_id)
        assert first.workflow_id == second.workflow_id, "a double launch is one launch"
        assert first.workflow_id is not None
        assert DBOS.retrieve_workflow(first.workflow_id).get_result() == 4
        assert len(DBOS.list_workflows(name=schedule_campaign.__qualname__)) == 1
        now = datetime.now(UTC)
        DBOS.start_workflow(sweep, now, None).get_result()
        DBOS.start_workflow(sweep, now + timedelta(seconds=1), None).get_result()
        handles = [DBOS.start_workflow(schedule_campaign, campaign_id) for _ in range(3)]
        assert [h.get_result() for h in handles] == [0, 0, 0]
        found = journeys(rt, campaign_id)
        assert len(found) == 4
        assert len({j.prospect_id for j in found}) == 4


def test_an_import_into_an_active_campaign_schedules_it_at_once(database_url: str) -> None:
    """No sweep runs here (its cron never fires): the import itself asks for the scheduling."""
    with started(test_settings(database_url)) as rt:
        first, late = find_people(rt, 2, accepts_silently)
        campaign_id = new_campaign(rt, [first])
        launch(rt, campaign_id)
        add_people(rt, campaign_id, [late])
        found = wait_until(
            lambda: len(journeys(rt, campaign_id)) == 2 and journeys(rt, campaign_id),
            timeout=30,
            what="the import to schedule the late prospect",
        )
        late_journey = next(j for j in found if j.prospect.public_identifier == late.slug)
        wait_until(
            lambda: any(e.kind == "invitation_sent" for e in events(rt, late_journey.id)),
            what="the late prospect's invitation",
        )
        assert not DBOS.list_workflows(name=sweep.__qualname__)


def test_the_sweep_runs_on_simulated_time_and_picks_up_a_forgotten_prospect(
    database_url: str,
) -> None:
    # Every two simulated hours: a fraction of a real second at this scale.
    with started(test_settings(database_url, sweep_cron="0 */2 * * *")) as rt:
        first, late = find_people(rt, 2, accepts_silently)
        campaign_id = new_campaign(rt, [first])
        launch(rt, campaign_id)
        with rt.sessions.begin() as session:  # as if the import's scheduling were lost
            session.add(
                Prospect(
                    campaign_id=campaign_id,
                    public_identifier=late.slug,
                    profile_url=late.profile_url,
                    fields={},
                    created_at=rt.clock.now(),
                )
            )
        found = wait_until(
            lambda: len(journeys(rt, campaign_id)) == 2 and journeys(rt, campaign_id),
            timeout=30,
            what="the sweep to schedule the late prospect",
        )
        late_journey = next(j for j in found if j.prospect.public_identifier == late.slug)
        wait_until(
            lambda: any(e.kind == "invitation_sent" for e in events(rt, late_journey.id)),
            what="the late prospect's invitation",
        )
        wait_until(  # the sweep goes on to the doctor after scheduling: it ends a bit later
            lambda: DBOS.list_workflows(name=sweep.__qualname__, status="SUCCESS"),
            what="a sweep to finish",
        )


def test_the_sweep_repairs_a_stage_whose_enqueue_was_lost(database_url: str) -> None:
    with started(test_settings(database_url, clock_hold_limit_seconds=1.0)) as rt:
        person = find_people(rt, 1, accepts_silently)
        campaign_id = new_campaign(rt, person)
        launch(rt, campaign_id)
        journey = wait_until(
            lambda: [j for j in journeys(rt, campaign_id) if j.stage == "check_acceptance"],
            what="the invitation",
        )[0]
        # As if a crash struck between the governor's commit (the sender busy with the
        # journey's next stage) and the enqueue of that stage: nobody will run it.
        with rt.sessions.begin() as session:
            lock_sender(session, journey.account_id)  # the global lock order: sender first
            lost = session.get(Journey, journey.id)
            assert lost is not None
            lost.stage_seq += 1
            sender = session.get(Account, lost.account_id)
            assert sender is not None
            sender.busy_journey_id = lost.id
            sender.busy_since = rt.clock.now() - timedelta(days=1)
            sender.next_action_at = None
        assert journeys(rt, campaign_id)[0].follow_ups_sent == 0
        DBOS.start_workflow(sweep, datetime.now(UTC), None).get_result()
        ended = wait_until(lambda: all_ended(rt, campaign_id), timeout=60, what="the end")
        assert ended[0].status.value == "completed"
        assert ended[0].follow_ups_sent == 5


def test_starting_a_batch_of_stages_again_adds_nothing(database_url: str) -> None:
    """An enqueue step re-run after a crash attaches to what it enqueued."""
    with started(test_settings(database_url, time_scale=1.0), workers=False) as rt:
        people = find_people(rt, 5, accepts_silently)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        waiting = [stage_work(j) for j in journeys(rt, campaign_id)]
        assert len(waiting) == 5
        before = len(DBOS.list_workflows(name=run_stage.__qualname__))
        start_batch(waiting)
        start_batch(waiting)
        # A launch starts no stage itself (the governor does, when each is due) ...
        assert before == 0
        # ... and starting the same stages twice starts each once.
        assert len(DBOS.list_workflows(name=run_stage.__qualname__)) == 5
