"""Webhook intake: answered once stored, processed after, once per event.

Over loopback HTTP on the real app's webhook route, on SQLite and PostgreSQL: many
deliveries in flight at once, duplicates among them; an answer while the prospect's
journey and sender are locked by someone else (PostgreSQL: a stage in flight); two
processors sharing the work; a server without workers, whose deliveries a separate
``outreach worker`` process handles.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from outreach.db import create_engine, make_sessionmaker
from outreach.models import Account, InboundMessage, Journey, JourneyStatus, WebhookDelivery
from outreach.replies.intake import process_pending
from outreach.replies.unipile_events import processor
from outreach.testing import started, test_settings
from outreach.web.app import create_app
from tests.engine.test_crash import worker
from tests.loopback import serve
from tests.replies.test_webhooks_http import (
    ACCOUNT,
    JANE,
    SECRET,
    Site,
    add_connected_journey,
    build_app,
    message_received,
)


def _outcomes(site: Site, timeout: float = 10.0) -> Counter[str]:
    return Counter(d.outcome for d in site.settled(timeout))


def test_many_in_flight_with_duplicates_store_each_event_once(database_url: str) -> None:
    settings = test_settings(database_url, time_scale=1.0, webhook_secret=SecretStr(SECRET))
    with started(settings) as rt, serve(build_app(rt)) as url:
        site = Site(url, rt.sessions)
        journey_id = add_connected_journey(site.sessions)
        ids = [f"burst-{n}" for n in range(120)]
        again = random.Random(3).sample(ids, 12) + ["burst-0"] * 3  # and one sent 4 times
        bodies = [message_received(i, sender={"attendee_provider_id": f"p-{i}"}) for i in ids]
        bodies += [message_received(i, sender={"attendee_provider_id": f"p-{i}"}) for i in again]
        bodies.append(message_received("from-jane"))  # the journey's prospect replies
        random.Random(4).shuffle(bodies)

        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(site.post, bodies))

        assert {a.status_code for a in answers} == {200}
        assert Counter(a.json()["outcome"] for a in answers) == {
            "accepted": len(ids) + 1,
            "duplicate": len(again),
        }
        assert _outcomes(site) == {
            "ignored": len(ids),  # no journey of theirs: stored, then nothing to stop
            "processed": 1,
            "duplicate": len(again),
        }
        with site.sessions() as session:
            keys = session.execute(
                sa.select(WebhookDelivery.dedupe_key).where(WebhookDelivery.dedupe_key.is_not(None))
            ).scalars()
            assert sorted(keys) == sorted(f"message_received:{i}" for i in [*ids, "from-jane"])
            stored = session.execute(sa.select(InboundMessage.message_id)).scalars()
            assert sorted(stored) == sorted([*ids, "from-jane"])
            journey = session.get(Journey, journey_id)
            assert journey is not None and journey.status is JourneyStatus.REPLIED
        assert {d.attempts for d in site.deliveries() if d.dedupe_key} == {1}


def test_answered_while_the_journey_and_its_sender_are_locked(postgres_url: str) -> None:
    """A stage holds the sender and the journey: the delivery is stored and answered at
    once; it is processed when they are let go."""
    settings = test_settings(postgres_url, time_scale=1.0, webhook_secret=SecretStr(SECRET))
    with started(settings) as rt, serve(build_app(rt)) as url:
        site = Site(url, rt.sessions)
        journey_id = add_connected_journey(site.sessions)
        holder = create_engine(postgres_url)
        try:
            with holder.connect() as conn, conn.begin():
                conn.execute(
                    sa.select(Account.id).where(Account.external_id == ACCOUNT).with_for_update()
                )
                conn.execute(
                    sa.select(Journey.id).where(Journey.id == journey_id).with_for_update()
                )
                started_at = time.monotonic()
                answer = site.post(message_received("while-locked"))
                answered_in = time.monotonic() - started_at
                time.sleep(0.5)  # the processor waits on the journey meanwhile
                [waiting] = site.deliveries()
                assert waiting.outcome == "received"
        finally:
            holder.dispose()

        assert (answer.status_code, answer.json()["outcome"]) == (200, "accepted")
        assert answered_in < 2.0, f"answered in {answered_in:.2f} s"
        assert _outcomes(site) == {"processed": 1}
        with site.sessions() as session:
            journey = session.get(Journey, journey_id)
            assert journey is not None and journey.status is JourneyStatus.REPLIED


def test_two_processors_share_the_work_and_do_none_twice(database_url: str) -> None:
    settings = test_settings(database_url, time_scale=1.0, webhook_secret=SecretStr(SECRET))
    # A server without workers only stores; here two threads process what it stored.
    with started(settings, workers=False) as rt, serve(build_app(rt)) as url:
        site = Site(url, rt.sessions)
        add_connected_journey(site.sessions)
        for n in range(60):
            body = message_received(f"m-{n}", sender={"attendee_provider_id": f"p-{n}"})
            assert site.post(body).json()["outcome"] == "accepted"
        assert site.deliveries()[-1].outcome == "received", "no worker: stored, not processed"

        handle = processor(rt)
        gate = threading.Barrier(2)

        def process() -> int:
            gate.wait()
            return process_pending(rt, handle)

        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(lambda _: process(), range(2)))

        assert sum(done) == 60
        kept = site.settled(timeout=1)
        assert [(d.outcome, d.attempts) for d in kept] == [("ignored", 1)] * 60


def test_a_server_without_workers_stores_and_a_worker_processes(
    database_url: str, tmp_path: Path
) -> None:
    settings = test_settings(
        database_url, time_scale=1.0, webhook_secret=SecretStr(SECRET), queue_poll_seconds=0.1
    )
    with serve(create_app(settings, workers=False), lifespan="on") as url:
        engine = create_engine(database_url)
        try:
            site = Site(url, make_sessionmaker(engine))
            journey_id = add_connected_journey(site.sessions, JANE)
            answer = site.post(message_received("to-the-worker"))
            assert answer.json()["outcome"] == "accepted"
            time.sleep(0.5)
            assert [d.outcome for d in site.deliveries()] == ["received"]

            with worker(
                database_url,
                tmp_path / "worker.log",
                OUTREACH_TIME_SCALE="1",
                OUTREACH_QUEUE_POLL_SECONDS="0.1",
                OUTREACH_WEBHOOK_SECRET=SECRET,
            ):
                assert _outcomes(site, timeout=60) == {"processed": 1}
            with site.sessions() as session:
                journey = session.get(Journey, journey_id)
                assert journey is not None and journey.status is JourneyStatus.REPLIED
        finally:
            engine.dispose()


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: a held lock holds every write up")
    return database_url


def test_bad_body_under_load_loses_nothing(database_url: str) -> None:
    """Good and bad deliveries mixed in flight: the bad ones 4xx and kept, the good stored."""
    settings = test_settings(database_url, time_scale=1.0, webhook_secret=SecretStr(SECRET))
    with started(settings) as rt, serve(build_app(rt)) as url:
        site = Site(url, rt.sessions)
        bodies: list[object] = [
            message_received(f"g-{n}", sender={"attendee_provider_id": f"p-{n}"}) for n in range(20)
        ]
        bodies += [b"{not json"] * 5 + [{"event": "message_received"}] * 5
        random.Random(5).shuffle(bodies)

        def post(body: object) -> httpx.Response:
            return site.post(body)

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(post, bodies))

        assert Counter(a.status_code for a in answers) == {200: 20, 400: 5, 422: 5}
        assert _outcomes(site) == {"ignored": 20, "rejected": 10}
