"""The do-not-contact list and one campaign per person, through the commands, on both databases.

Runtimes here run without queue workers unless a test needs stages to run: a launched
journey then waits for its invitation slot, in flight, and nothing is sent meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from outreach.accounts.commands import create_account
from outreach.campaigns.commands import create_campaign
from outreach.campaigns.schemas import CampaignCreate
from outreach.models import (
    DoNotContactKind,
    DoNotContactSource,
    JourneyStatus,
    Prospect,
    ReplyIntent,
)
from outreach.prospects import dnc
from outreach.prospects.commands import (
    ImportResult,
    RowConflict,
    add_do_not_contact,
    import_prospects,
    list_do_not_contact,
    remove_do_not_contact,
)
from outreach.prospects.schemas import DoNotContactIn
from outreach.runtime import Runtime
from outreach.testing import (
    accepts_silently,
    all_ended,
    always_open_account,
    by_slug,
    events,
    find_people,
    journeys,
    launch,
    new_campaign,
    started,
    test_settings,
    wait_until,
)


@pytest.fixture
def rt(database_url: str) -> Iterator[Runtime]:
    with started(test_settings(database_url), workers=False) as runtime:
        yield runtime


def campaign(rt: Runtime, name: str) -> int:
    sender = create_account(rt, always_open_account())
    return create_campaign(rt, CampaignCreate(name=name, account_id=sender.id)).id


def entry(kind: str, value: str, reason: str | None = None) -> DoNotContactIn:
    return DoNotContactIn.model_validate({"kind": kind, "value": value, "reason": reason})


def block(rt: Runtime, *entries: DoNotContactIn) -> Any:
    return add_do_not_contact(rt, list(entries), source=DoNotContactSource.PERSON)


def imported(rt: Runtime, campaign_id: int, *rows: dict[str, Any]) -> ImportResult:
    return import_prospects(rt, campaign_id, list(enumerate(rows, start=1)))


def slugs_in(rt: Runtime, campaign_id: int) -> set[str]:
    with rt.sessions() as session:
        query = sa.select(Prospect.public_identifier).where(Prospect.campaign_id == campaign_id)
        return set(session.execute(query).scalars())


# -- the list and imports -----------------------------------------------------------------


def test_an_import_leaves_out_people_companies_and_domains_on_the_list(rt: Runtime) -> None:
    block(
        rt,
        entry("person", "https://www.linkedin.com/in/Jane-Doe/?trk=x", "asked us to stop"),
        entry("person", "ACoAABlocked1"),
        entry("company", "  ACME   GmbH ", "a customer"),
        entry("domain", "https://www.rival.example/about"),
    )
    result = imported(
        rt,
        campaign(rt, "Q3"),
        {"public_identifier": "jane-doe"},
        {"public_identifier": "pat-ok", "company": "Acme"},  # another company
        {"public_identifier": "bo-acme", "company": "acme gmbh"},
        {"public_identifier": "ed-mail", "Work Email": "ed@eu.rival.example"},
        {"public_identifier": "si-site", "website": "http://rival.example"},
        {"public_identifier": "renamed", "provider_id": "ACoAABlocked1"},
        {"public_identifier": "kim-fine", "email": "kim@friend.example", "company": "Initech"},
    )
    assert result.imported == 2
    assert slugs_in(rt, 1) == {"pat-ok", "kim-fine"}
    reasons = {b.row: (b.public_identifier, b.reason) for b in result.blocked}
    assert reasons == {
        1: (
            "jane-doe",
            "on the do-not-contact list: person jane-doe (reason: asked us to stop)",
        ),
        3: ("bo-acme", "on the do-not-contact list: company acme gmbh (reason: a customer)"),
        4: ("ed-mail", "on the do-not-contact list: domain rival.example"),
        5: ("si-site", "on the do-not-contact list: domain rival.example"),
        6: ("renamed", "on the do-not-contact list: person acoaablocked1"),
    }
    assert result.errors == [] and result.conflicts == [] and result.duplicates == 0


def test_entries_are_normalised_unique_and_can_be_removed(rt: Runtime) -> None:
    first = block(rt, entry("domain", "WWW.Acme.com"), entry("domain", "acme.com/x"))
    assert (first.added, first.already_listed) == (1, 0), "one entry, asked for twice"
    again = block(rt, entry("domain", "https://acme.com", "new reason"), entry("company", "X"))
    assert (again.added, again.already_listed) == (1, 1)
    assert again.entries[0].id == first.entries[0].id
    assert again.entries[0].reason is None, "an entry already there is kept as it is"
    listed = list_do_not_contact(rt)
    assert [(e.kind, e.value) for e in listed] == [
        (DoNotContactKind.COMPANY, "x"),
        (DoNotContactKind.DOMAIN, "acme.com"),
    ]
    assert [e.value for e in list_do_not_contact(rt, kind=DoNotContactKind.DOMAIN)] == ["acme.com"]
    removed = remove_do_not_contact(rt, first.entries[0].id)
    assert removed.value == "acme.com"
    assert [e.value for e in list_do_not_contact(rt)] == ["x"]
    with pytest.raises(Exception, match="no do-not-contact entry"):
        remove_do_not_contact(rt, first.entries[0].id)


# -- people in flight ---------------------------------------------------------------------


def test_adding_an_entry_stops_a_journey_in_flight_at_once(rt: Runtime) -> None:
    people = find_people(rt, 3, accepts_silently)
    campaign_id = new_campaign(rt, people)
    assert launch(rt, campaign_id) == 3
    stopped, kept, other = people
    added = block(rt, entry("person", stopped.profile_url, "unsubscribed"))
    assert added.stopped_journeys == 1

    found = by_slug(rt, campaign_id)
    journey = found[stopped.slug]
    assert journey.status is JourneyStatus.FAILED
    assert journey.end_reason == f"do not contact: person {stopped.slug} (reason: unsubscribed)"
    assert journey.next_run_at is None and journey.stage is None
    last = events(rt, journey.id)[-1]
    assert (last.kind, last.details["reason"]) == ("failed", journey.end_reason)
    assert last.details["do_not_contact_entry"] == added.entries[0].id
    assert {found[p.slug].status for p in (kept, other)} == {JourneyStatus.SCHEDULED}

    # The batch check the engine calls at journey creation and before each send.
    ids = [found[p.slug].prospect_id for p in people]
    with rt.sessions() as session:
        blocked = dnc.blocked_prospect_ids(session, ids)
        assert blocked == {
            ids[0]: f"on the do-not-contact list: person {stopped.slug} (reason: unsubscribed)"
        }
        prospect = session.get(Prospect, ids[1])
        assert prospect is not None and dnc.blocked_reason(session, prospect) is None
    # Adding it again stops nothing more.
    assert block(rt, entry("person", stopped.slug)).stopped_journeys == 0


def test_a_company_entry_stops_its_people_in_every_campaign(rt: Runtime) -> None:
    a, b = campaign(rt, "A"), campaign(rt, "B")
    imported(rt, a, {"public_identifier": "ann-a", "company": "Globex Corp"})
    imported(rt, b, {"public_identifier": "ben-b", "company": "GLOBEX CORP"})
    imported(rt, b, {"public_identifier": "cat-b", "company": "Hooli"})
    assert launch(rt, a) == 1 and launch(rt, b) == 2
    assert block(rt, entry("company", "globex corp")).stopped_journeys == 2
    assert {j.prospect.public_identifier: j.status.value for j in journeys(rt, b)} == {
        "ben-b": "failed",
        "cat-b": "scheduled",
    }
    assert [j.status.value for j in journeys(rt, a)] == ["failed"]


def test_a_stopped_journey_sends_nothing_more(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        people = find_people(rt, 2, accepts_silently)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        wait_until(
            lambda: all(j.invited_at for j in journeys(rt, campaign_id)), what="both invitations"
        )
        block(rt, entry("person", people[0].slug))
        sent_before = [e for e in rt.simulator.log() if e["public_identifier"] == people[0].slug]
        wait_until(
            lambda: by_slug(rt, campaign_id)[people[1].slug].follow_ups_sent >= 2,
            what="the other journey to go on (follow-up 2, a week later)",
        )
        sent = [e for e in rt.simulator.log() if e["public_identifier"] == people[0].slug]
        assert sent == sent_before
        assert by_slug(rt, campaign_id)[people[0].slug].status is JourneyStatus.FAILED


# -- one campaign per person --------------------------------------------------------------


def test_a_person_another_campaign_has_is_reported_with_that_campaign(rt: Runtime) -> None:
    founders = campaign(rt, "Founders")
    imported(
        rt,
        founders,
        {"public_identifier": "ada-l"},
        {"public_identifier": "old-slug", "provider_id": "ACoAAAda2"},
    )
    later = campaign(rt, "Later")
    result = imported(
        rt,
        later,
        {"profile_url": "https://www.linkedin.com/in/ADA-L/"},
        {"public_identifier": "new-slug", "provider_id": "ACoAAAda2"},
        {"public_identifier": "grace-h"},
        {"public_identifier": "grace-h"},  # the same person twice: a duplicate
    )
    assert result.conflicts == [
        RowConflict(1, "ada-l", founders, "Founders"),
        RowConflict(2, "new-slug", founders, "Founders"),
    ]
    assert (result.imported, result.duplicates) == (1, 1)
    assert slugs_in(rt, later) == {"grace-h"}
    again = imported(rt, later, {"public_identifier": "grace-h"})
    assert (again.duplicates, again.conflicts) == (1, []), "within a campaign: a duplicate"


def test_two_imports_of_one_person_at_once_give_them_one_campaign(rt: Runtime) -> None:
    first, second = campaign(rt, "First"), campaign(rt, "Second")
    rows = [{"public_identifier": f"race-{i}"} for i in range(50)]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda cid: imported(rt, cid, *rows), (first, second)))
    assert sorted(r.imported for r in results) == [0, 50]
    assert sorted(len(r.conflicts) for r in results) == [0, 50]
    assert len(slugs_in(rt, first) | slugs_in(rt, second)) == 50


def test_a_person_whose_journey_ended_elsewhere_may_be_imported_again(rt: Runtime) -> None:
    people = find_people(rt, 2, accepts_silently)
    first = new_campaign(rt, people)
    launch(rt, first)
    ended, running = people
    entry_id = block(rt, entry("person", ended.slug)).entries[0].id
    remove_do_not_contact(rt, entry_id)  # off the list again; the journey stays ended
    assert by_slug(rt, first)[ended.slug].status is JourneyStatus.FAILED

    second = campaign(rt, "Second")
    result = imported(
        rt, second, {"public_identifier": ended.slug}, {"public_identifier": running.slug}
    )
    assert result.imported == 1 and slugs_in(rt, second) == {ended.slug}
    assert result.conflicts == [RowConflict(2, running.slug, first, "Test")]


def test_a_completed_campaign_owns_nobody(rt: Runtime) -> None:
    people = find_people(rt, 1, accepts_silently)
    first = new_campaign(rt, people)
    launch(rt, first)
    block(rt, entry("person", people[0].slug))  # its only journey ends: it completes
    remove_do_not_contact(rt, list_do_not_contact(rt)[0].id)
    result = imported(rt, campaign(rt, "Next"), {"public_identifier": people[0].slug})
    assert (result.imported, result.conflicts) == (1, [])


# -- what a reply asks ----------------------------------------------------------------------


def test_a_reply_that_asks_to_stop_puts_the_person_on_the_list(database_url: str) -> None:
    """ "Please remove me from your list" (read by the built-in classifier) puts its writer
    on the do-not-contact list, as the reply agent, after the reply's commit; a reply that
    says yes does not; the person cannot be imported into another campaign."""
    with started(test_settings(database_url)) as rt:
        stop = find_people(
            rt,
            1,
            lambda p: (
                p.accepts and p.replies_after == 1 and p.reply_text.startswith("Please remove me")
            ),
        )
        keen = find_people(
            rt,
            1,
            lambda p: (
                p.accepts and p.replies_after == 1 and p.reply_text.startswith("Sure, let's talk")
            ),
        )
        campaign_id = new_campaign(rt, stop + keen)
        launch(rt, campaign_id)
        wait_until(lambda: all_ended(rt, campaign_id), timeout=90, what="both replies")

        def listed() -> list[Any]:
            with rt.sessions() as session:
                return dnc.list_entries(session)

        entries = wait_until(listed, what="the entry the reply asked for")
        assert [(e.kind, e.value, e.source) for e in entries] == [
            (DoNotContactKind.PERSON, stop[0].slug, DoNotContactSource.REPLY_AGENT)
        ]
        assert "unsubscribe" in (entries[0].reason or "")
        intents = {j.prospect.public_identifier: j.reply_intent for j in journeys(rt, campaign_id)}
        assert intents == {
            stop[0].slug: ReplyIntent.UNSUBSCRIBE,
            keen[0].slug: ReplyIntent.INTERESTED,
        }
        result = imported(rt, campaign(rt, "Later"), {"profile_url": stop[0].profile_url})
        assert result.imported == 0
        assert [b.public_identifier for b in result.blocked] == [stop[0].slug]
