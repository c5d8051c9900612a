"""Benchmark: how late 500 due stages run with 200,000 stages waiting, at time scale 1.

PostgreSQL, a fresh database per size, ``--senders`` senders (every day, all day, no gap)
in campaigns of 50, and ``--waiting`` journeys spread over them evenly, launched with no
worker running and then moved 30 days ahead: they wait. Then ``--workers`` ``outreach
worker`` processes start with the product's own settings (time scale 1: queue and
governor polled every second, 8 stages at once a process) on the zero-latency simulator.

Each repetition takes ``--due`` senders not used before and makes one waiting
invitation of each due a few seconds ahead (the bench writes ``next_run_at`` and the
sender's ``next_action_at``, as a stage ending would). A stage's lateness is the
moment its action reached the simulator (``sender_actions``: the invitation, or the
profile view of a prospect the simulator says is connected already) minus the moment it
was due. The first size is the baseline: the same due stages
with few journeys waiting, in the same run, so the ratio says what the waiting cost.

    .venv/bin/python bench/lateness.py                               # 2,000 and 200,000 waiting
    .venv/bin/python bench/lateness.py --waiting 2000 200000 --workers 2 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pg import create_database, drop_database
from stages import SENDERS_PER_CAMPAIGN, bench_senders, launch_prospects

LEAD_SECONDS = 3.0  # due this long after the bench sets it: the worker is idle by then
AHEAD = timedelta(days=30)


def worker_env(url: str, executor: str) -> dict[str, str]:
    return os.environ | {
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_EXECUTOR_ID": executor,
        "OUTREACH_TIME_SCALE": "1",
        "OUTREACH_SANDBOX_ERROR_RATE": "0",
        "OUTREACH_SANDBOX_REPLY_RATE": "0",
        "OUTREACH_SANDBOX_ACCEPT_RATE": "0",
        "OUTREACH_LOG_LEVEL": "ERROR",
        "OUTREACH_SWEEP_CRON": "0 0 1 1 *",  # the sweep would find nothing: not in the way
    }


# -- set-up, in a child process ------------------------------------------------------------


def set_up(url: str, senders: int, waiting: int) -> None:
    """``senders`` senders, ``waiting`` journeys spread over them, all 30 days ahead."""
    from outreach import runtime
    from outreach.config import Settings
    from outreach.models import Account, Journey
    from outreach.uow import transaction

    os.environ.update(worker_env(url, "setup"))
    rt = runtime.start(Settings(), workers=False)
    ids = bench_senders(rt, senders)
    groups = [ids[i : i + SENDERS_PER_CAMPAIGN] for i in range(0, senders, SENDERS_PER_CAMPAIGN)]
    made = 0
    for n, group in enumerate(groups):
        size = waiting * (n + 1) // len(groups) - made
        launch_prospects(rt, f"bench-{n}", group, made, size)
        made += size
    ahead = rt.clock.now() + AHEAD
    with transaction(rt) as session:
        session.execute(sa.update(Journey).values(next_run_at=ahead))
        session.execute(sa.update(Account).values(next_action_at=ahead))
        assert session.scalar(sa.select(sa.func.count()).select_from(Journey)) == waiting
    runtime.stop()


# -- one measured size ----------------------------------------------------------------------


def make_due(engine: sa.Engine, senders: list[str], at: datetime) -> int:
    """One waiting invitation of each sender due ``at``; how many."""
    with engine.begin() as conn:
        ids = conn.execute(
            sa.text(
                "SELECT min(j.id) FROM journeys j JOIN accounts a ON a.id = j.account_id"
                " WHERE a.name = ANY(:senders) GROUP BY j.account_id"
            ),
            {"senders": senders},
        ).scalars()
        chosen = list(ids)
        conn.execute(
            sa.text("UPDATE journeys SET next_run_at = :at WHERE id = ANY(:ids)"),
            {"at": at, "ids": chosen},
        )
        conn.execute(
            sa.text("UPDATE accounts SET next_action_at = :at WHERE name = ANY(:senders)"),
            {"at": at, "senders": senders},
        )
    return len(chosen)


def acted(engine: sa.Engine, senders: list[str], since: datetime) -> list[datetime]:
    """When each sender's first action from ``since`` on reached the simulator."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT min(s.at) FROM sender_actions s JOIN accounts a"
                    " ON a.id = s.account_id WHERE a.name = ANY(:senders) AND s.at >= :since"
                    " GROUP BY s.account_id"
                ),
                {"senders": senders, "since": since},
            ).scalars()
        )


def wait_started(engine: sa.Engine, executors: list[str]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            seen = conn.execute(
                sa.text("SELECT count(*) FROM workers WHERE executor_id = ANY(:ids)"),
                {"ids": executors},
            ).scalar_one()
        if seen == len(executors):
            return
        time.sleep(0.1)
    raise SystemExit("the workers did not start")


def measure(
    senders: int, waiting: int, due: int, workers: int, repeat: int
) -> list[dict[str, Any]]:
    url = create_database()
    procs: list[subprocess.Popen[bytes]] = []
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, __file__, "--child", url, str(senders), str(waiting)], check=True
        )
        print(f"  {waiting:,} waiting set up in {time.monotonic() - started:.0f} s", flush=True)
        executors = [f"bench-worker-{w}" for w in range(workers)]
        for executor in executors:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "outreach", "worker"],
                    env=worker_env(url, executor),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        wait_started(engine, executors)
        time.sleep(5.0)  # the first rounds over the waiting journeys are done
        runs = []
        for rep in range(repeat):
            group = [f"bench-{i}" for i in range(rep * due, (rep + 1) * due)]
            at = (datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)).replace(tzinfo=None)
            assert make_due(engine, group, at) == due
            deadline = time.monotonic() + LEAD_SECONDS + 300
            times: list[datetime] = []
            while time.monotonic() < deadline:
                time.sleep(0.5)
                times = acted(engine, group, at)
                if len(times) == due:
                    break
            if len(times) < due:
                raise SystemExit(f"only {len(times)} of {due} stages acted")
            late = [(t - at).total_seconds() for t in times]
            cuts = statistics.quantiles(late, n=100, method="inclusive")
            runs.append({"p50": cuts[49], "p99": cuts[98], "max": max(late), "early": min(late)})
        return runs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        engine.dispose()
        drop_database(url)


def spread(values: list[float]) -> str:
    return f"{min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--waiting", type=int, nargs="+", default=[2000, 200_000])
    parser.add_argument("--due", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "SENDERS", "WAITING"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        url, senders, waiting = args.child
        set_up(url, int(senders), int(waiting))
        return
    if args.due * args.repeat > args.senders:
        raise SystemExit("each repetition needs --due senders of its own: raise --senders")
    print(
        f"{args.due} stages due at once, {args.senders:,} senders, {args.workers} worker(s), "
        f"PostgreSQL, {os.cpu_count()} cores, time scale 1\n"
    )
    results = {}
    for waiting in args.waiting:
        results[waiting] = measure(args.senders, waiting, args.due, args.workers, args.repeat)
        for n, r in enumerate(results[waiting]):
            print(
                f"  run {n + 1}: {waiting:>9,} waiting: lateness p50 {r['p50']:5.2f} s, "
                f"p99 {r['p99']:5.2f} s, max {r['max']:5.2f} s (earliest {r['early']:+.2f} s)",
                flush=True,
            )
    base = args.waiting[0]
    print(f"\n{'waiting':>9}  {'p50 s min med max':>20}  {'p99 s min med max':>20}  p99 / baseline")
    for waiting, runs in results.items():
        p50 = [r["p50"] for r in runs]
        p99 = [r["p99"] for r in runs]
        ratios = [a["p99"] / b["p99"] for a, b in zip(runs, results[base], strict=True)]
        print(
            f"{waiting:>9,}  {spread(p50):>20}  {spread(p99):>20}  "
            f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
