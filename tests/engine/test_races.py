"""A reply racing a due follow-up, fifty times, on PostgreSQL.

Each prospect replies 0-600 ms (real) after their follow-up stage has started, while
LinkedIn takes 300 ms to answer each read of a chat and each send. The reply reaches the
app two ways at once, as on LinkedIn: the courier records it like a webhook, and the
follow-up's chat check can see it. Whatever the order, no message leaves after the app
has recorded the reply, the reply is stored once, and no workflow ends in ERROR.

SQLite is left out on purpose: its single writer must not wait on LinkedIn, so there the
re-check before a send is a read, not a lock (see ``journeys.workflows.send_guard``).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOS

from outreach.models import Account, InboundMessage
from outreach.runtime import Runtime
from outreach.sandbox.people import Person
from outreach.testing import (
    ProviderWrapper,
    accepts_silently_within,
    all_ended,
    events,
    find_people,
    journeys,
    launch,
    new_campaign,
    started_with,
    test_settings,
    wait_until,
)
from tests.conftest import _pg_available, drop_pg_database, new_pg_database

RACES = 50
SEQUENCE = {"acceptance_check_days": 1, "follow_up_days": [1, 2]}
TEMPLATES = {"follow_ups": ["Thanks for connecting, {{ first_name }}!", "Still there?"]}


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable")
        pytest.skip("PostgreSQL is not reachable")
    url = new_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


class Racer:
    """Makes each prospect reply at a random moment after their follow-up stage starts."""

    def __init__(self, rt: Runtime, account: str, people: dict[int, Person]) -> None:
        self.rt, self.account, self.people = rt, account, people
        self.rng = random.Random(7)
        self.replied: dict[int, float] = {}  # journey -> the delay (s) its reply came after
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.005):
            running = DBOS.list_workflows(
                status="PENDING", name="run_stage", load_input=False, load_output=False
            )
            for w in running:
                journey_id = int(w.workflow_id.split("-")[1])
                if "follow_up:1" in w.workflow_id and journey_id not in self.replied:
                    delay = self.rng.uniform(0.0, 0.6)
                    self.replied[journey_id] = delay
                    threading.Timer(delay, self._reply, args=(journey_id,)).start()

    def _reply(self, journey_id: int) -> None:
        assert self.rt.simulator is not None
        person = self.people[journey_id]
        self.rt.simulator.reply(self.account, person.provider_id, "Thanks, let's talk!")


def _slow_chat_reads(method: str) -> None:
    if method == "list_messages":  # the answer takes its time coming back
        time.sleep(0.3)


@pytest.mark.postgres
def test_no_message_leaves_after_a_recorded_reply(pg_url: str) -> None:
    settings = test_settings(pg_url, sandbox_latency_seconds=0.3, worker_concurrency=16)
    slow_reads: Any = lambda inner: ProviderWrapper(inner, after=_slow_chat_reads)  # noqa: E731
    with started_with(settings, slow_reads) as rt:
        assert rt.simulator is not None
        people = find_people(rt, RACES, accepts_silently_within((2, 20)), prefix="race")
        campaign_id = new_campaign(rt, people, sequence=SEQUENCE, templates=TEMPLATES)
        launch(rt, campaign_id)
        slugs = {p.slug: p for p in people}
        found = journeys(rt, campaign_id)
        by_journey = {j.id: slugs[j.prospect.public_identifier] for j in found}
        with rt.sessions() as session:
            sender = session.get(Account, found[0].account_id)
            assert sender is not None
            external = sender.external_id
        racer = Racer(rt, external, by_journey)
        racer.thread.start()
        try:
            ended = wait_until(lambda: all_ended(rt, campaign_id), timeout=180, what="the end")
        finally:
            racer.stop.set()
        assert len(racer.replied) == RACES, "every follow-up stage was seen starting"

        log = rt.simulator.log()
        late: list[tuple[int, datetime, datetime]] = []
        for journey in ended:
            timeline = events(rt, journey.id)
            recorded = [e.at for e in timeline if e.kind == "reply_received"]
            assert recorded, f"journey {journey.id}: its reply was recorded"
            person = by_journey[journey.id]
            sent = [
                e["at"]
                for e in log
                if e["kind"] == "message" and e["recipient"] == person.provider_id
            ]
            late += [(journey.id, at, recorded[0]) for at in sent if at > recorded[0]]
        assert late == [], f"messages sent after the reply was recorded: {late}"
        with rt.sessions() as session:
            stored = session.execute(
                sa.select(sa.func.count()).select_from(InboundMessage)
            ).scalar_one()
        assert stored == RACES, "each reply stored once, whichever path saw it first"
        assert not DBOS.list_workflows(status="ERROR")
        assert {j.status.value for j in ended} == {"replied"}
