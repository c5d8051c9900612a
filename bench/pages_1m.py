"""Benchmark: the dashboard's main pages and the API's list routes over 1,000,000 prospects.

Fills a fresh database with ``--prospects`` prospects (1,000,000) over 50 campaigns and
20 senders — 90 % of them launched, their journeys spread over every state, one sender
action per invitation and per follow-up sent, over the 2,000 days the senders' caps
need for that many — then serves the real app over loopback
(workers idle: nothing is due) and requests every main page and list route ``--rounds``
times each, printing p50 and p95 in milliseconds beside the goal (p95 ≤ 150 ms). The
baseline in the same run is ``GET /healthz`` (the app's fixed cost per request).

    .venv/bin/python bench/pages_1m.py [--prospects 1000000] [--only sqlite|postgres]
        [--keep FILE.db]  # SQLite: fill FILE.db once, measure it again on the next runs
        [--keep-pg NAME]  # PostgreSQL: the same with the database NAME
        [--profile]       # print where each route's time goes: its slowest SQL statements
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get(
    "OUTREACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CAMPAIGNS, SENDERS, BATCH = 50, 20, 20_000
HISTORY_DAYS = 2_000
STATES = [  # (status, share) of the launched journeys
    ("scheduled", 0.10),
    ("invited", 0.15),
    ("connected", 0.25),
    ("replied", 0.08),
    ("not_accepted", 0.22),
    ("completed", 0.15),
    ("failed", 0.03),
    ("stopped", 0.02),
]
KEY = "bench-key-" + uuid.uuid4().hex


def fill(url: str, prospects: int) -> None:
    from outreach.db import create_engine
    from outreach.migrations import upgrade
    from outreach.models import Account, Campaign, CampaignSender, Journey, Prospect, SenderAction

    engine = create_engine(url)
    upgrade(engine)
    rng = random.Random(7)
    now = datetime.now(UTC)
    later = now + timedelta(days=365)  # nothing due: the workers stay idle
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Account),
            [
                {
                    "id": s,
                    "name": f"Sender {s}",
                    "provider": "sandbox",
                    "external_id": f"bench-{s}",
                    "timezone": "Europe/Paris",
                    "status": "active",
                    "created_at": now,
                }
                for s in range(1, SENDERS + 1)
            ],
        )
        from outreach.campaigns.sequence import SequenceSpec, Templates

        conn.execute(
            sa.insert(Campaign),
            [
                {
                    "id": c,
                    "name": f"Campaign {c}",
                    "account_id": (c - 1) % SENDERS + 1,
                    "status": "active",
                    "sequence": SequenceSpec().model_dump(),
                    "templates": Templates().model_dump(),
                    "created_at": now,
                    "launched_at": now,
                }
                for c in range(1, CAMPAIGNS + 1)
            ],
        )
        conn.execute(
            sa.insert(CampaignSender),
            [
                {"campaign_id": c, "account_id": (c - 1) % SENDERS + 1}
                for c in range(1, CAMPAIGNS + 1)
            ],
        )
    statuses = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    for begin in range(0, prospects, BATCH):
        people, journeys, actions = [], [], []
        for pid in range(begin + 1, min(prospects, begin + BATCH) + 1):
            campaign = (pid - 1) % CAMPAIGNS + 1
            sender = (campaign - 1) % SENDERS + 1
            people.append(
                {
                    "id": pid,
                    "campaign_id": campaign,
                    "public_identifier": f"p-{pid}",
                    "first_name": rng.choice(["Ada", "Alan", "Grace", "Linus", "Joan"]),
                    "last_name": f"N{pid}",
                    "company": f"Company {pid % 5000}",
                    "fields": {},
                    "created_at": now,
                }
            )
            if rng.random() > 0.9:
                continue  # not launched yet: pending
            status = rng.choices(statuses, weights)[0]
            # Spread as the caps allow: 50,000 prospects a sender at 25 invitations a day
            # is about 2,000 days of history.
            day = now - timedelta(days=rng.uniform(0, HISTORY_DAYS))
            invited = None if status == "scheduled" else day
            accepted = (
                day + timedelta(days=1) if status in ("connected", "replied", "completed") else None
            )
            replied = day + timedelta(days=5) if status == "replied" else None
            ended = status in ("replied", "not_accepted", "completed", "failed", "stopped")
            journeys.append(
                {
                    "id": pid,
                    "campaign_id": campaign,
                    "prospect_id": pid,
                    "account_id": sender,
                    "status": status,
                    "stage": None if ended else "follow_up:2",
                    "stage_seq": 1,
                    "next_run_at": None if ended else later,
                    "held": False,
                    "invited_at": invited,
                    "accepted_at": accepted,
                    "replied_at": replied,
                    "ended_at": day + timedelta(days=6) if ended else None,
                    "end_reason": status if ended else None,
                    "follow_ups_sent": 1 if accepted else 0,
                    "attempts": 0,
                    "created_at": day,
                    "updated_at": day,
                }
            )
            if invited:
                actions.append(
                    {
                        "account_id": sender,
                        "kind": "invitation",
                        "at": invited,
                        "journey_id": pid,
                        "campaign_id": campaign,
                    }
                )
            if accepted:
                actions.append(
                    {
                        "account_id": sender,
                        "kind": "message",
                        "at": accepted,
                        "journey_id": pid,
                        "campaign_id": campaign,
                    }
                )
        with engine.begin() as conn:
            conn.execute(sa.insert(Prospect), people)
            if journeys:
                conn.execute(sa.insert(Journey), journeys)
            if actions:
                conn.execute(sa.insert(SenderAction), actions)
        print(f"\r  filled {min(prospects, begin + BATCH):,} prospects", end="", flush=True)
    from sqlalchemy.orm import Session

    from outreach.journeys.tallies import compact

    with Session(engine) as session, session.begin():
        compact(session)  # as a worker does every 10 s: the fill's deltas, folded
    if engine.dialect.name == "postgresql":
        # The steady state autovacuum keeps: statistics, and the visibility map that lets
        # an index-only scan skip the table (a bulk load leaves it empty).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("accounts", "campaigns", "prospects", "journeys", "sender_actions"):
                top = f"(SELECT max(id) FROM {table})"
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top})"
                )
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"\n  filled in {time.perf_counter() - started:.0f} s")


ROUTES = [
    ("GET /healthz (baseline)", "/healthz", "anonymous"),
    ("overview /", "/", "page"),
    ("campaign page", "/campaigns/7", "page"),
    ("campaign page, searched", "/campaigns/7?q=company+123", "page"),
    (
        "campaign page, state, sorted, page 50",
        "/campaigns/7?status=connected&sort=name&page=20",
        "page",
    ),
    ("campaign analytics part", "/campaigns/7/analytics", "page"),
    ("journey page", "/journeys/70", "page"),
    ("accounts", "/accounts", "page"),
    ("analytics", "/analytics", "page"),
    ("notifications", "/notifications", "page"),
    ("runs", "/runs", "page"),
    ("errors", "/errors", "page"),
    ("API campaigns", "/api/campaigns", "api"),
    ("API accounts", "/api/accounts", "api"),
    ("API prospects", "/api/campaigns/7/prospects?limit=100", "api"),
    ("API prospects, searched", "/api/campaigns/7/prospects?q=n12&sort=company", "api"),
    ("API journeys", "/api/campaigns/7/journeys?status=invited", "api"),
    ("API analytics, compared", "/api/analytics/campaigns", "api"),
    ("API analytics, campaign", "/api/campaigns/7/analytics", "api"),
    ("API notifications", "/api/notifications", "api"),
    ("API do-not-contact", "/api/do-not-contact", "api"),
]


class Statements:
    """The SQL a route ran while measured, with the time each took (``--profile``)."""

    def __init__(self, *engines: sa.Engine) -> None:
        self.seen: dict[str, list[float]] = {}
        for engine in set(engines):
            sa.event.listen(engine, "before_cursor_execute", self._before)
            sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, many) -> None:  # type: ignore[no-untyped-def]
        conn.info["outreach.bench.at"] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, many) -> None:  # type: ignore[no-untyped-def]
        took = (time.perf_counter() - conn.info.pop("outreach.bench.at")) * 1000
        self.seen.setdefault(" ".join(statement.split()), []).append(took)

    def report(self, rounds: int) -> None:
        ranked = sorted(self.seen.items(), key=lambda item: -sum(item[1]))
        for statement, times in ranked[:3]:
            each = sum(times) / rounds
            print(f"      {each:7.1f} ms/request x{len(times) // rounds}  {statement[:150]}")
        self.seen.clear()


def measure(url: str, rounds: int, *, profile: bool = False) -> list[tuple[str, float, float]]:
    from tests.loopback import free_socket, url_of

    from outreach.config import Settings
    from outreach.testing import Dashboard, ensure_user
    from outreach.web.app import create_app

    settings = Settings(
        database_url=url,
        api_key=KEY,
        executor_id=f"bench-{uuid.uuid4().hex[:6]}",
        sweep_cron="0 0 1 1 *",
        log_level="ERROR",
    )
    app = create_app(settings)
    sock = free_socket()
    base = url_of(sock)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    results = []
    try:
        ensure_user(app.state.runtime)
        rt = app.state.runtime
        statements = Statements(rt.engine, rt.reads.kw["bind"]) if profile else None
        clients = {
            "anonymous": httpx.Client(base_url=base, timeout=60),
            "api": httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=60
            ),
        }
        dashboard = Dashboard(base)
        for name, path, who in ROUTES:
            times = []
            for round_ in range(rounds + 2):
                if round_ == 2 and statements:
                    statements.seen.clear()
                begin = time.perf_counter()
                answer = dashboard.get(path) if who == "page" else clients[who].get(path)
                times.append((time.perf_counter() - begin) * 1000)
                if answer.status_code != 200:
                    raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
            times = times[2:]  # the first two warm caches up
            q = statistics.quantiles(times, n=20)
            results.append((name, statistics.median(times), q[18]))
            if statements:
                print(f"  {name}: p50 {results[-1][1]:.1f} ms, p95 {results[-1][2]:.1f} ms")
                statements.report(rounds)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--keep", type=Path, help="SQLite: this file, filled once and kept")
    parser.add_argument("--keep-pg", help="PostgreSQL: this database, filled once and kept")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    for kind in ("sqlite", "postgres"):
        if args.only and args.only != kind:
            continue
        kept = args.keep if kind == "sqlite" else args.keep_pg
        if (args.keep or args.keep_pg) and not kept:
            continue  # asked to keep a database of the other kind only
        with tempfile.TemporaryDirectory() as folder:
            if kind == "sqlite":
                url = f"sqlite:///{args.keep.resolve() if args.keep else folder + '/bench.db'}"
                reuse = bool(args.keep and args.keep.exists())
            else:
                database = args.keep_pg or f"bench_{uuid.uuid4().hex[:8]}"
                with admin.connect() as conn:
                    found = "SELECT 1 FROM pg_database WHERE datname = %s"
                    reuse = bool(conn.exec_driver_sql(found, (database,)).scalar())
                    if not reuse:
                        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{database}"
            print(f"{kind}: {args.prospects:,} prospects, {CAMPAIGNS} campaigns, {SENDERS} senders")
            if reuse:
                from outreach.db import create_engine
                from outreach.migrations import upgrade

                print(f"  reusing {kept} (migrated to the newest schema)")
                upgrade(create_engine(url))
            else:
                fill(url, args.prospects)
            rows = measure(url, args.rounds, profile=args.profile)
            print(f"  {'route':44} {'p50 ms':>8} {'p95 ms':>8}  goal p95 <= 150")
            for route, p50, p95 in rows:
                flag = "ok" if p95 <= 150 else "OVER"
                print(f"  {route:44} {p50:8.1f} {p95:8.1f}  {flag}")
            if kind == "postgres" and not args.keep_pg:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
