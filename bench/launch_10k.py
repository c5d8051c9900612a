"""Benchmark: launch a 10,000-prospect campaign, on SQLite and on PostgreSQL.

Prints how long importing and scheduling took, and the worker's memory (RSS) before
the launch and with every journey waiting, so memory reads as a ratio against the
same process's own baseline. Each database runs in a fresh child process.

    .venv/bin/python bench/launch_10k.py [--prospects 10000] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import time as clock_time
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN = os.environ.get(
    "OUTREACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(url: str, prospects: int) -> dict[str, float]:
    """Runs in the child: start a worker, import, launch, measure."""
    from dbos import DBOS

    from outreach import runtime
    from outreach.accounts.schemas import AccountCreate
    from outreach.accounts.service import create_account
    from outreach.campaigns.schemas import CampaignCreate
    from outreach.campaigns.service import activate, create_campaign
    from outreach.campaigns.workflows import schedule_campaign
    from outreach.config import Settings
    from outreach.models import Journey
    from outreach.prospects.service import import_prospects

    settings = Settings(
        database_url=url, executor_id=f"bench-{uuid.uuid4().hex[:6]}", time_scale=1.0
    )
    rt = runtime.start(settings)
    rss_idle = rss_mb()
    now = rt.clock.now()
    rows = [
        (i, {"public_identifier": f"bench-{i:05d}", "first_name": f"P{i}", "company": "Acme"})
        for i in range(prospects)
    ]
    started = time.perf_counter()
    with rt.sessions.begin() as session:
        # Closed hours today, so every journey waits: the measurement sees them all waiting.
        account = create_account(
            session,
            AccountCreate(
                name="bench",
                daily_invite_cap=200,
                weekly_invite_cap=1000,
                work_start=clock_time(0, 0),
                work_end=clock_time(23, 59),
                invite_gap_min_minutes=0.5,
                invite_gap_max_minutes=1,
            ),
            now=now,
        )
        campaign = create_campaign(
            session, CampaignCreate(name="bench", account_id=account.id), now=now
        )
        imported = import_prospects(session, campaign.id, rows, now=now).imported
        activate(session, campaign.id, now=now)
        campaign_id = campaign.id
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    scheduled = DBOS.start_workflow(schedule_campaign, campaign_id).get_result()
    schedule_s = time.perf_counter() - started
    time.sleep(3)  # let queue pollers settle before reading memory
    rss_waiting = rss_mb()
    with rt.sessions() as session:
        waiting = session.execute(
            sa.select(sa.func.count())
            .select_from(Journey)
            .where(Journey.campaign_id == campaign_id)
        ).scalar_one()
    delayed = len(
        DBOS.list_workflows(
            status="DELAYED", limit=prospects + 10, load_input=False, load_output=False
        )
    )
    runtime.stop()
    restart_started = time.perf_counter()
    runtime.start(settings)
    restart_s = time.perf_counter() - restart_started
    time.sleep(3)
    rss_restarted = rss_mb()
    runtime.stop()
    return {
        "imported": imported,
        "scheduled": scheduled,
        "journeys": waiting,
        "delayed_workflows": delayed,
        "import_s": import_s,
        "schedule_s": schedule_s,
        "rss_idle_mb": rss_idle,
        "rss_waiting_mb": rss_waiting,
        "restart_s": restart_s,
        "rss_after_restart_mb": rss_restarted,
    }


def new_pg() -> str:
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_pg(url: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def run(kind: str, prospects: int) -> dict[str, float]:
    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/bench.db" if kind == "sqlite" else new_pg()
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, "--prospects", str(prospects)],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if kind == "postgres":
            drop_pg(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prospects", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.prospects)))
        return
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    print(
        f"launching a {args.prospects:,}-prospect campaign (one fresh worker process per database)\n"
    )
    header = f"{'database':<10} {'import':>8} {'schedule':>9} {'per s':>7} {'delayed':>8} {'RSS idle':>9} {'RSS waiting':>12} {'ratio':>6} {'restart':>8} {'RSS after':>10}"
    print(header)
    for kind in kinds:
        r = run(kind, args.prospects)
        ratio = r["rss_waiting_mb"] / r["rss_idle_mb"]
        print(
            f"{kind:<10} {r['import_s']:>7.1f}s {r['schedule_s']:>8.1f}s {r['scheduled'] / r['schedule_s']:>7.0f} "
            f"{r['delayed_workflows']:>8.0f} {r['rss_idle_mb']:>7.0f}MB {r['rss_waiting_mb']:>10.0f}MB {ratio:>6.2f} "
            f"{r['restart_s']:>7.1f}s {r['rss_after_restart_mb']:>8.0f}MB"
        )
    print(
        "\nimport: parse, check templates and insert the prospects; schedule: create journeys, book"
    )
    print(
        "invitation slots and enqueue one delayed workflow per journey; ratio: RSS with every journey"
    )
    print(
        "waiting over RSS of the same worker before the launch; restart: relaunch with all of them waiting."
    )


if __name__ == "__main__":
    main()
