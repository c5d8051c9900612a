"""A worker killed while it sends an approved answer through the fake Unipile, then
restarted, sends it once, counted at the fake's own log.

The campaign runs in a real ``outreach worker`` process against the fake Unipile over
loopback (the app here runs no queue); the reply comes by webhook and is drafted by the
app. The fake performs the answer, then holds its HTTP answer 30 seconds: the worker is
killed with SIGKILL in between. The restarted worker (same executor id) recovers the
send, finds the answer in the chat, and records it.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outreach.testing import wait_until
from tests.e2e.conftest import Stack, replies_after_follow_up_1
from tests.engine.test_crash import worker

ANSWER = "Thursday at 10 works for me. Speak then!"


def test_a_worker_killed_mid_answer_sends_it_once_at_unipile(
    start_stack: Callable[..., Stack], database_url: str, tmp_path: Path
) -> None:
    stack = start_stack(workers=False)
    env = stack.worker_env()
    log = tmp_path / "worker.log"
    people = stack.people(1, replies_after_follow_up_1)
    account_id = stack.create_account()
    campaign_id = stack.create_campaign(account_id, people)
    stack.launch(campaign_id)

    def answers() -> list[dict[str, Any]]:
        return [e for e in stack.log() if e["kind"] == "message" and e["text"] == ANSWER]

    with worker(database_url, log, **env):
        draft = wait_until(
            lambda: next(iter(stack.get("/api/drafts?status=pending")), None),
            timeout=120,
            what="the reply (a webhook) drafted",
        )
    stack.inject(slow_answers=1, slow_seconds=30)
    with worker(database_url, log, **env) as process:
        approved = stack.app.post(f"/api/drafts/{draft['id']}/approve", json={"text": ANSWER})
        assert approved.status_code == 200, approved.text
        wait_until(answers, timeout=60, what="the answer at the fake Unipile")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert stack.get(f"/api/drafts/{draft['id']}")["status"] == "approved", "killed mid-send"

    with worker(database_url, log, **env):
        sent = wait_until(
            lambda: (d := stack.get(f"/api/drafts/{draft['id']}"))["status"] == "sent" and d,
            timeout=120,
            what="the answer recorded after the restart",
        )
    assert sent["answer"] == ANSWER
    at_unipile = answers()
    assert len(at_unipile) == 1, at_unipile
    assert at_unipile[0]["public_identifier"] == people[0].slug
    journey = stack.journey(draft["journey_id"])
    [recorded] = [e for e in journey["events"] if e["kind"] == "answer_sent"]
    assert recorded["details"]["found_after_retry"] is True
    stack.assert_no_action_twice()
