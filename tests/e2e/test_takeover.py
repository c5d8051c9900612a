"""A worker killed for good mid-campaign: another worker takes over its stage within a
minute and the campaign goes on, nothing twice at the fake Unipile's log.

Two real ``outreach worker`` processes with their own executor ids share the database;
the app here runs no queue. The fake performs the first invitation and holds its answer;
the worker sending it is killed with SIGKILL and never restarted. The other one, seeing
it silent for ``OUTREACH_TAKEOVER_AFTER_SECONDS``, resumes its pending workflows
(``outreach.workers``): the resumed send looks first, finds the invitation pending, and
records it; the other prospects are invited by the survivor.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from outreach.db import create_engine
from outreach.models import Takeover, Worker
from outreach.testing import wait_until
from tests.e2e.conftest import Stack, events_of
from tests.engine.test_crash import worker

TAKEOVER_AFTER = 3.0


def _rows(url: str, model: type[Any]) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(model)))
    finally:
        engine.dispose()


def test_a_killed_workers_stage_is_taken_over_and_sent_once(
    start_stack: Callable[..., Stack], database_url: str, tmp_path: Path
) -> None:
    stack = start_stack(workers=False)
    env = stack.worker_env() | {
        "OUTREACH_HEARTBEAT_SECONDS": "0.5",
        "OUTREACH_TAKEOVER_AFTER_SECONDS": str(TAKEOVER_AFTER),
    }
    people = stack.people(3, lambda p: not p.already_connected)
    account_id = stack.create_account()
    campaign_id = stack.create_campaign(account_id, people)

    def invitations() -> list[dict[str, Any]]:
        return [e for e in stack.log() if e["kind"] == "invitation"]

    stack.inject(slow_answers=1, slow_seconds=20)  # within the servers' 30 s to stop
    doomed = worker(database_url, tmp_path / "a.log", OUTREACH_EXECUTOR_ID="takeover-a", **env)
    survivor = worker(database_url, tmp_path / "b.log", OUTREACH_EXECUTOR_ID="takeover-b", **env)
    with doomed as a:
        stack.launch(campaign_id)
        [held] = wait_until(invitations, timeout=60, what="the first invitation at the fake")
        with survivor:
            wait_until(
                lambda: {w.executor_id for w in _rows(database_url, Worker)} >= {"takeover-b"},
                timeout=60,
                what="the second worker's heartbeat",
            )
            a.send_signal(signal.SIGKILL)
            a.wait(timeout=10)
            killed = time.monotonic()

            by_slug = wait_until(
                lambda: (
                    (j := stack.by_slug(campaign_id))
                    and all(events_of(j[p.slug], "invitation_sent") for p in people)
                    and j
                ),
                timeout=90,
                what="every prospect invited, the held one by the survivor",
            )
            taken_over = time.monotonic() - killed

    assert taken_over < 60, f"taken over after {taken_over:.0f} s"
    sent = invitations()
    assert sorted(e["public_identifier"] for e in sent) == sorted(p.slug for p in people), sent
    stack.assert_no_action_twice()
    journey_id = by_slug[held["public_identifier"]]["id"]
    takeovers = _rows(database_url, Takeover)
    assert f"journey-{journey_id}-invite-1" in {t.workflow_id for t in takeovers}
    assert {(t.from_executor, t.by_executor) for t in takeovers} == {("takeover-a", "takeover-b")}
    [dead] = [w for w in _rows(database_url, Worker) if w.executor_id == "takeover-a"]
    assert dead.taken_over_at is not None and dead.claimed_by == "takeover-b"
