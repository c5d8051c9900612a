"""The core's promises over HTTP, against the fake Unipile: a wrong Unipile account id is
refused at creation and, should the account vanish later, pauses the sender instead of
failing its prospects; every action is stamped with the moment LinkedIn took it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tests.e2e.conftest import (
    ACCOUNTS,
    SHORT_SEQUENCE,
    SHORT_TEMPLATES,
    Stack,
    accepts_silently_within,
    always_open_account,
    events_of,
)

SHORT = {"sequence": SHORT_SEQUENCE, "templates": SHORT_TEMPLATES}


def test_a_wrong_unipile_account_id_is_refused_at_creation(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    refused = stack.app.post("/api/accounts", json=always_open_account("no-such-account"))
    assert refused.status_code == 422, refused.text
    assert "no-such-account" in refused.json()["error"]["message"]
    assert "not found" in refused.json()["error"]["message"].lower()
    assert stack.get("/api/accounts") == []


def test_an_account_gone_at_send_time_pauses_the_sender_and_holds_its_journeys(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    people = stack.people(3, accepts_silently_within((4, 20)))
    account_id = stack.create_account(ACCOUNTS[1])
    campaign_id = stack.create_campaign(account_id, people, **SHORT)
    stack.fake_state.account_ids.remove(ACCOUNTS[1])  # deleted at Unipile meanwhile
    stack.launch(campaign_id)

    held = stack.wait_journeys(campaign_id, lambda j: j["held"], what="every journey held")
    sender = stack.wait_account(account_id, "paused")
    assert sender["paused_by"] == "provider"
    assert "Account not found" in sender["status_reason"]
    assert all(j["status"] == "scheduled" for j in held), "no prospect failed for it"
    assert stack.log() == []


def test_each_action_is_stamped_when_linkedin_took_it(start_stack: Callable[..., Stack]) -> None:
    # One simulated hour a real second: an HTTP round trip is seconds of simulated time.
    stack = start_stack(scale=3600.0)
    people = stack.people(3, accepts_silently_within((2, 12)))
    account_id = stack.create_account()
    campaign_id = stack.create_campaign(account_id, people, **SHORT)
    stack.launch(campaign_id)
    stack.wait_journeys(
        campaign_id, lambda j: j["follow_ups_sent"] >= 1, what="follow-up 1", timeout=120
    )

    received = {(e["kind"], e["public_identifier"]): e for e in stack.log()}
    journeys = stack.by_slug(campaign_id)
    for slug, journey in journeys.items():
        pairs = [
            (events_of(journey, "invitation_sent")[0], received[("invitation", slug)]),
            (events_of(journey, "message_sent")[0], received[("message", slug)]),
        ]
        for event, action in pairs:
            recorded = datetime.fromisoformat(event["at"])
            took = datetime.fromisoformat(action["at"])
            # Stamped when LinkedIn's answer came back: never before it acted, and within
            # the round trip (30 simulated minutes here is half a real second; the engine,
            # the fake and this test share one process and two busy cores).
            assert timedelta(0) <= recorded - took <= timedelta(minutes=30), (slug, event)
        assert journey["invited_at"] == events_of(journey, "invitation_sent")[0]["at"]
