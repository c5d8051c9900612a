"""The runs console's words and actions on both databases: a stage run in ERROR is shown
with its prospect, campaign, sender and failed step, and retried as a new stage run
(sent exactly once, counted at the simulator); a waiting campaign's runs filtered by
campaign; a bulk pause by sender; a cancel that stops the journey."""

from __future__ import annotations

import threading

from dbos import DBOS
from dbos import error as dbos_error

from outreach.models import JourneyStatus
from outreach.testing import (
    ProviderWrapper,
    accepts_silently,
    find_people,
    journeys,
    launch,
    new_campaign,
    started_with,
    test_settings,
    wait_until,
)
from outreach.web import runs


def test_a_failed_run_in_words_then_retried_sends_once(database_url: str) -> None:
    broken = threading.Event()
    broken.set()
    target: list[str] = []

    def before(method: str, about: str) -> None:
        if method == "send_invitation" and target and about == target[0] and broken.is_set():
            broken.clear()
            raise dbos_error.DBOSException("the engine lost its footing (a test)")

    with started_with(
        test_settings(database_url), lambda inner: ProviderWrapper(inner, before=before)
    ) as rt:
        people = find_people(rt, 2, accepts_silently)
        target.append(people[0].provider_id)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        failed = wait_until(
            lambda: runs.list_runs(rt, filters=runs.RunFilters(status="ERROR")),
            what="the stage run in ERROR",
        )[0]
        assert failed.title == f"Send the invitation to {people[0].full_name}"
        assert (failed.campaign_id, failed.campaign, failed.sender) == (
            campaign_id,
            "Test",
            "Test sender",
        )
        assert failed.attempt == 1 and failed.prospect == people[0].full_name
        detail = runs.get_run(rt, failed.workflow_id)
        assert detail.steps and detail.steps[-1].ok is False
        assert "lost its footing" in (detail.steps[-1].error or "")
        assert all(s.ok for s in detail.steps[:-1])

        by_campaign = runs.list_runs(rt, filters=runs.RunFilters(campaign_id=campaign_id))
        assert failed.workflow_id in {r.workflow_id for r in by_campaign}
        assert runs.list_runs(rt, filters=runs.RunFilters(campaign_id=campaign_id + 1)) == []

        done = runs.retry_run(rt, failed.workflow_id)
        assert done.detail == "the step runs again"

        def invited() -> bool:
            return all(j.invited_at for j in journeys(rt, campaign_id))

        wait_until(invited, what="both invitations, the retried one included")
        sent = [e for e in rt.simulator.log() if e["kind"] == "invitation"]
        assert sorted(e["recipient"] for e in sent) == sorted(p.provider_id for p in people)
        again = runs.list_runs(rt, filters=runs.RunFilters(status="ERROR"))
        assert [r.workflow_id for r in again] == [failed.workflow_id]  # the old run stays


def test_bulk_pause_by_sender_and_cancel_a_run(database_url: str) -> None:
    release = threading.Event()

    def before(method: str, about: str) -> None:
        if method == "send_invitation":
            release.wait(30)  # the first invitation's run stays PENDING until released

    with started_with(
        test_settings(database_url), lambda inner: ProviderWrapper(inner, before=before)
    ) as rt:
        people = find_people(rt, 3, accepts_silently)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        running = wait_until(
            lambda: runs.list_runs(
                rt, filters=runs.RunFilters(status="PENDING", campaign_id=campaign_id)
            ),
            what="a stage run in flight",
        )[0]
        sender_id = running.sender_id
        assert sender_id is not None
        request = runs.BulkRequest(action="pause", sender_id=sender_id)
        assert runs.open_journeys(rt, request) == 3
        paused = runs.bulk(rt, request, by="alice")
        assert (paused.touched, paused.detail) == (3, "3 journeys held")

        done = runs.cancel_run(rt, running.workflow_id, by="alice")
        assert done.detail == "cancelled; the journey is stopped"
        release.set()
        assert wait_until(
            lambda: DBOS.retrieve_workflow(running.workflow_id).get_status().status == "CANCELLED",
            what="the cancelled run",
        )
        stopped = next(j for j in journeys(rt, campaign_id) if j.id == running.journey_id)
        assert stopped.status is JourneyStatus.STOPPED
        assert stopped.end_reason == "stopped by alice (run cancelled)"
