"""A worker killed in the middle of a stage, then restarted, sends nothing twice.

The worker is a real ``outreach worker`` process. The simulator answers each send
after a delay, so the process can be killed after LinkedIn (the simulator) acted but
before the engine recorded it; the simulator's own record is what is counted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from dbos import DBOS

from outreach.db import create_engine
from outreach.models import JourneyEvent
from outreach.sandbox.models import SandboxAction
from outreach.testing import (
    accepts_silently,
    all_ended,
    find_people,
    journeys,
    launch,
    new_campaign,
    started,
    test_settings,
    wait_until,
)

EXECUTOR = "crash-test-worker"


@contextmanager
def worker(database_url: str, log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    environment = os.environ | {
        "OUTREACH_DATABASE_URL": database_url,
        "OUTREACH_TIME_SCALE": "172800",
        "OUTREACH_SANDBOX_ERROR_RATE": "0",
        "OUTREACH_EXECUTOR_ID": EXECUTOR,
        "OUTREACH_SWEEP_CRON": "0 0 1 1 *",
        **env,
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "outreach", "worker"], env=environment, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _count(url: str, query: sa.Select) -> int:  # type: ignore[type-arg]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_worker_killed_mid_stage_sends_nothing_twice(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with started(test_settings(database_url, executor_id="crash-test-setup"), workers=False) as rt:
        people = find_people(rt, 3, accepts_silently)
        campaign_id = new_campaign(rt, people)
        assert launch(rt, campaign_id) == 3
        DBOS.list_workflows()  # the launch's journeys are all enqueued, delayed, before we leave

    actions = sa.select(sa.func.count()).select_from(SandboxAction)
    recorded = sa.select(sa.func.count()).where(JourneyEvent.kind == "invitation_sent")
    with worker(database_url, log, OUTREACH_SANDBOX_LATENCY_SECONDS="5") as process:
        wait_until(lambda: _count(database_url, actions) >= 1, what="the first invitation")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    in_flight = _count(database_url, actions)
    assert _count(database_url, recorded) == 0, "killed before the engine recorded the send"

    with worker(database_url, log), started(test_settings(database_url), workers=False) as rt:
        ended = wait_until(
            lambda: all_ended(rt, campaign_id), timeout=120, what="every journey to end"
        )
        assert {j.status.value for j in ended} == {"completed"}, log.read_text()[-3000:]
        sent = rt.simulator.log()
        per_action = Counter((e["kind"], e["recipient"], e["text"]) for e in sent)
        assert max(per_action.values()) == 1, "no action reached LinkedIn twice"
        assert Counter(e["kind"] for e in sent) == {"invitation": 3, "message": 15}
        with rt.sessions() as session:
            found = session.execute(
                sa.select(JourneyEvent.journey_id, JourneyEvent.kind).where(
                    JourneyEvent.kind.in_(["invitation_sent", "already_connected"])
                )
            ).all()
        # Each interrupted send was re-run on restart and found its invitation made: the
        # timeline says sent, once per journey, as the profile read before it had seen.
        assert in_flight >= 1
        assert sorted(kind for _, kind in found) == ["invitation_sent"] * 3, found
        assert len(journeys(rt, campaign_id)) == 3
