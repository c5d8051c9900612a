"""Benchmark: launch a 10,000-prospect campaign, on SQLite and on PostgreSQL.

For each database, in fresh processes:

1. *launch*: import the prospects and launch the campaign (journeys created, invitation
   slots booked, one delayed workflow enqueued per journey); times both steps.
2. *waiting*: a fresh worker started on that database, with every journey waiting;
   its resident memory once settled.
3. *baseline*: a fresh worker on an empty database of the same kind, measured the same way.

The memory figure is the ratio waiting / baseline: 1.00 means the waiting journeys cost
the worker nothing. Run it as

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
from typing import Any

import sqlalchemy as sa

PG_ADMIN = os.environ.get(
    "OUTREACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SETTLE_SECONDS = 3.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _settings(url: str) -> Any:
    from outreach.config import Settings

    return Settings(database_url=url, executor_id=f"bench-{uuid.uuid4().hex[:6]}", time_scale=1.0)


def launch(url: str, prospects: int) -> dict[str, float]:
    from dbos import DBOS

    from outreach import runtime
    from outreach.accounts.commands import create_account
    from outreach.accounts.schemas import AccountCreate
    from outreach.campaigns.commands import create_campaign
    from outreach.campaigns.commands import launch as launch_campaign
    from outreach.campaigns.schemas import CampaignCreate
    from outreach.prospects.commands import import_prospects

    rt = runtime.start(_settings(url), workers=False)
    rows = [
        (i, {"public_identifier": f"bench-{i:05d}", "first_name": f"P{i}", "company": "Acme"})
        for i in range(prospects)
    ]
    sender = AccountCreate(
        name="bench",
        daily_invite_cap=200,
        weekly_invite_cap=1000,
        work_start=clock_time(0, 0),
        work_end=clock_time(23, 59),
    )
    started = time.perf_counter()
    account = create_account(rt, sender)
    campaign = create_campaign(rt, CampaignCreate(name="b", account_id=account.id))
    imported = import_prospects(rt, campaign.id, rows).imported
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    accepted = launch_campaign(rt, campaign.id)
    assert accepted.workflow_id is not None
    scheduled = DBOS.retrieve_workflow(accepted.workflow_id).get_result()
    schedule_s = time.perf_counter() - started
    delayed = DBOS.list_workflows(status="DELAYED", load_input=False, load_output=False)
    runtime.stop()
    return {
        "imported": imported,
        "scheduled": scheduled,
        "delayed": len(delayed),
        "import_s": import_s,
        "schedule_s": schedule_s,
    }


def idle_worker(url: str) -> dict[str, float]:
    from outreach import runtime

    started = time.perf_counter()
    runtime.start(_settings(url))
    start_s = time.perf_counter() - started
    time.sleep(SETTLE_SECONDS)  # queue pollers and background loops run a few rounds
    rss = rss_mb()
    runtime.stop()
    return {"start_s": start_s, "rss_mb": rss}


def _child(mode: str, url: str, prospects: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, "--prospects", str(prospects)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _pg_database(action: str, url: str | None = None) -> str:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = sa.make_url(url).database if url else f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        if action == "create":
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        else:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def _database(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    return _pg_database("create")


def run(kind: str, prospects: int) -> dict[str, float]:
    loaded, empty = _database(kind), _database(kind)
    try:
        result = _child("launch", loaded, prospects)
        waiting = _child("idle", loaded, prospects)
        baseline = _child("idle", empty, prospects)
    finally:
        if kind == "postgres":
            _pg_database("drop", loaded)
            _pg_database("drop", empty)
    return result | {
        "rss_waiting_mb": waiting["rss_mb"],
        "rss_baseline_mb": baseline["rss_mb"],
        "start_waiting_s": waiting["start_s"],
        "start_baseline_s": baseline["start_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prospects", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--child", nargs=2, metavar=("MODE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url = args.child
        result = launch(url, args.prospects) if mode == "launch" else idle_worker(url)
        print(json.dumps(result))
        return
    print(f"a {args.prospects:,}-prospect campaign, fresh processes for each measurement\n")
    print(
        f"{'database':<9} {'import':>8} {'schedule':>9} {'journeys/s':>11} {'delayed':>8} "
        f"{'worker RSS':>11} {'baseline':>9} {'ratio':>6} {'start':>6} {'baseline':>9}"
    )
    for kind in [args.only] if args.only else ["sqlite", "postgres"]:
        r = run(kind, args.prospects)
        print(
            f"{kind:<9} {r['import_s']:>7.1f}s {r['schedule_s']:>8.1f}s "
            f"{r['scheduled'] / r['schedule_s']:>11.0f} {r['delayed']:>8.0f} "
            f"{r['rss_waiting_mb']:>9.0f}MB {r['rss_baseline_mb']:>7.0f}MB "
            f"{r['rss_waiting_mb'] / r['rss_baseline_mb']:>6.2f} "
            f"{r['start_waiting_s']:>5.1f}s {r['start_baseline_s']:>8.1f}s"
        )
    print(
        "\nimport: parse, check templates, insert the prospects. schedule: create the journeys,"
        "\nbook the invitation slots, enqueue one delayed workflow per journey. worker RSS: a fresh"
        "\nworker with every journey waiting; baseline: a fresh worker on an empty database; start:"
        "\nhow long each took to start (a restart does not load the waiting journeys)."
    )


if __name__ == "__main__":
    main()
