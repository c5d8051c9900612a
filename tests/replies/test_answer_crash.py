"""A worker killed while it sends an approved answer, then restarted, sends it once.

The worker is a real ``outreach worker`` process. The simulator takes the message, then
answers only seconds later: the process is killed after LinkedIn (the simulator) got the
answer but before the engine recorded it. The restarted worker recovers the send, finds
the answer in the chat, and records it; the simulator's own log is what is counted.
"""

from __future__ import annotations

import signal
from pathlib import Path

import sqlalchemy as sa

from outreach.models import DraftStatus, Journey, JourneyEvent, ReplyDraft
from outreach.replies import commands
from outreach.testing import find_people, launch, new_campaign, started, test_settings, wait_until
from tests.engine.test_crash import worker

ANSWER = "Thursday at 10 works for me. Speak then!"


def _draft(rt: object, journey_id: int) -> ReplyDraft | None:
    with rt.sessions() as session:  # type: ignore[attr-defined]
        return session.execute(
            sa.select(ReplyDraft).where(ReplyDraft.journey_id == journey_id)
        ).scalar_one_or_none()


def test_a_worker_killed_while_sending_an_answer_sends_it_once(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    settings = test_settings(database_url, executor_id="answer-crash-setup")
    with started(settings, workers=False) as rt:
        keen = find_people(
            rt,
            1,
            lambda p: (
                p.accepts and p.replies_after == 1 and p.reply_text.startswith("Sure, let's talk")
            ),
        )
        campaign_id = new_campaign(rt, keen)
        assert launch(rt, campaign_id) == 1
        with rt.sessions() as session:
            journey_id = session.execute(
                sa.select(Journey.id).where(Journey.campaign_id == campaign_id)
            ).scalar_one()
        slug = keen[0].slug

        def answers() -> list[dict[str, object]]:
            assert rt.simulator is not None
            return [e for e in rt.simulator.log() if e["text"] == ANSWER]

        with worker(database_url, log):
            draft = wait_until(lambda: _draft(rt, journey_id), timeout=120, what="the draft")
        assert draft.status is DraftStatus.PENDING

        with worker(database_url, log, OUTREACH_SANDBOX_LATENCY_SECONDS="30") as process:
            commands.approve(rt, draft.id, ANSWER, by="ana")  # the worker's queue sends it
            wait_until(answers, timeout=60, what="the answer at the simulator")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        killed = _draft(rt, journey_id)
        assert killed is not None and killed.status is DraftStatus.APPROVED, "killed mid-send"

        with worker(database_url, log):
            sent = wait_until(
                lambda: (d := _draft(rt, journey_id)) and d.status is DraftStatus.SENT and d,
                timeout=120,
                what="the answer recorded after the restart",
            )
        assert sent.answer == ANSWER
        at_simulator = answers()
        assert len(at_simulator) == 1, at_simulator
        assert at_simulator[0]["public_identifier"] == slug
        with rt.sessions() as session:
            recorded = session.scalars(
                sa.select(JourneyEvent).where(
                    JourneyEvent.journey_id == journey_id, JourneyEvent.kind == "answer_sent"
                )
            ).all()
        assert len(recorded) == 1 and recorded[0].details["found_after_retry"] is True
