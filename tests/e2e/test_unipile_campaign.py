"""The default campaign with the Unipile provider against the fake Unipile, webhooks included.

Our app (its API, workers and webhook route) and the fake Unipile each run on a loopback
port, on SQLite and on PostgreSQL; everything between them is real HTTP.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from outreach.sandbox.people import Person
from outreach.testing import assert_on_schedule, wait_until
from tests.e2e.conftest import (
    Stack,
    accepts_silently_within,
    days_between,
    events_of,
    kinds,
    never_accepts,
)

# Acceptances are announced 150 h late (Unipile's own delay is up to 8 h): for anyone who
# accepts 28 h or more after the invitation that is well after the day-2 check
# (28 + 150 = 178 h: 130 h, or 2.7 real seconds, after it, a margin for a busy machine).
LATE_HOURS = 150.0
CHECK_DAY = 6


def replies_after_follow_up_2(p: Person) -> bool:
    """Accepts 28-40 h after the invitation (seen by the check), answers follow-up 2."""
    late = timedelta(hours=28) <= p.accept_delay <= timedelta(hours=40)
    return p.accepts and not p.already_connected and late and p.replies_after == 2


def forged_reply(account: str, person: Person, message_id: str) -> bytes:
    """A ``message_received`` shaped like the fake's own, claiming ``person`` replied."""
    return json.dumps(
        {
            "event": "message_received",
            "account_id": account,
            "account_type": "LINKEDIN",
            "message_id": message_id,
            "message": "Stop writing to me",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "sender": {"attendee_provider_id": person.provider_id, "attendee_name": "Forger"},
            "is_sender": False,
        }
    ).encode()


def test_default_campaign_completes_stops_on_a_webhook_reply_and_sees_late_acceptances(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack(new_relation_delay_hours=LATE_HOURS)
    before, app_now, after = stack.fake_now(), stack.sim_now(), stack.fake_now()
    assert before <= app_now <= after + timedelta(milliseconds=1), "one simulated clock"

    [silent] = stack.people(1, accepts_silently_within((28, 40)))
    [refuses] = stack.people(1, never_accepts)
    [replier] = stack.people(1, replies_after_follow_up_2)
    account_id = stack.create_account()
    account = stack.account(account_id)["external_id"]
    campaign_id = stack.create_campaign(account_id, [silent, refuses, replier])
    stack.launch(campaign_id)

    # A forged reply (no secret, a wrong one) in the middle of the sequence stops nothing.
    wait_until(
        lambda: any(
            j["follow_ups_sent"] >= 1 and j["public_identifier"] == silent.slug
            for j in stack.journeys(campaign_id)
        ),
        what="follow-up 1 to the silent prospect",
    )
    forged = forged_reply(account, silent, "forged-1")
    assert stack.post_webhook(forged, secret=None).status_code == 401
    assert stack.post_webhook(forged, secret="not-the-secret").status_code == 401

    stack.wait_ended(campaign_id, timeout=60)
    # The reply agent drafted an answer to the reply, after the reply's commit.
    [draft] = wait_until(lambda: stack.get("/api/drafts?status=pending"), what="the draft")
    journeys = stack.by_slug(campaign_id)

    done = journeys[silent.slug]
    assert done["status"] == "completed"
    assert kinds(done) == [
        "scheduled",
        "invitation_sent",
        "invitation_accepted",
        *["message_sent"] * 5,
        "completed",
    ]
    [accepted] = events_of(done, "invitation_accepted")
    assert accepted["details"]["seen_by"] == "acceptance check"
    assert_on_schedule(
        [(e["kind"], datetime.fromisoformat(e["at"]), e["details"]) for e in done["events"]]
    )

    # The late new_relation webhook did arrive, after the check, and changed nothing.
    [late] = [
        d
        for d in stack.deliveries("new_relation")
        if json.loads(d.payload)["user_provider_id"] == silent.provider_id
    ]
    assert late.outcome == "ignored"
    assert late.received_at > datetime.fromisoformat(accepted["at"])

    lost = journeys[refuses.slug]
    assert lost["status"] == "not_accepted"
    # Unanswered, the invitation is withdrawn on day 21 (before the others end, day 26).
    assert kinds(lost) == ["scheduled", "invitation_sent", "not_accepted", "invitation_withdrawn"]

    stopped = journeys[replier.slug]
    assert stopped["status"] == "replied"
    assert kinds(stopped) == [
        "scheduled",
        "invitation_sent",
        "invitation_accepted",
        "message_sent",
        "message_sent",
        "reply_received",
        "draft_ready",
    ]
    assert draft["journey_id"] == stopped["id"]
    [reply] = events_of(stopped, "reply_received")
    assert reply["details"]["source"] == "webhook"
    assert reply["details"]["text"] == replier.reply_text

    log = stack.log()
    # The unanswered invitation is withdrawn on day 21, through Unipile too.
    assert Counter(e["kind"] for e in log) == {"invitation": 3, "message": 5 + 2, "withdrawal": 1}
    stack.assert_no_action_twice()

    # Approved (twice: the second is refused), the answer reaches Unipile once.
    assert stack.app.post(f"/api/drafts/{draft['id']}/approve").status_code == 200
    twice = stack.app.post(f"/api/drafts/{draft['id']}/approve")
    assert twice.status_code == 409, twice.text
    wait_until(
        lambda: stack.get(f"/api/drafts/{draft['id']}")["status"] == "sent", what="the answer"
    )
    answers = [e for e in stack.log() if e["kind"] == "message" and e["text"] == draft["text"]]
    assert len(answers) == 1 and answers[0]["public_identifier"] == replier.slug
    stack.assert_no_action_twice()

    # Replaying what the fake delivered, or posting garbage, changes nothing either.
    # (First every delivery is in: the reply and the echoes of our 8 messages, beside the
    # two forged ones, kept as rejected.)
    wait_until(
        lambda: (
            sorted(d.outcome for d in stack.deliveries("message_received"))
            == ["ignored"] * 8 + ["processed"] + ["rejected"] * 2
        ),
        what="the echoes",
    )

    def state() -> tuple[object, object]:
        # The sender's usage "today" is not part of it: the simulated day may turn meanwhile.
        account = stack.account(account_id)
        account.pop("governor")
        return stack.by_slug(campaign_id), account

    snapshot = state()
    kept = len(stack.deliveries())
    [delivered] = [d for d in stack.deliveries("message_received") if d.outcome == "processed"]
    replayed = stack.post_webhook(delivered.payload.encode())
    assert (replayed.status_code, replayed.json()["outcome"]) == (200, "duplicate")
    again = stack.post_webhook(late.payload.encode())  # the same relation: one event
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert stack.post_webhook(b'{"event": "message_received", ').status_code == 400
    unusable = json.loads(forged_reply(account, replier, "forged-2"))
    del unusable["sender"]
    assert stack.post_webhook(json.dumps(unusable).encode()).status_code == 422
    assert stack.post_webhook(forged_reply(account, replier, "x"), secret="").status_code == 401
    assert state() == snapshot
    assert len(stack.deliveries()) == kept + 5  # every one is kept, with what became of it
    assert [d.outcome for d in stack.deliveries()[-5:]] == [
        "duplicate",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert stack.deliveries()[-1].error == "missing or wrong Unipile-Auth header"
    # The replayed reply drafted nothing more: one draft per reply.
    assert stack.app.get("/api/drafts").headers["x-total-count"] == "1"


def test_follow_up_1_goes_out_on_the_new_relation_webhook_before_the_check(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()  # new_relation webhooks as soon as the fake sees the acceptance
    [person] = stack.people(1, accepts_silently_within((2, 6)))
    account_id = stack.create_account()
    # The check on day 6, far from the acceptance (a margin of seconds of real time for a
    # busy machine): follow-up 1 must not wait for it.
    campaign_id = stack.create_campaign(
        account_id,
        [person],
        sequence={"follow_up_on_acceptance": True, "acceptance_check_days": CHECK_DAY},
    )
    stack.launch(campaign_id)

    [journey] = wait_until(
        lambda: [j for j in stack.journeys(campaign_id) if j["follow_ups_sent"] >= 1],
        what="follow-up 1",
    )
    detail = stack.journey(journey["id"])
    invited = events_of(detail, "invitation_sent")[0]["at"]
    [accepted] = events_of(detail, "invitation_accepted")
    assert accepted["details"]["seen_by"] == "new_relation webhook"
    [sent] = events_of(detail, "message_sent")
    assert sent["details"]["follow_up"] == 1
    due = datetime.fromisoformat(sent["details"]["due"])
    assert due == datetime.fromisoformat(accepted["at"]), "due when the webhook said accepted"
    assert datetime.fromisoformat(sent["at"]) >= due
    assert days_between(sent["at"], invited) < CHECK_DAY, "before the acceptance check"

    # The check it replaced comes and goes without a second follow-up 1.
    wait_until(lambda: days_between(stack.sim_now(), invited) > CHECK_DAY + 0.5, what="the check")
    assert kinds(stack.journey(journey["id"])) == [
        "scheduled",
        "invitation_sent",
        "invitation_accepted",
        "message_sent",
    ]
    assert Counter(e["kind"] for e in stack.log()) == {"invitation": 1, "message": 1}
    stack.assert_no_action_twice()
