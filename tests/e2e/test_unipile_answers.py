"""Answers to replies through the fake Unipile over loopback, counted at the fake's own
log: four approvals at once over HTTP send one answer; an answer whose send LinkedIn got
but whose HTTP answer was lost (a 504) is found in the chat and not sent again; a second
reply (a webhook) supersedes the draft that waits; a rejected draft sends nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from outreach.testing import wait_until
from tests.e2e.conftest import Stack, replies_after_follow_up_1


def _answers(stack: Stack, text: str) -> list[dict[str, Any]]:
    return [e for e in stack.log() if e["kind"] == "message" and e["text"] == text]


def _draft_of(stack: Stack, journey_id: int, *, not_id: int = 0) -> dict[str, Any] | None:
    found = stack.get(f"/api/drafts?journey_id={journey_id}")
    return next((d for d in found if d["id"] != not_id and d["status"] == "pending"), None)


def test_answers_reach_unipile_once_however_approved_or_answered(
    start_stack: Callable[..., Stack],
) -> None:
    stack = start_stack()
    people = stack.people(2, replies_after_follow_up_1)
    account_id = stack.create_account()
    account = stack.account(account_id)["external_id"]
    campaign_id = stack.create_campaign(account_id, people)
    stack.launch(campaign_id)
    journeys = wait_until(
        lambda: (
            found
            if len(found := [j for j in stack.journeys(campaign_id) if j["replied_at"]]) == 2
            else None
        ),
        timeout=60,
        what="both replies (webhooks)",
    )
    first, second = sorted(journeys, key=lambda j: j["id"])
    draft = wait_until(lambda: _draft_of(stack, first["id"]), what="the first draft")

    # Four people approve at once, over HTTP, and LinkedIn's answer to the send is lost.
    stack.inject(lose_answers=1)
    gate = threading.Barrier(4)
    statuses: list[int] = []
    text = "Happy to. Does Thursday at 10 suit you?"

    def click() -> None:
        gate.wait()
        answer = stack.app.post(f"/api/drafts/{draft['id']}/approve", json={"text": text})
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409, 409, 409]
    sent = wait_until(
        lambda: (d := stack.get(f"/api/drafts/{draft['id']}"))["status"] == "sent" and d,
        timeout=60,
        what="the answer recorded sent",
    )
    assert sent["answer"] == text
    assert len(_answers(stack, text)) == 1  # the lost answer was found in the chat
    lost = [c for c in stack.traffic.calls if c.status == 504]
    assert len(lost) == 1 and "/chats" in lost[0].path
    [recorded] = [e for e in stack.journey(first["id"])["events"] if e["kind"] == "answer_sent"]
    assert recorded["details"]["found_after_retry"] is True

    # The other prospect replies again while their draft waits: the draft is superseded,
    # the new reply gets its own, and rejecting that one sends nothing.
    older = wait_until(lambda: _draft_of(stack, second["id"]), what="the second draft")
    prospect = next(p for p in people if p.slug == second["public_identifier"])
    stack.steering.reply(account, prospect.provider_id, "Also, what does it cost?")
    newer = wait_until(
        lambda: _draft_of(stack, second["id"], not_id=older["id"]), what="the newer draft"
    )
    assert newer["intent"] == "question"
    assert stack.get(f"/api/drafts/{older['id']}")["status"] == "superseded"
    approve_old = stack.app.post(f"/api/drafts/{older['id']}/approve")
    assert approve_old.status_code == 409, approve_old.text
    assert stack.app.post(f"/api/drafts/{newer['id']}/reject", json={}).status_code == 200
    for unsent in (older["text"], newer["text"]):
        assert _answers(stack, unsent) == []
    stack.assert_no_action_twice()
