"""A campaign's prospect list (search, state, sort, pages) and what a person does to one
prospect: stop, remove, never contact. Judged from the simulator's log, on both databases."""

from __future__ import annotations

import pytest

from outreach.accounts.commands import pause_account, resume_account
from outreach.errors import Conflict, NotFound
from outreach.models import Campaign, JourneyStatus
from outreach.prospects import actions
from outreach.prospects.commands import import_prospects
from outreach.prospects.listing import PENDING, ProspectQuery, list_prospects
from outreach.runtime import Runtime
from outreach.sandbox.people import Person
from outreach.testing import (
    accepts_silently,
    find_people,
    journeys,
    launch,
    never_accepts,
    new_campaign,
    started,
    test_settings,
    wait_until,
)


def _listed(rt: Runtime, campaign_id: int, **query: object) -> tuple[list[str], int]:
    with rt.sessions() as session:
        page = list_prospects(session, campaign_id, ProspectQuery(**query))  # type: ignore[arg-type]
    return [r.public_identifier for r in page.rows], page.total


def test_the_list_searches_filters_sorts_and_pages_before_and_after_launch(
    database_url: str,
) -> None:
    with started(test_settings(database_url), workers=False) as rt:
        campaign_id = new_campaign(rt, [])
        rows = [
            (
                1,
                {
                    "public_identifier": "ada",
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "company": "Analytical Engines",
                },
            ),
            (
                2,
                {
                    "public_identifier": "grace",
                    "first_name": "Grace",
                    "last_name": "Hopper",
                    "company": "US Navy",
                },
            ),
            (
                3,
                {
                    "public_identifier": "alan",
                    "first_name": "Alan",
                    "last_name": "Turing",
                    "company": "100%_Bletchley",
                },
            ),
            (
                4,
                {
                    "public_identifier": "edsger",
                    "first_name": "Edsger",
                    "last_name": "Dijkstra",
                    "company": "<b>Eindhoven</b>",
                },
            ),
        ]
        assert import_prospects(rt, campaign_id, rows).imported == 4  # type: ignore[arg-type]

        names, total = _listed(rt, campaign_id)
        assert (names, total) == (["ada", "grace", "alan", "edsger"], 4)
        assert _listed(rt, campaign_id, state=PENDING)[1] == 4
        assert _listed(rt, campaign_id, state="scheduled") == ([], 0)
        # Name (first and last together), company and identifier; any case.
        assert _listed(rt, campaign_id, q="ADA LOVE")[0] == ["ada"]
        assert _listed(rt, campaign_id, q="navy")[0] == ["grace"]
        assert _listed(rt, campaign_id, q="edsg")[0] == ["edsger"]
        # What the person types is literal: % and _ are not wildcards.
        assert _listed(rt, campaign_id, q="0%_b")[0] == ["alan"]
        assert _listed(rt, campaign_id, q="%")[0] == ["alan"]
        assert _listed(rt, campaign_id, q="_")[0] == ["alan"]
        assert _listed(rt, campaign_id, q="<b>")[0] == ["edsger"]
        assert _listed(rt, campaign_id, sort="name")[0] == ["edsger", "grace", "ada", "alan"]
        assert _listed(rt, campaign_id, sort="name", order="desc")[0][0] == "alan"
        assert _listed(rt, campaign_id, sort="company")[0][0] == "alan"  # "1" sorts first
        assert _listed(rt, campaign_id, limit=2, offset=2) == (["alan", "edsger"], 4)

        launch(rt, campaign_id)
        assert _listed(rt, campaign_id, state=PENDING) == ([], 0)
        assert _listed(rt, campaign_id, state="scheduled")[1] == 4
        with rt.sessions() as session:
            row = actions.get_prospect(session, campaign_id, 1)
            assert row.journey_id is not None and row.state == "scheduled"
            with pytest.raises(NotFound):
                actions.get_prospect(session, campaign_id + 1, 1)


def test_a_stopped_journey_sends_nothing_more_and_its_invitation_is_withdrawn(
    database_url: str,
) -> None:
    with started(test_settings(database_url)) as rt:
        silent = find_people(rt, 2, accepts_silently)
        waiting = find_people(rt, 1, never_accepts, prefix="w")
        campaign_id = new_campaign(rt, silent + waiting)
        sender = journeys_sender(rt, campaign_id)
        pause_account(rt, sender)  # nothing goes out until the first stop is made
        launch(rt, campaign_id)
        by_name = {j.prospect.public_identifier: j for j in journeys(rt, campaign_id)}
        stopped_early, stopped_invited = by_name[silent[0].slug], by_name[waiting[0].slug]
        row = actions.stop_prospect(rt, campaign_id, stopped_early.prospect_id, by="alice")
        assert (row.state, row.stage, row.next_run_at) == ("stopped", None, None)
        resume_account(rt, sender)

        def invited() -> bool:
            return any(
                j.id == stopped_invited.id and j.status is JourneyStatus.INVITED
                for j in journeys(rt, campaign_id)
            )

        wait_until(invited, what="the invitation to the one who never accepts")
        row = actions.stop_prospect(rt, campaign_id, stopped_invited.prospect_id, by="alice")
        assert (row.state, row.stage) == ("stopped", "withdraw")  # its pending invitation
        again = actions.stop_prospect(rt, campaign_id, stopped_invited.prospect_id, by="bob")
        assert again.state == "stopped"

        def finished() -> bool:
            found = journeys(rt, campaign_id)
            return all(j.status.is_terminal and j.stage is None for j in found)

        wait_until(finished, timeout=90, what="every journey ended, the withdrawal done")
        log = rt.simulator.log()

        def to(person: Person) -> list[str]:
            return [e["kind"] for e in log if e["recipient"] == person.provider_id]

        assert to(silent[0]) == []
        assert to(waiting[0]) == ["invitation", "withdrawal"]
        assert "message" in to(silent[1])
        ended = {j.id: j for j in journeys(rt, campaign_id)}
        assert ended[stopped_early.id].end_reason == "stopped by alice"
        assert ended[stopped_invited.id].end_reason == "stopped by alice"
        assert ended[stopped_invited.id].status is JourneyStatus.STOPPED


def journeys_sender(rt: Runtime, campaign_id: int) -> int:
    with rt.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.account_id


def test_remove_takes_out_one_never_contacted_and_refuses_one_contacted(
    database_url: str,
) -> None:
    with started(test_settings(database_url)) as rt:
        people = find_people(rt, 3, accepts_silently)
        campaign_id = new_campaign(rt, people)
        with rt.sessions() as session:
            first = list_prospects(session, campaign_id, ProspectQuery()).rows
        actions.remove_prospect(rt, campaign_id, first[0].id)  # before launch
        assert _listed(rt, campaign_id)[1] == 2
        with pytest.raises(Conflict, match="not launched"):
            actions.stop_prospect(rt, campaign_id, first[1].id, by="alice")

        launch(rt, campaign_id)
        wait_until(
            lambda: any(j.invited_at for j in journeys(rt, campaign_id)), what="an invitation"
        )
        contacted = next(j for j in journeys(rt, campaign_id) if j.invited_at)
        with pytest.raises(Conflict, match="already contacted"):
            actions.remove_prospect(rt, campaign_id, contacted.prospect_id)
        with pytest.raises(NotFound):
            actions.remove_prospect(rt, campaign_id, first[0].id)
        assert _listed(rt, campaign_id)[1] == 2
        log = rt.simulator.log()
        assert people[0].provider_id not in {e["recipient"] for e in log}


def test_do_not_contact_from_the_list_stops_the_journey(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        people = find_people(rt, 2, accepts_silently)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        target = next(
            j for j in journeys(rt, campaign_id) if j.prospect.public_identifier == people[1].slug
        )
        added = actions.block_prospect(rt, campaign_id, target.prospect_id)
        assert (added.added, added.entries[0].value) == (1, people[1].slug)
        again = actions.block_prospect(rt, campaign_id, target.prospect_id)
        assert again.added == 0
        row = next(j for j in journeys(rt, campaign_id) if j.id == target.id)
        assert row.status is JourneyStatus.FAILED
        assert row.end_reason and row.end_reason.startswith("do not contact")
