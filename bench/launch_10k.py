"""Benchmark: a 10,000-prospect launch, and a worker's cost with many journeys waiting.

On SQLite and on PostgreSQL, each measurement in fresh processes and a fresh database:

1. *launch*: import ``--prospects`` prospects into a campaign (timed apart), then launch
   it and wait for its launch workflow: every journey created with its sender and its
   invitation due, ready for the governor (no workflow per journey: a waiting journey is
   a row).
2. *baseline*: a plain loop of as many DBOS enqueues, one small workflow per journey
   with its own id, on a queue no process listens to: what launching would cost if each
   journey were started as a workflow of its own. Same run, same database kind.
3. *waiting* (``--waiting``, e.g. 1000 100000 1000000): that many journeys waiting (the
   campaigns of 10,000 launched, nothing run), then a fresh ``outreach worker`` process
   is started: how long until it has heartbeated (its start), and its resident memory
   once it has run a few governor rounds over them. The figure at 1,000 is the baseline.

Each launch measurement runs ``--repeat`` times (3 by default) and prints min / median /
max, with the ratio launch / baseline of each repetition.

    .venv/bin/python bench/launch_10k.py                          # launches, both databases
    .venv/bin/python bench/launch_10k.py --waiting 1000 100000 1000000 --only postgres
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS
from pg import create_database, drop_database

SETTLE_SECONDS = 5.0
CAMPAIGN_SIZE = 10_000  # the waiting journeys are made as campaigns of this many


def _settings(url: str) -> Any:
    from outreach.config import Settings

    return Settings(database_url=url, executor_id=f"bench-{uuid.uuid4().hex[:6]}", time_scale=1.0)


def _sender() -> Any:
    from outreach.accounts.schemas import AccountCreate

    return AccountCreate(
        name="bench",
        daily_invite_cap=200,
        weekly_invite_cap=1000,
        work_start=clock_time(0, 0),
        work_end=clock_time(23, 59),
    )


def _campaign(rt: Any, account_id: int, size: int, first: int) -> tuple[int, float]:
    """A campaign of ``size`` imported prospects; its id and the import's seconds."""
    from outreach.campaigns.commands import create_campaign
    from outreach.campaigns.schemas import CampaignCreate
    from outreach.prospects.commands import import_prospects

    started = time.perf_counter()
    campaign = create_campaign(rt, CampaignCreate(name=f"b{first}", account_id=account_id))
    rows = [
        (i, {"public_identifier": f"bench-{first + i:07d}", "first_name": f"P{i}"})
        for i in range(size)
    ]
    assert import_prospects(rt, campaign.id, rows).imported == size
    return campaign.id, time.perf_counter() - started


def _launch(rt: Any, campaign_id: int) -> int:
    from outreach.campaigns.commands import launch

    accepted = launch(rt, campaign_id)
    assert accepted.workflow_id is not None
    created: int = DBOS.retrieve_workflow(accepted.workflow_id).get_result()
    return created


@DBOS.workflow()
def journey_stage(journey_id: int) -> int:
    """The baseline's workflow: one per journey, enqueued and never run."""
    return journey_id


def launch_once(url: str, prospects: int) -> dict[str, float]:
    from outreach import runtime
    from outreach.accounts.commands import create_account

    rt = runtime.start(_settings(url), workers=False)
    account = create_account(rt, _sender())
    campaign_id, import_s = _campaign(rt, account.id, prospects, 0)
    started = time.perf_counter()
    created = _launch(rt, campaign_id)
    launch_s = time.perf_counter() - started
    runtime.stop()
    assert created == prospects, (created, prospects)
    return {"import_s": import_s, "launch_s": launch_s}


def enqueue_loop(url: str, prospects: int) -> dict[str, float]:
    """As many DBOS enqueues of a small workflow, one at a time, each with its own id."""
    from dbos import SetWorkflowID

    from outreach import runtime

    runtime.start(_settings(url), workers=False)  # the same DBOS set-up as a launch
    DBOS.register_queue("bench-loop")
    started = time.perf_counter()
    for n in range(prospects):
        with SetWorkflowID(f"bench-journey-{n}"):
            DBOS.enqueue_workflow("bench-loop", journey_stage, n)
    loop_s = time.perf_counter() - started
    runtime.stop()
    return {"loop_s": loop_s}


def fill(url: str, journeys: int) -> dict[str, float]:
    """``journeys`` waiting, as launched campaigns of ``CAMPAIGN_SIZE``."""
    from outreach import runtime
    from outreach.accounts.commands import create_account

    started = time.perf_counter()
    rt = runtime.start(_settings(url), workers=False)
    account = create_account(rt, _sender())
    for first in range(0, journeys, CAMPAIGN_SIZE):
        size = min(CAMPAIGN_SIZE, journeys - first)
        campaign_id, _ = _campaign(rt, account.id, size, first)
        assert _launch(rt, campaign_id) == size
    runtime.stop()
    return {"fill_s": time.perf_counter() - started}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def worker_cost(url: str) -> dict[str, float]:
    """A fresh ``outreach worker``: seconds until its first heartbeat, then its RSS."""
    env = os.environ | {
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_EXECUTOR_ID": f"bench-{uuid.uuid4().hex[:6]}",
        "OUTREACH_TIME_SCALE": "1",
        "OUTREACH_LOG_LEVEL": "ERROR",
        "OUTREACH_SWEEP_CRON": "0 0 1 1 *",
    }
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "outreach", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            with engine.connect() as conn:
                seen = conn.execute(
                    sa.text("SELECT count(*) FROM workers WHERE executor_id = :id"),
                    {"id": env["OUTREACH_EXECUTOR_ID"]},
                ).scalar_one()
            if seen:
                break
            if proc.poll() is not None or time.perf_counter() - started > 300:
                raise SystemExit("the worker did not start")
            time.sleep(0.05)
        start_s = time.perf_counter() - started
        time.sleep(SETTLE_SECONDS)
        return {"start_s": start_s, "rss_mb": rss_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        engine.dispose()


def _child(mode: str, url: str, count: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, "--prospects", str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def database(kind: str) -> str:
    return f"sqlite:///{tempfile.mkdtemp()}/bench.db" if kind == "sqlite" else create_database()


def _fresh(kind: str, mode: str, count: int) -> dict[str, float]:
    url = database(kind)
    try:
        return _child(mode, url, count)
    finally:
        if kind == "postgres":
            drop_database(url)


def spread(values: list[float], unit: str = "s") -> str:
    return f"{min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f} {unit}".rstrip()


def launches(kind: str, prospects: int, repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        launched = _fresh(kind, "launch", prospects)
        baseline = _fresh(kind, "loop", prospects)
        runs.append(launched | baseline)
    ratios = [r["launch_s"] / r["loop_s"] for r in runs]
    print(
        f"{kind:<9} launch {spread([r['launch_s'] for r in runs])}   "
        f"enqueue loop {spread([r['loop_s'] for r in runs])}   "
        f"ratio {spread(ratios, '')}   import {spread([r['import_s'] for r in runs])}",
        flush=True,
    )


def waiting(kind: str, sizes: list[int]) -> None:
    first: dict[str, float] | None = None
    for size in sizes:
        url = database(kind)
        try:
            filled = _child("fill", url, size)
            cost = worker_cost(url)
        finally:
            if kind == "postgres":
                drop_database(url)
        first = first or cost
        print(
            f"{kind:<9} {size:>9,} waiting (filled in {filled['fill_s']:5.0f} s): worker start "
            f"{cost['start_s']:5.2f} s ({cost['start_s'] / first['start_s']:.2f}x), RSS "
            f"{cost['rss_mb']:5.0f} MB ({cost['rss_mb'] / first['rss_mb']:.2f}x)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prospects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--waiting", type=int, nargs="*", default=[])
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--child", nargs=2, metavar=("MODE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url = args.child
        work = {"launch": launch_once, "loop": enqueue_loop, "fill": fill}[mode]
        print(json.dumps(work(url, args.prospects)))
        return
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    print(f"{os.cpu_count()} cores; min / median / max of {args.repeat} runs\n")
    if args.repeat:
        print(f"a {args.prospects:,}-prospect launch against a loop of as many DBOS enqueues")
        for kind in kinds:
            launches(kind, args.prospects, args.repeat)
    if args.waiting:
        print("\na fresh worker with journeys waiting (the first size is the baseline)")
        for kind in kinds:
            waiting(kind, args.waiting)


if __name__ == "__main__":
    main()
