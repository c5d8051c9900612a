"""Benchmark: due stages per second on PostgreSQL, Outreach's against bare DBOS workflows.

Each run has a fresh PostgreSQL database and fresh processes:

- *outreach*: ``--stages`` senders (every day, all day, no warm-up, no gap), one campaign
  holding them all, one prospect each, launched with no worker running: every invitation
  is due at once. Then ``--workers`` ``outreach worker`` processes start on the
  zero-latency simulator (no errors, no replies) and run them: the governor's dispatch,
  the stage workflow (read the context, read the profile, invite, record, free the sender).
- *bare*: the same number of bare DBOS workflows enqueued on a queue with the same
  settings (worker concurrency, polling interval, application version); each does what a
  stage minimally must: a step (the action) and a transaction writing one row (the record).
  The same number of worker processes run them.

Throughput is the number of workflows over the time from the first one's start to the
last one's end, read from DBOS's own ``workflow_status`` table; CPU is the workers'
user+system time over the run, per workflow. Each configuration runs ``--repeat`` times
(3 by default), interleaved, and is printed as min / median / max with its ratio to bare
DBOS in the same repetition.

    .venv/bin/python bench/stages.py                       # 2,000 stages, 1 and 2 workers
    .venv/bin/python bench/stages.py --stages 5000 --repeat 3
    .venv/bin/python bench/stages.py --profile /tmp/stage.txt    # py-spy, 1 worker
    .venv/bin/python bench/stages.py --statements 100     # the statements a stage makes
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pg import create_database, drop_database

CONCURRENCY = 8
POLL_SECONDS = 0.05
QUEUE = "bench-actions"
BARE_NAME = "bench_bare"
SENDERS_PER_CAMPAIGN = 50


def outreach_env(url: str, executor: str) -> dict[str, str]:
    return os.environ | {
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_EXECUTOR_ID": executor,
        "OUTREACH_TIME_SCALE": "1",
        "OUTREACH_WORKER_CONCURRENCY": str(CONCURRENCY),
        "OUTREACH_QUEUE_POLL_SECONDS": str(POLL_SECONDS),
        "OUTREACH_SANDBOX_ERROR_RATE": "0",
        "OUTREACH_SANDBOX_REPLY_RATE": "0",
        "OUTREACH_SANDBOX_ACCEPT_RATE": "0",
        "OUTREACH_LOG_LEVEL": "ERROR",
    }


# -- set-up, in a child process ------------------------------------------------------------


def set_up_outreach(url: str, stages: int) -> None:
    """``stages`` senders, campaigns of 50 of them, one prospect each, launched."""
    from outreach import runtime
    from outreach.config import Settings

    os.environ.update(outreach_env(url, "setup"))
    rt = runtime.start(Settings(), workers=False)
    ids = bench_senders(rt, stages)
    for begin in range(0, stages, SENDERS_PER_CAMPAIGN):  # a campaign has 50 senders at most
        group = ids[begin : begin + SENDERS_PER_CAMPAIGN]
        launch_prospects(rt, f"bench-{begin}", group, begin, len(group))
    runtime.stop()


def bench_senders(rt: Any, count: int) -> list[int]:
    """``count`` senders named ``bench-<n>``: the first created, the others copies of it
    inserted in bulk. Their ids, in order."""
    from outreach.accounts.commands import create_account
    from outreach.models import Account
    from outreach.uow import transaction

    first = create_account(rt, sender("bench-0"))
    with transaction(rt) as session:
        row = {
            c.key: getattr(session.get(Account, first.id), c.key)
            for c in Account.__table__.columns
            if c.key != "id"
        }
        session.execute(
            sa.insert(Account),
            [row | {"name": f"bench-{i}", "external_id": f"bench-{i}"} for i in range(1, count)],
        )
        return list(session.scalars(sa.select(Account.id).order_by(Account.id)))


def launch_prospects(rt: Any, name: str, senders: list[int], first: int, size: int) -> None:
    """A campaign over ``senders`` with ``size`` prospects (``p-<first + i>``), launched:
    its journeys made, their invitations due."""
    from dbos import DBOS

    from outreach.campaigns.commands import create_campaign, launch
    from outreach.campaigns.schemas import CampaignCreate
    from outreach.prospects.commands import import_prospects

    campaign = create_campaign(
        rt, CampaignCreate(name=name, account_id=senders[0], account_ids=senders)
    )
    rows = [
        (i, {"public_identifier": f"p-{first + i:07d}", "first_name": "P"}) for i in range(size)
    ]
    import_prospects(rt, campaign.id, rows)
    launched = launch(rt, campaign.id)
    assert launched.workflow_id is not None
    DBOS.retrieve_workflow(launched.workflow_id).get_result()


def sender(name: str) -> Any:
    from outreach.accounts.schemas import AccountCreate

    return AccountCreate(
        name=name,
        work_start=clock_time(0, 0),
        work_end=clock_time(23, 59),
        work_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        daily_invite_cap=200,
        weekly_invite_cap=1000,
        invite_gap_min_minutes=0,
        invite_gap_max_minutes=0,
        warmup_days=0,
    )


def bare_dbos(url: str, executor: str, *, listen: bool) -> Any:
    from dbos import DBOS

    DBOS(
        config={
            "name": "outreach",
            "system_database_url": url,
            "application_version": "outreach-1",
            "executor_id": executor,
            "notification_listener_polling_interval_sec": POLL_SECONDS,
            "log_level": "ERROR",
            "sys_db_pool_size": CONCURRENCY + 2,
            "db_engine_kwargs": {"pool_pre_ping": False},  # as Outreach configures it
        }
    )
    engine = sa.create_engine(url, pool_size=CONCURRENCY + 2, pool_pre_ping=False)
    records = sa.Table(
        BARE_NAME,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True)),
    )

    @DBOS.step()
    def act(n: int) -> float:
        return time.time()

    @DBOS.step()
    def record(n: int, at: float) -> None:
        with engine.begin() as conn:
            conn.execute(sa.insert(records).values(id=n, at=sa.func.to_timestamp(at)))

    @DBOS.workflow()
    def bare_stage(n: int) -> None:
        record(n, act(n))

    if not listen:
        DBOS.listen_queues([])
    DBOS.launch()
    DBOS.register_queue(
        QUEUE,
        worker_concurrency=CONCURRENCY,
        polling_interval_sec=POLL_SECONDS,
        on_conflict="always_update",
    )
    with engine.begin() as conn:
        records.metadata.create_all(conn)
    return bare_stage


def set_up_bare(url: str, stages: int) -> None:
    from dbos import DBOS

    bare_stage = bare_dbos(url, "setup", listen=False)
    for n in range(stages):
        DBOS.enqueue_workflow(QUEUE, bare_stage, n)
    DBOS.destroy()


def bare_worker(url: str, executor: str) -> None:
    import signal
    import threading

    bare_dbos(url, executor, listen=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


# -- one measured run ----------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def done_count(url: str, kind: str) -> tuple[int, float | None]:
    """(workflows ended, seconds from the first start to the last end)."""
    name = "bare_stage" if kind == "bare" else "run_stage"
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        done, first, last = conn.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE status = 'SUCCESS'),"
                " min(started_at_epoch_ms), max(updated_at) FROM dbos.workflow_status"
                " WHERE name LIKE :name"
            ),
            {"name": f"%{name}"},
        ).one()
    engine.dispose()
    span = (last - first) / 1000 if done and first and last else None
    return int(done), span


def transactions(url: str) -> int:
    """Transactions committed in this database so far (every process, ours and DBOS's)."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        count = conn.execute(
            sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()
    return int(count)


def measure(kind: str, workers: int, stages: int, profile: str | None = None) -> dict[str, Any]:
    url = create_database()
    try:
        subprocess.run(
            [sys.executable, __file__, "--child", f"setup-{kind}", url, "--stages", str(stages)],
            check=True,
        )
        commits_before = transactions(url)
        procs = []
        for w in range(workers):
            executor = f"bench-worker-{w}"
            if kind == "bare":
                argv = [
                    sys.executable,
                    __file__,
                    "--child",
                    "bare-worker",
                    url,
                    "--executor",
                    executor,
                ]
            else:
                argv = [sys.executable, "-m", "outreach", "worker"]
            procs.append(
                subprocess.Popen(
                    argv,
                    env=outreach_env(url, executor),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        spy = None
        if profile:  # py-spy samples every thread of the worker (the stages run in DBOS's)
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(procs[0].pid),
                    "--format",
                    "raw",
                    "--rate",
                    "100",
                    "--nonblocking",
                    "--gil",  # the thread holding the GIL: where the worker's CPU goes
                    "--output",
                    profile,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        started = time.monotonic()
        done = 0
        while time.monotonic() - started < 600:
            time.sleep(0.5)
            done, _ = done_count(url, kind)
            if done >= stages:
                break
        cpu = sum(cpu_seconds(p.pid) for p in procs)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
        done, span = done_count(url, kind)
        time.sleep(1.0)  # the backends' statistics reach pg_stat_database within a second
        commits = transactions(url) - commits_before
        if done < stages or span is None:
            raise SystemExit(f"{kind} with {workers} worker(s): only {done} of {stages} ended")
        return {
            "per_s": done / span,
            "cpu_ms": 1000 * cpu / done,
            "span_s": span,
            "tx": commits / done,
        }
    finally:
        drop_database(url)


def print_profile(path: Path, top: int = 40) -> None:
    """Inclusive share of the samples per function of ours, DBOS's and SQLAlchemy's."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "(threading.py)" in stack and ";" not in stack.split("(threading.py)")[-1]:
            continue
        total += int(count)
        seen = set()
        for frame in stack.split(";"):
            name = frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0]
            if name not in seen and any(k in frame for k in ("outreach", "dbos", "sqlalchemy")):
                seen.add(name)
                inclusive[name] = inclusive.get(name, 0) + int(count)
    print(f"{total} samples in stacks of ours, DBOS's or SQLAlchemy's; inclusive share:")
    for name, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * count / total:5.1f}%  {name}")


def statements(stages: int) -> None:
    """Run ``stages`` stages in one worker in this process and print the statements a
    stage makes (every engine's, ours and DBOS's), by verb and table, most first."""
    import collections
    import re
    import threading

    url = create_database()
    try:
        subprocess.run(
            [sys.executable, __file__, "--child", "setup-outreach", url, "--stages", str(stages)],
            check=True,
        )
        os.environ.update(outreach_env(url, "bench-statements"))
        counts: collections.Counter[str] = collections.Counter()
        lock = threading.Lock()
        table = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+([\w.]+)")

        @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
        def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            verb = statement.split(None, 1)[0]
            found = table.search(statement)
            key = f"{verb} {found.group(1) if found else ''}"
            with lock:
                counts[key] += 1

        from outreach import runtime
        from outreach.config import Settings

        runtime.start(Settings())
        started = time.monotonic()
        while done_count(url, "outreach")[0] < stages and time.monotonic() - started < 300:
            time.sleep(0.2)
        runtime.stop()
    finally:
        drop_database(url)
    total = sum(counts.values())
    print(f"{total / stages:.1f} statements a stage (queue and loop polling included):")
    for key, n in counts.most_common():
        if n / stages >= 0.05:
            print(f"  {n / stages:5.2f}  {key}")


def summary(values: list[float]) -> str:
    return f"{min(values):7.1f} {statistics.median(values):7.1f} {max(values):7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", choices=["bare", "outreach"])
    parser.add_argument(
        "--profile", help="sample one Outreach worker with py-spy: collapsed stacks to this file"
    )
    parser.add_argument(
        "--statements", type=int, metavar="N", help="run N stages here and count their statements"
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--executor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url = args.child
        if mode == "setup-outreach":
            set_up_outreach(url, args.stages)
        elif mode == "setup-bare":
            set_up_bare(url, args.stages)
        else:
            bare_worker(url, args.executor)
        return
    if args.statements:
        statements(args.statements)
        return
    if args.profile:
        result = measure("outreach", 1, args.stages, profile=args.profile)
        print(json.dumps(result))
        print_profile(Path(args.profile))
        return
    kinds = [args.only] if args.only else ["bare", "outreach"]
    print(
        f"{args.stages:,} stages due at once, PostgreSQL, {os.cpu_count()} cores, "
        f"worker concurrency {CONCURRENCY}, queue polled every {POLL_SECONDS} s\n"
    )
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for rep in range(args.repeat):
        for workers in args.workers:
            for kind in kinds:
                r = measure(kind, workers, args.stages)
                results.setdefault((kind, workers), []).append(r)
                print(
                    f"  run {rep + 1}: {kind:<8} {workers} worker(s) {r['per_s']:7.1f}/s "
                    f"{r['cpu_ms']:6.1f} ms CPU {r['tx']:5.1f} transactions a stage",
                    flush=True,
                )
    print(
        f"\n{'':<22}{'stages/s min  median     max':>28}   {'CPU ms/stage median':>20}"
        f"   {'ratio to bare (median)':>22}"
    )
    for (kind, workers), runs in results.items():
        rates = [r["per_s"] for r in runs]
        ratio = ""
        if kind == "outreach" and ("bare", workers) in results:
            bare = [r["per_s"] for r in results[("bare", workers)]]
            ratios = [o / b for o, b in zip(rates, bare, strict=True)]
            ratio = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        cpu = statistics.median(r["cpu_ms"] for r in runs)
        print(
            f"{kind + f', {workers} worker(s)':<22}{summary(rates):>28}   {cpu:>20.1f}   "
            f"{ratio:>22}"
        )
    for kind in kinds:
        if (kind, 1) in results and (kind, 2) in results:
            one = statistics.median(r["per_s"] for r in results[(kind, 1)])
            two = statistics.median(r["per_s"] for r in results[(kind, 2)])
            print(f"{kind}: 2 workers / 1 worker = {two / one:.2f}")


if __name__ == "__main__":
    main()
