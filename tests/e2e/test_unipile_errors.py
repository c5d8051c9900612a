"""Each class of Unipile error, injected at the fake Unipile, ends in its described state.

Transient errors are retried and the campaign finishes; an account-level error pauses
the sender (its journeys hold) until LinkedIn says the account is OK again or a person
resumes it; a provider limit backs the sender off until the next working day; a
prospect-level error fails that journey only; an invitation already pending counts as
sent. Whatever happens, no invitation or follow-up reaches LinkedIn twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from outreach.linkedin.unipile import UnipileProvider, register_webhooks
from outreach.sandbox.people import Person
from tests.e2e.conftest import (
    ACCOUNTS,
    API_KEY,
    SECRET,
    SHORT_SEQUENCE,
    SHORT_TEMPLATES,
    Stack,
    accepts_silently_within,
    days_between,
    events_of,
    kinds,
    never_accepts,
)

# Accept before the day-1 acceptance check of the short sequence.
ACCEPTS_EARLY = accepts_silently_within((4, 20))
SHORT = {"sequence": SHORT_SEQUENCE, "templates": SHORT_TEMPLATES}
COMPLETED = [
    "scheduled",
    "invitation_sent",
    "invitation_accepted",
    "message_sent",
    "message_sent",
    "completed",
]


def short_campaign(
    stack: Stack, people: list[Person], account: str = ACCOUNTS[0]
) -> tuple[int, int]:
    """A sender with ``account`` as its Unipile id and a short campaign to ``people``."""
    account_id = stack.create_account(account)
    return account_id, stack.create_campaign(account_id, people, **SHORT)


def all_held(stack: Stack, campaign_id: int) -> list[dict[str, Any]]:
    return stack.wait_journeys(campaign_id, lambda j: j["held"], what="every journey held")


def test_transient_errors_are_retried_and_nothing_is_sent_twice(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    people = stack.people(3, ACCEPTS_EARLY)
    account_id = stack.create_account()
    # One follow-up: every kind of call, and fewer of the client's real-time back-offs.
    campaign_id = stack.create_campaign(
        account_id,
        people,
        sequence={"acceptance_check_days": 1, "follow_up_days": [1]},
        templates={"follow_ups": ["Thanks for connecting, {{ first_name }}!"]},
    )
    # Three calls in ten fail before LinkedIn acts (429, 500, 503); and the first four
    # invitations or messages are performed but their answer is lost (504).
    stack.inject(transient_rate=0.3, lose_answers=4)
    stack.launch(campaign_id)

    ended = stack.wait_ended(campaign_id, timeout=60)

    assert [j["status"] for j in ended] == ["completed"] * 3
    failed = Counter(call.status for call in stack.traffic.calls if call.status not in (200, 201))
    assert failed[504] == 4 and failed - Counter({504: 4}), failed
    assert set(failed) <= {429, 500, 503, 504}, failed
    # Each lost answer was found on LinkedIn by the check before the retry, not re-sent:
    # the invitation pending (read from the profile), the message in the chat. So every
    # send that reached LinkedIn (answered, or performed with its answer lost) is one of
    # the three invitations or the three messages.
    performed = Counter(
        "invite" if call.path.endswith("/users/invite") else "messages"
        for call in stack.traffic.calls
        if call.method == "POST"
        and call.status in (200, 201, 504)
        and (call.path.endswith("/users/invite") or "/chats" in call.path)
    )
    assert performed == {"invite": 3, "messages": 3}, performed
    retried_messages = [
        e
        for j in ended
        for e in stack.journey(j["id"])["events"]
        if e["details"].get("found_after_retry")
    ]
    invitations_lost = sum(
        1
        for call in stack.traffic.calls
        if call.method == "POST" and call.path.endswith("/invite") and call.status == 504
    )
    assert len(retried_messages) + invitations_lost == 4
    assert Counter(e["kind"] for e in stack.log()) == {"invitation": 3, "message": 3}
    stack.assert_no_action_twice()


def test_disconnected_account_pauses_and_the_reconnected_webhook_resumes_it(
    start_stack: Callable[..., Stack],
) -> None:
    # Our webhooks registered through the fake's API, as `outreach unipile webhooks` does,
    # minus the account-status one for now: the pause must come from the 401 answer,
    # not from the fake's CREDENTIALS webhook racing it.
    stack = start_stack(startup_webhook=False)
    headers = {"X-API-KEY": API_KEY}
    hooks = stack.fake.get("/api/v1/webhooks", headers=headers).json()["items"]
    [status_hook] = [h for h in hooks if h["name"] == "outreach-account_status"]
    deleted = stack.fake.delete(f"/api/v1/webhooks/{status_hook['id']}", headers=headers)
    assert deleted.status_code == 200
    people = stack.people(3, ACCEPTS_EARLY)
    account_id, campaign_id = short_campaign(stack, people)
    stack.inject(disconnect=ACCOUNTS[0])
    stack.launch(campaign_id)

    held = all_held(stack, campaign_id)
    account = stack.account(account_id)
    assert account["status"] == "paused"
    assert "disconnected_account" in account["status_reason"]
    assert all("sender paused" in j["waiting_for"] for j in held)
    assert stack.log() == []

    with UnipileProvider(stack.fake_url, API_KEY) as client:
        added = register_webhooks(client, f"{stack.app_url}/api/webhooks/unipile", SECRET)
    assert len(added) == 1, "only the account-status webhook was missing"
    stack.inject(reconnect=ACCOUNTS[0])

    ended = stack.wait_ended(campaign_id)
    assert [j["status"] for j in ended] == ["completed"] * 3
    [reconnected] = stack.deliveries("account_status")
    assert json.loads(reconnected.payload)["AccountStatus"]["message"] == "RECONNECTED"
    assert reconnected.outcome == "processed"
    account = stack.account(account_id)
    assert (account["status"], account["status_reason"]) == ("active", None)
    for journey in ended:
        timeline = kinds(stack.journey(journey["id"]))
        assert timeline[-7:] == ["held", "resumed", *COMPLETED[1:]], timeline
    assert Counter(e["kind"] for e in stack.log()) == {"invitation": 3, "message": 6}
    stack.assert_no_action_twice()


def test_restricted_account_pauses_until_a_person_resumes_it(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    people = stack.people(2, ACCEPTS_EARLY)
    account_id, campaign_id = short_campaign(stack, people)
    stack.inject(restrict=ACCOUNTS[0])  # a 403 answer; Unipile sends no status webhook
    stack.launch(campaign_id)

    all_held(stack, campaign_id)
    account = stack.account(account_id)
    assert account["status"] == "paused"
    assert "account_restricted" in account["status_reason"]

    stack.reset_errors()  # the person sorts the account out on LinkedIn, then resumes it
    resumed = stack.app.post(f"/api/accounts/{account_id}/resume")
    assert (resumed.status_code, resumed.json()["status"]) == (200, "active")

    ended = stack.wait_ended(campaign_id)
    assert [j["status"] for j in ended] == ["completed"] * 2
    assert Counter(e["kind"] for e in stack.log()) == {"invitation": 2, "message": 4}
    stack.assert_no_action_twice()


def test_provider_limits_back_off_until_the_next_working_day(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    people = stack.people(4, ACCEPTS_EARLY)
    first, second = people[:2], people[2:]
    codes = {ACCOUNTS[0]: "limit_exceeded", ACCOUNTS[1]: "cannot_resend_yet"}
    senders = {
        account: short_campaign(stack, people, account)
        for account, people in zip(ACCOUNTS, (first, second), strict=True)
    }
    for account, code in codes.items():
        stack.inject(limit=account, limit_code=code)
    for _, campaign_id in senders.values():
        stack.launch(campaign_id)

    # While the limit lasts, each retry at the back-off's end backs off again.
    backoffs = {
        account: stack.wait_account(account_id, "backoff")
        for account, (account_id, _) in senders.items()
    }
    stack.reset_errors()

    for account, (_, campaign_id) in senders.items():
        backoff = backoffs[account]
        assert codes[account] in backoff["status_reason"]
        until = datetime.fromisoformat(backoff["paused_until"])
        assert until.time() == time(0, 0), "the next working day opens at midnight here"
        ended = stack.wait_ended(campaign_id)
        assert [j["status"] for j in ended] == ["completed"] * 2
        details = [stack.journey(journey["id"]) for journey in ended]
        for detail in details:
            invited = events_of(detail, "invitation_sent")[0]["at"]
            assert days_between(invited, until) >= 0, "nothing is sent before the back-off ends"
        errors = [e["details"] for detail in details for e in events_of(detail, "error")]
        assert errors and all(e["code"] == codes[account] for e in errors), errors
        assert all(e["account_level"] for e in errors)
        sent = [e for e in stack.log() if e["account"] == account]
        assert all(days_between(e["at"], until) >= 0 for e in sent)
        assert Counter(e["kind"] for e in sent) == {"invitation": 2, "message": 4}
        assert stack.account(senders[account][0])["status"] == "active", "the back-off lifted"
    stack.assert_no_action_twice()


def test_recipient_errors_fail_one_journey_and_a_pending_invitation_counts_as_sent(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    unreachable, other = stack.people(2, ACCEPTS_EARLY)
    # Never accepts: whatever the timing, the check finds the invitation still pending.
    [pending] = stack.people(1, never_accepts)
    account_id, campaign_id = short_campaign(stack, [unreachable, pending, other])
    # Someone invited `pending` from another tool before the launch.
    body = {"account_id": ACCOUNTS[0], "provider_id": pending.provider_id, "message": "Hi!"}
    invited = stack.fake.post("/api/v1/users/invite", json=body, headers={"X-API-KEY": API_KEY})
    assert invited.status_code == 200
    # Unipile refuses a second invitation (422 already_invited_recently): our client
    # reports it as done, not as an error.
    with UnipileProvider(stack.fake_url, API_KEY) as client:
        assert client.send_invitation(ACCOUNTS[0], pending.provider_id, None) is None
    assert stack.traffic.calls[-1].status == 422
    stack.inject(invalid_recipient=unreachable.slug)
    stack.launch(campaign_id)

    stack.wait_ended(campaign_id)
    journeys = stack.by_slug(campaign_id)

    failed = journeys[unreachable.slug]
    assert failed["status"] == "failed"
    assert "invalid_recipient" in failed["end_reason"]
    assert kinds(failed) == ["scheduled", "failed"]
    assert events_of(failed, "failed")[0]["details"]["code"] == "invalid_recipient"

    counted = journeys[pending.slug]
    assert counted["status"] == "not_accepted"
    assert kinds(counted) == ["scheduled", "invitation_sent", "not_accepted"]
    assert events_of(counted, "invitation_sent")[0]["details"]["already_pending"] is True
    assert (journeys[other.slug]["status"], kinds(journeys[other.slug])) == (
        "completed",
        COMPLETED,
    )

    log = stack.log()
    invitations = Counter(e["recipient"] for e in log if e["kind"] == "invitation")
    assert invitations == {pending.provider_id: 1, other.provider_id: 1}
    assert next(e["text"] for e in log if e["recipient"] == pending.provider_id) == "Hi!"
    assert not [e for e in log if e["recipient"] == unreachable.provider_id]
    stack.assert_no_action_twice()
    assert stack.account(account_id)["status"] == "active", "a recipient error is not the sender's"
