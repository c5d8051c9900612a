"""The core's promises, each shown on the failure that used to break it.

A provider error nobody planned for ends the journey visibly; exhausted step retries are
retried later, then fail; a long account error pauses the sender; every kind of journey
left without a live workflow is found by the doctor and repaired; launch is one run,
refused with nothing to launch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOS
from dbos import error as dbos_error

from outreach.accounts.commands import get as get_account
from outreach.accounts.repository import lock_sender
from outreach.campaigns.commands import launch as launch_command
from outreach.campaigns.commands import pause, resume
from outreach.campaigns.service import get_campaign
from outreach.campaigns.workflows import schedule_campaign, sweep
from outreach.config import Settings
from outreach.errors import Conflict
from outreach.journeys import doctor
from outreach.journeys.service import troubled_journeys
from outreach.linkedin.provider import AccountError, ProviderError, TransientError
from outreach.models import Account, CampaignStatus, Journey, JourneyStatus
from outreach.runtime import Runtime
from outreach.sandbox.simulator import Simulator
from outreach.testing import (
    ProviderWrapper,
    accepts_silently,
    all_ended,
    always_open_account,
    events,
    find_people,
    journeys,
    launch,
    never_accepts,
    new_campaign,
    started,
    test_settings,
    wait_until,
)
from outreach.testing import started_with as started_with_provider

Fault = Callable[[str, str], None]  # (method, identifier) -> raise or not


@contextmanager
def started_with(settings: Settings, fault: Fault) -> Iterator[tuple[Runtime, Simulator]]:
    """A runtime whose LinkedIn is the simulator, with ``fault`` asked before each call."""
    wrap: Any = lambda inner: ProviderWrapper(inner, before=fault)  # noqa: E731
    with started_with_provider(settings, wrap) as rt:
        assert rt.simulator is not None
        yield rt, rt.simulator


def _about(slug: str) -> Callable[[str], bool]:
    """Whether an identifier (public identifier, URL or sandbox provider id) names ``slug``."""
    from outreach.sandbox.people import slug_of

    return lambda identifier: slug_of(identifier) == slug


def test_an_unexpected_provider_error_ends_the_journey_visibly(database_url: str) -> None:
    doomed: list[str] = []

    def fault(method: str, identifier: str) -> None:
        if doomed and _about(doomed[0])(identifier):
            raise ProviderError("GET users: the profile has no provider_id")

    with started_with(test_settings(database_url), fault) as (rt, simulator):
        bad, good = find_people(simulator, 2, accepts_silently)
        doomed.append(bad.slug)
        campaign_id = new_campaign(rt, [bad, good])
        launch(rt, campaign_id)
        ended = wait_until(lambda: all_ended(rt, campaign_id), timeout=90, what="the end")

        status = {j.prospect.public_identifier: j for j in ended}
        failed = status[bad.slug]
        assert failed.status.value == "failed"
        assert "no provider_id" in (failed.end_reason or "")
        assert "ProviderError" in (failed.last_error or "")
        kinds = [e.kind for e in events(rt, failed.id)]
        assert kinds.count("error") == 3 and kinds[-1] == "failed", kinds
        assert status[good.slug].status.value == "completed"
        with rt.sessions() as session:
            assert get_campaign(session, campaign_id).status.value == "completed"
            assert failed.id in {j.id for j in troubled_journeys(session)}
        assert not DBOS.list_workflows(status="ERROR")


def test_exhausted_step_retries_are_tried_again_later_then_fail(database_url: str) -> None:
    doomed: list[str] = []

    def fault(method: str, identifier: str) -> None:
        if doomed and _about(doomed[0])(identifier):
            raise TransientError("sandbox: provider_error", code="provider_error")

    with started_with(test_settings(database_url), fault) as (rt, simulator):
        [person] = find_people(simulator, 1, accepts_silently)
        doomed.append(person.slug)
        campaign_id = new_campaign(rt, [person])
        launch(rt, campaign_id)
        [journey] = wait_until(lambda: all_ended(rt, campaign_id), timeout=120, what="the end")

        assert journey.status.value == "failed"
        assert (journey.end_reason or "").startswith("gave up after 5 attempts")
        errors = [e for e in events(rt, journey.id) if e.kind == "error"]
        assert [e.details["attempt"] for e in errors] == [1, 2, 3, 4, 5]
        assert all(e.details["transient"] for e in errors)
        assert not DBOS.list_workflows(status="ERROR")


def test_an_account_error_with_a_long_text_pauses_the_sender(database_url: str) -> None:
    long_text = "invalid credentials: " + "x" * 600

    def fault(method: str, identifier: str) -> None:
        if method == "get_profile":
            raise AccountError(long_text, code="disconnected_account")

    with started_with(test_settings(database_url), fault) as (rt, simulator):
        people = find_people(simulator, 2, accepts_silently)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        held = wait_until(
            lambda: all(j.held for j in journeys(rt, campaign_id)) and journeys(rt, campaign_id),
            what="every journey held",
        )
        sender = get_account(rt, held[0].account_id)
        assert sender.status == "paused" and sender.paused_by == "provider"
        assert long_text in (sender.status_reason or "")
        assert all(long_text in (j.waiting_for or "") for j in held)
        assert not DBOS.list_workflows(status="ERROR")


def test_the_doctor_finds_and_repairs_each_kind_of_stalled_journey(database_url: str) -> None:
    stop_for: list[str] = []

    def fault(method: str, identifier: str) -> None:
        if stop_for and _about(stop_for[0])(identifier):
            stop_for.clear()
            # An error the stage's catch-all lets through (DBOS's own control flow): its
            # workflow ends in ERROR and its sender still waits for it.
            raise dbos_error.DBOSException("the workflow was interrupted")

    settings = test_settings(database_url, clock_hold_limit_seconds=2.0)
    with started_with(settings, fault) as (rt, simulator):
        errored, lost, held, forgotten = find_people(simulator, 4, accepts_silently)
        stop_for.append(errored.slug)
        first = new_campaign(rt, [errored])
        second = new_campaign(rt, [lost, held])
        third = new_campaign(rt, [forgotten])
        for campaign_id in (first, second, third):
            launch(rt, campaign_id)
        wait_until(
            lambda: DBOS.list_workflows(status="ERROR", name="run_stage"), what="a stage in ERROR"
        )

        def resting() -> dict[str, Journey]:
            """The others, invited, before their day-2 check."""
            found = {
                j.prospect.public_identifier: j for c in (second, third) for j in journeys(rt, c)
            }
            waiting = all(
                found[p.slug].stage == "check_acceptance" for p in (lost, held, forgotten)
            )
            return found if waiting else {}

        by_slug = wait_until(resting, what="the invitations")
        with rt.sessions.begin() as session:
            senders = {by_slug[p.slug].account_id for p in (lost, held, forgotten)}
            for sid in sorted(senders):  # the global lock order: senders first
                lock_sender(session, sid)
            # A stage whose enqueue was lost (a crash between the governor's commit and
            # the enqueue): its sender waits for a workflow that does not exist ...
            journey = session.get(Journey, by_slug[lost.slug].id)
            assert journey is not None
            journey.stage_seq += 1
            sender = session.get(Account, journey.account_id)
            assert sender is not None
            sender.busy_journey_id, sender.busy_since = journey.id, rt.clock.now()
            lost_since = sender.busy_since
            # ... a journey held although nothing holds it any more ...
            other = session.get(Journey, by_slug[held.slug].id)
            assert other is not None
            other.held = True
            other.waiting_for = "campaign paused"
            # ... and a sender whose governor was told nothing of its waiting journey.
            alone = session.get(Journey, by_slug[forgotten.slug].id)
            assert alone is not None
            third_sender = session.get(Account, alone.account_id)
            assert third_sender is not None
            third_sender.next_action_at = None
        # The stage in ERROR and the lost one hold the clock until it lets go of them.
        wait_until(
            lambda: rt.clock.now() > lost_since + doctor.OVERDUE_AFTER, what="the lost stage's time"
        )

        found = {p.kind: p.journey_id or p.seq for p in doctor.problems()}
        assert found == {
            "workflow_error": journeys(rt, first)[0].id,
            "no_workflow": by_slug[lost.slug].id,
            "held_for_nothing": by_slug[held.slug].id,
            "sender_forgotten": third_sender.id,
        }, found

        DBOS.start_workflow(sweep, datetime.now(UTC), None).get_result()
        for campaign_id in (first, second, third):
            ended = wait_until(lambda c=campaign_id: all_ended(rt, c), timeout=90, what="the end")
            assert {j.status.value for j in ended} == {"completed"}
        errored_id = journeys(rt, first)[0].id
        repaired = [e for e in events(rt, errored_id) if e.kind == "repaired"]
        assert repaired and "workflow_error" in repaired[0].details["problem"]
        assert doctor.problems() == []


def test_launch_is_one_run_and_refuses_nothing_to_launch(database_url: str) -> None:
    with started(test_settings(database_url), workers=False) as rt:
        people = find_people(rt, 2, accepts_silently)
        empty = new_campaign(rt, [])
        with pytest.raises(Conflict, match="no prospects"):
            launch_command(rt, empty)
        campaign_id = new_campaign(rt, people)
        first = launch_command(rt, campaign_id)
        again = launch_command(rt, campaign_id)
        assert first.started and not again.started
        assert first.workflow_id == again.workflow_id
        assert first.workflow_id is not None
        assert DBOS.retrieve_workflow(first.workflow_id).get_result() == 2
        assert len(DBOS.list_workflows(name=schedule_campaign.__qualname__)) == 1
        pause(rt, campaign_id)
        with pytest.raises(Conflict, match="resume it"):
            launch_command(rt, campaign_id)
        resume(rt, campaign_id)
        with rt.sessions.begin() as session:
            session.execute(sa.update(Journey).values(status=JourneyStatus.COMPLETED))
            get_campaign(session, campaign_id).status = CampaignStatus.COMPLETED
        with pytest.raises(Conflict, match="completed"):
            launch_command(rt, campaign_id)


def test_a_send_lost_in_a_crash_is_recorded_even_if_the_prospect_replied_meanwhile(
    database_url: str,
) -> None:
    """The follow-up reached LinkedIn, its answer was lost, and the prospect replied before
    the retry: the retry finds our message first, so both are on the timeline."""
    replier: list[str] = []
    sim: list[Simulator] = []

    def lose_the_answer(method: str) -> None:
        if method == "send_message" and replier:
            person = replier.pop()
            sim[0].reply(account[0], sim[0].person(person).provider_id, "Thanks, call me")
            raise TransientError("the answer was lost", code="request_timeout")

    account: list[str] = []
    wrap: Any = lambda inner: ProviderWrapper(inner, after=lose_the_answer)  # noqa: E731
    settings = test_settings(database_url)
    with started_with_provider(settings, wrap) as rt:
        assert rt.simulator is not None
        sim.append(rt.simulator)
        [person] = find_people(rt, 1, accepts_silently)
        campaign_id = new_campaign(rt, [person])
        with rt.sessions() as session:
            account.append(get_campaign(session, campaign_id).account.external_id)
        replier.append(person.slug)
        launch(rt, campaign_id)
        [ended] = wait_until(lambda: all_ended(rt, campaign_id), timeout=60, what="the end")
        running = ["PENDING", "ENQUEUED"]
        wait_until(
            lambda: not DBOS.list_workflows(name="run_stage", status=running),
            what="the follow-up's workflow to finish",
        )

        assert ended.status.value == "replied"
        timeline = events(rt, ended.id)
        [sent] = [e for e in timeline if e.kind == "message_sent"]
        assert sent.details["found_after_retry"] is True
        assert [e.kind for e in timeline if e.kind == "reply_received"] == ["reply_received"]
        log = [e for e in rt.simulator.log() if e["kind"] == "message"]
        assert len(log) == 1, "one follow-up reached LinkedIn, and it is on the timeline"


def test_an_unanswered_invitation_is_withdrawn_after_its_days_through_the_governor(
    database_url: str,
) -> None:
    with started(test_settings(database_url)) as rt:
        people = find_people(rt, 2, never_accepts)
        campaign_id = new_campaign(
            rt, people, account=always_open_account(withdraw_after_days=5, warmup_days=0)
        )
        launch(rt, campaign_id)

        def withdrawn() -> list[Journey]:
            found = journeys(rt, campaign_id)
            done = all(j.status.value == "not_accepted" and j.stage is None for j in found)
            return found if found and done else []

        ended = wait_until(withdrawn, what="both invitations withdrawn")
        for journey in ended:
            kinds = [e.kind.value for e in events(rt, journey.id)]
            assert kinds[-2:] == ["not_accepted", "invitation_withdrawn"], kinds
            sent = next(e.at for e in events(rt, journey.id) if e.kind == "invitation_sent")
            taken = next(e.at for e in events(rt, journey.id) if e.kind == "invitation_withdrawn")
            assert timedelta(days=5) <= taken - sent < timedelta(days=6)
        assert rt.simulator is not None
        assert Counter(e["kind"] for e in rt.simulator.log()) == {
            "invitation": 2,
            "withdrawal": 2,
        }
        sender = get_account(rt, ended[0].account_id)
        assert sender.governor is not None and sender.governor.pending_invitations == 0
        with rt.sessions() as session:
            assert get_campaign(session, campaign_id).status is CampaignStatus.COMPLETED
