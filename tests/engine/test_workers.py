"""Heartbeats and claims: a silent worker is claimed by one live worker only, a claim
lapses as a heartbeat does, and a worker that speaks again is no longer silent.
(``tests/e2e/test_takeover.py`` kills a real worker and watches the other take over.)"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from pydantic import ValidationError

from outreach import workers
from outreach.clock import wall_now
from outreach.config import Settings
from outreach.models import Worker
from outreach.testing import started, test_settings
from outreach.uow import transaction

AFTER = timedelta(seconds=30)


def _silent_worker(rt: object, executor_id: str, seconds_ago: float) -> None:
    seen = wall_now() - timedelta(seconds=seconds_ago)
    with transaction(rt) as session:  # type: ignore[arg-type]
        session.add(Worker(executor_id=executor_id, host="h", pid=1, started_at=seen, seen_at=seen))


def test_a_silent_worker_is_claimed_once_and_a_returning_one_is_not(database_url: str) -> None:
    with started(test_settings(database_url), workers=False) as rt:
        _silent_worker(rt, "gone", seconds_ago=120)
        _silent_worker(rt, "alive", seconds_ago=1)
        now = wall_now()
        me = rt.settings.executor_id
        with rt.sessions() as session:
            assert workers.silent(session, now=now, after=AFTER, me=me) == ["gone"]
        assert workers.claim(rt, "gone", now=now, after=AFTER)
        assert not workers.claim(rt, "gone", now=now, after=AFTER)  # claimed: not again
        assert not workers.claim(rt, "alive", now=now, after=AFTER)
        with rt.sessions() as session:
            assert workers.silent(session, now=now, after=AFTER, me=me) == []
            # The claimer fell silent too: after as long, its claim lapses.
            later = now + AFTER + timedelta(seconds=1)
            assert workers.silent(session, now=later, after=AFTER, me=me) == ["gone", "alive"]

        workers.heartbeat(rt)  # this worker's own row, never its own claim
        with rt.sessions() as session:
            assert me not in workers.silent(session, now=later, after=AFTER, me=me)
            mine = session.get(Worker, me)
            assert mine is not None and mine.claimed_by is None


def test_nothing_pending_nothing_resumed_but_the_silent_worker_is_marked(
    database_url: str,
) -> None:
    with started(test_settings(database_url), workers=False) as rt:
        _silent_worker(rt, "gone", seconds_ago=120)
        assert workers.take_over(rt) == {"gone": 0}
        assert workers.take_over(rt) == {}
        with rt.sessions() as session:
            gone = session.get(Worker, "gone")
        assert gone is not None
        assert gone.taken_over_at is not None and gone.claimed_by == rt.settings.executor_id


def test_a_takeover_sooner_than_two_heartbeats_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least twice"):
        Settings(heartbeat_seconds=10, takeover_after_seconds=15)


def test_a_returning_worker_waits_for_a_takeover_in_progress(database_url: str) -> None:
    """Its DBOS must not recover workflows another worker is resuming at that moment."""
    settings = test_settings(database_url, heartbeat_seconds=0.5, takeover_after_seconds=5)
    with started(settings, workers=False) as rt:
        me = rt.settings.executor_id
        _silent_worker(rt, me, seconds_ago=60)
        assert workers.claim(rt, me, now=wall_now(), after=AFTER)  # as if by another worker
        arrived = threading.Event()
        thread = threading.Thread(target=lambda: (workers.arrive(rt), arrived.set()))
        thread.start()
        assert not arrived.wait(1.5), "arrived while the takeover was in progress"
        with transaction(rt) as session:
            row = session.get(Worker, me)
            assert row is not None
            row.taken_over_at = wall_now()  # the other worker is done
        assert arrived.wait(5)
        thread.join()
        with rt.sessions() as session:
            row = session.get(Worker, me)
            assert row is not None and row.claimed_by is None and row.taken_over_at is None
