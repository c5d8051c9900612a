"""The engine's loops at time scale 1: the governor's round comes when a sender is due,
not on the next poll, and the actions queue is polled often enough not to cap a worker."""

from __future__ import annotations

import math
import threading
from datetime import timedelta

import sqlalchemy as sa

from outreach.accounts.commands import create_account
from outreach.config import Settings
from outreach.engine import governor_round
from outreach.models import Account
from outreach.testing import always_open_account, started, test_settings, wait_until
from outreach.uow import transaction


def test_a_paced_task_runs_again_when_it_says(database_url: str) -> None:
    with started(test_settings(database_url), workers=False) as rt:
        runs: list[int] = []
        paced = threading.Event()

        def task() -> float:
            runs.append(1)
            return 0.01  # seconds until it is wanted again

        rt.every(600, task, "paced", sooner=paced, paced=True)
        paced.set()  # the first run at once; the others only because it asks for them
        wait_until(lambda: len(runs) >= 5, timeout=30, what="five runs, 10 ms apart")


def test_the_governor_round_says_when_the_first_sender_is_due(database_url: str) -> None:
    settings = test_settings(database_url, time_scale=1.0)
    with started(settings, workers=False) as rt:
        first = create_account(rt, always_open_account(name="first"))
        second = create_account(rt, always_open_account(name="second"))
        now = rt.clock.now()
        with transaction(rt) as session:
            session.execute(sa.update(Account).values(next_action_at=None))
        assert governor_round(rt) == math.inf  # nobody waits for it
        with transaction(rt) as session:
            for account_id, due in ((first.id, 40), (second.id, 30)):
                session.get_one(Account, account_id).next_action_at = now + timedelta(seconds=due)
        wait = governor_round(rt)
        assert 20 < wait <= 30, wait
        with transaction(rt) as session:  # a busy sender is not due: its stage's end says so
            session.get_one(Account, second.id).busy_journey_id = 0
        assert 30 < governor_round(rt) <= 40


def test_the_actions_queue_is_polled_every_tenth_of_a_second_at_most() -> None:
    assert Settings(time_scale=1.0).poll_seconds == 1.0
    assert Settings(time_scale=1.0).actions_poll_seconds == 0.1
    assert Settings(time_scale=1.0, queue_poll_seconds=0.5).actions_poll_seconds == 0.5
    assert Settings(time_scale=60_000.0).actions_poll_seconds == 0.02
