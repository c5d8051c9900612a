"""Load test: whole campaigns on PostgreSQL, the app and two workers in separate processes.

It measures whether Outreach stays correct and responsive when several processes share
one PostgreSQL under a compressed clock: every journey ends, no deadlock, no
connection-pool timeout, no workflow in ERROR, every action the fake LinkedIn received
is on a timeline and none was received twice, and the API answers within a second.

Everything runs on this machine, over loopback, in a fresh database that is dropped at
the end: ``outreach serve`` (it migrates and anchors the simulated clock), then the fake
Unipile on the same database (it reads that clock), then ``outreach worker`` processes,
and optionally one busy-looping process per core. Every sender (``sandbox-account-N`` at
the fake) works every day, all day (UTC), 8-10 minutes between invitations, 150 a day;
the fake's people make no random errors unless ``--error-rate`` says so. Each process
logs to its own file in a temporary directory.

    .venv/bin/python bench/load_pg.py                                   # 1 sender, 300 prospects
    .venv/bin/python bench/load_pg.py --senders 20 --prospects 1000     # 20 senders

The figures are printed and written to ``bench/results/load_pg-<timestamp>.json``; the
exit status is 0 only when every check passed. Deadlocks are read from PostgreSQL's
statistics: DBOS retries a deadlocked transaction without a log line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
API_KEY = "load-unipile-key"
SECRET = "load-webhook-secret"
TERMINAL = ("completed", "not_accepted", "replied", "failed")
PROBE_EVERY = 0.5  # real seconds between two rounds of API probes
SLOW = 1.0  # an API call slower than this (real seconds) counts against the run
EXIT_GRACE = 10.0  # real seconds a worker has to exit after SIGTERM
LOG_PATTERNS = (
    "QueuePool limit",
    "TimeoutError",
    "deadlock detected",
    "Traceback",
    "too many clients",
)
# `outreach sandbox serve` serves one account; several senders need serve()'s account_ids.
# (The fake is moving from outreach.linkedin to outreach.sandbox: either is found.)
FAKE_PROGRAM = """
import sys
try:
    from outreach.sandbox.fake_unipile import serve
except ImportError:
    from outreach.linkedin.fake_unipile import serve
serve(int(sys.argv[1]), sys.argv[2], account_ids=sys.argv[3].split(","))
"""
console = Console(width=None if sys.stdout.isatty() else 110)


# -- the database --------------------------------------------------------------------------


def create_database() -> str:
    name = f"outreach_load_{uuid.uuid4().hex[:10]}"
    _query(PG_ADMIN, f'CREATE DATABASE "{name}"', autocommit=True)
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = sa.make_url(url).database
    _query(PG_ADMIN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', autocommit=True)


def _query(url: str, sql: str, *, autocommit: bool = False) -> list[tuple[Any, ...]]:
    """One statement on a short-lived engine (the rows, if it returns any)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT" if autocommit else None)
    try:
        with engine.connect() as conn:
            result = conn.exec_driver_sql(sql)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def deadlocks(url: str) -> int:
    """Deadlocks PostgreSQL detected in this database (DBOS retries them without a log line)."""
    name = sa.make_url(url).database
    rows = _query(PG_ADMIN, f"SELECT deadlocks FROM pg_stat_database WHERE datname = '{name}'")
    return int(rows[0][0] or 0) if rows else 0


def workflows(url: str) -> dict[str, dict[str, int]]:
    """DBOS's workflows by status and by executor (its tables: the ``dbos`` schema, here)."""
    found = {}
    for column in ("status", "executor_id"):
        sql = f"SELECT {column}, count(*) FROM dbos.workflow_status GROUP BY 1 ORDER BY 1"
        found[column] = {str(key): int(count) for key, count in _query(url, sql)}
    return found


@dataclass
class Connections:
    """The most connections to the database seen at once (PostgreSQL's limit beside it)."""

    engine: sa.Engine
    peak: int = 0

    @classmethod
    def on(cls, url: str) -> Connections:
        return cls(sa.create_engine(url, pool_size=1, max_overflow=0))

    def sample(self) -> None:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        with self.engine.connect() as conn:
            self.peak = max(self.peak, int(conn.exec_driver_sql(query).scalar_one()))

    def limit(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("SHOW max_connections").scalar_one())


# -- processes -----------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Processes:
    """Every process this script started; ``stop_all`` ends whichever still runs."""

    logs: Path
    started: list[Proc] = field(default_factory=list)
    burners: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                env=env,
                cwd=self.logs,  # no stray .env is read from the caller's directory
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches this script only; it stops them
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def burn(self, cores: int) -> None:
        for _ in range(cores):
            self.burners.append(
                subprocess.Popen(
                    [sys.executable, "-c", "while True: pass"],
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def terminate(self, procs: list[Proc], grace: float) -> dict[str, float | None]:
        """SIGTERM all at once; seconds each took to exit (None: killed after ``grace``)."""
        sent = time.monotonic()
        for proc in procs:
            if proc.alive():
                proc.popen.send_signal(signal.SIGTERM)
        exits: dict[str, float | None] = {}
        while len(exits) < len(procs) and time.monotonic() < sent + grace:
            for proc in procs:
                if proc.name not in exits and not proc.alive():
                    exits[proc.name] = round(time.monotonic() - sent, 2)
            time.sleep(0.05)
        for proc in procs:
            if proc.name not in exits:
                proc.popen.kill()
                proc.popen.wait()
                exits[proc.name] = None
        return exits

    def stop_all(self) -> None:
        for burner in self.burners:
            burner.kill()
            burner.wait()
        self.burners.clear()
        self.terminate([p for p in reversed(self.started) if p.alive()], grace=5.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Ports:
    app: int
    fake: int

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app}"

    @property
    def fake_url(self) -> str:
        return f"http://127.0.0.1:{self.fake}"


def base_env(url: str, args: argparse.Namespace) -> dict[str, str]:
    """This environment without OUTREACH_*/UNIPILE_* variables, plus what every process shares."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "UNIPILE_"))}
    return env | {
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_TIME_SCALE": str(args.scale),
        "UNIPILE_API_KEY": API_KEY,
        "OUTREACH_WEBHOOK_SECRET": SECRET,
        # The fake's people draw their random errors from this, not the app.
        "OUTREACH_SANDBOX_ERROR_RATE": str(args.error_rate),
        "PYTHONUNBUFFERED": "1",
    }


def app_env(base: dict[str, str], ports: Ports, executor_id: str) -> dict[str, str]:
    return base | {
        "OUTREACH_LINKEDIN_PROVIDER": "unipile",
        "UNIPILE_DSN": ports.fake_url,
        "OUTREACH_PORT": str(ports.app),
        "OUTREACH_EXECUTOR_ID": executor_id,
    }


def fake_argv(ports: Ports, account_ids: list[str]) -> list[str]:
    webhook_url = f"{ports.app_url}/api/webhooks/unipile"
    if account_ids == ["sandbox-account-1"]:  # the one account the CLI serves
        return [
            str(BIN / "outreach"),
            *("sandbox", "serve", "--port", str(ports.fake), "--webhook-url", webhook_url),
        ]
    return [
        str(BIN / "python"),
        "-c",
        FAKE_PROGRAM,
        str(ports.fake),
        webhook_url,
        ",".join(account_ids),
    ]


def wait_ready(proc: Proc, ready: Callable[[], bool], *, what: str, timeout: float = 90.0) -> None:
    """Poll ``ready()`` until it is true; fail early when the process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}); see {proc.log}")
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout:.0f}s; see {proc.log}")


def _answers(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=5).status_code == 200


def _says(proc: Proc, text: str) -> Callable[[], bool]:
    return lambda: text in proc.log.read_text(errors="replace")


def start_stack(
    procs: Processes, url: str, ports: Ports, args: argparse.Namespace, account_ids: list[str]
) -> list[Proc]:
    """The app, then the fake Unipile, then the workers; the workers are returned."""
    base = base_env(url, args)
    app = procs.start("serve-1", [str(BIN / "outreach"), "serve"], app_env(base, ports, "serve-1"))
    wait_ready(app, _answers(f"{ports.app_url}/api/health"), what="the app")
    fake = procs.start("fake-unipile", fake_argv(ports, account_ids), base)
    wait_ready(fake, _answers(f"{ports.fake_url}/_sandbox/clock"), what="the fake")
    workers = []
    for n in range(1, args.workers + 1):
        name = f"worker-{n}"
        workers.append(
            procs.start(name, [str(BIN / "outreach"), "worker"], app_env(base, ports, name))
        )
    for worker in workers:
        wait_ready(worker, _says(worker, "running"), what=worker.name)
    return workers


# -- the scenario --------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    id: int
    account: str  # the sender's Unipile account id, as the fake logs it
    prospects: int


def sender(external_id: str, daily_cap: int) -> dict[str, Any]:
    return {
        "name": f"Sender {external_id}",
        "provider": "unipile",
        "external_id": external_id,
        "timezone": "UTC",
        "work_start": "00:00:00",
        "work_end": "23:59:59",
        "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "daily_invite_cap": daily_cap,
        "weekly_invite_cap": min(1000, 7 * daily_cap),
        "invite_gap_min_minutes": 8,
        "invite_gap_max_minutes": 10,
    }


def _ok(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.text}")
    return response.json()


def set_up(
    client: httpx.Client, account_ids: list[str], args: argparse.Namespace
) -> list[Campaign]:
    """One campaign per sender, the prospects split between them, each launched."""
    campaigns = []
    share, extra = divmod(args.prospects, len(account_ids))
    first = 0
    for n, external_id in enumerate(account_ids):
        count = share + (1 if n < extra else 0)
        account = _ok(client.post("/api/accounts", json=sender(external_id, args.daily_cap)), 201)
        body = {"name": f"Load {n + 1}", "account_id": account["id"]}
        campaign = _ok(client.post("/api/campaigns", json=body), 201)
        rows = [
            {"public_identifier": f"load-{i}", "first_name": f"Prospect{i}", "company": "Acme"}
            for i in range(first, first + count)
        ]
        imported = _ok(client.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows), 200)
        if imported["errors"]:
            raise RuntimeError(f"prospects rejected: {imported['errors'][:3]}")
        campaigns.append(Campaign(campaign["id"], external_id, count))
        first += count
    for campaign in campaigns:
        _ok(client.post(f"/api/campaigns/{campaign.id}/launch"), 202)
    return campaigns


# -- watching ------------------------------------------------------------------------------


@dataclass
class Probes:
    """Timed API calls: latencies per endpoint, and the calls that failed."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)

    def get(self, client: httpx.Client, label: str, path: str) -> Any | None:
        started = time.perf_counter()
        try:
            response = client.get(path)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        self.latencies.setdefault(label, []).append(time.perf_counter() - started)
        if not ok:
            self.failures[label] += 1
            return None
        return response.json()

    def all(self) -> list[float]:
        return [s for values in self.latencies.values() for s in values]


def journey_counts(
    client: httpx.Client, probes: Probes, campaigns: list[Campaign], tick: int
) -> dict[str, int] | None:
    """Journeys per status over every campaign (one campaign probed by id each round)."""
    probed = campaigns[tick % len(campaigns)]
    detail = probes.get(client, "GET /api/campaigns/{id}", f"/api/campaigns/{probed.id}")
    if len(campaigns) == 1:
        return None if detail is None else dict(detail["journeys"])
    listed = probes.get(client, "GET /api/campaigns", "/api/campaigns")
    if listed is None:
        return None
    ours = {c.id for c in campaigns}
    counts: Counter[str] = Counter()
    for summary in listed:
        if summary["id"] in ours:
            counts.update(summary["journeys"])
    return dict(counts)


def watch(
    client: httpx.Client,
    campaigns: list[Campaign],
    procs: Processes,
    connections: Connections,
    *,
    timeout: float,
) -> tuple[dict[str, int], Probes, str]:
    """Probe the API every half second until every journey ends, a process dies or time is up."""
    total = sum(c.prospects for c in campaigns)
    probes, tick = Probes(), 0
    counts: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("journeys ended", total=total)
        while True:
            started = time.monotonic()
            health = probes.get(client, "GET /api/health", "/api/health")
            counts = journey_counts(client, probes, campaigns, tick) or counts
            connections.sample()
            ended = sum(counts.get(s, 0) for s in TERMINAL)
            sim = str(health["sim_time"])[:16] if health else "?"
            bar.update(task, completed=ended, description=f"journeys ended (sim {sim})")
            dead = [p.name for p in procs.started if not p.alive()]
            if ended == total:
                return counts, probes, "all journeys ended"
            if dead:
                return counts, probes, f"exited early: {', '.join(dead)}"
            if started > deadline:
                return counts, probes, f"timeout after {timeout:.0f}s"
            tick += 1
            time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - started)))


# -- figures -------------------------------------------------------------------------------

ActionKey = tuple[str, str, str]  # (sender account, prospect slug, invitation|message)


def journeys_of(client: httpx.Client, campaign: Campaign) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        path = f"/api/campaigns/{campaign.id}/journeys?limit=1000&offset={len(found)}"
        page = _ok(client.get(path), 200)
        found.extend(page)
        if len(page) < 1000:
            return found


def recorded_actions(
    client: httpx.Client, campaigns: list[Campaign]
) -> tuple[Counter[ActionKey], Counter[str]]:
    """First sends on the timelines, per sender, prospect and kind; failed journeys' reasons."""
    actions: Counter[ActionKey] = Counter()
    failures: Counter[str] = Counter()
    for campaign in campaigns:
        for journey in journeys_of(client, campaign):
            if journey["status"] == "failed":
                failures[str(journey["end_reason"])[:120]] += 1
            slug = journey["public_identifier"]
            for event in _ok(client.get(f"/api/journeys/{journey['id']}"), 200)["events"]:
                details = event["details"]
                if event["kind"] == "invitation_sent" and not details.get("already_pending"):
                    actions[(campaign.account, slug, "invitation")] += 1
                elif event["kind"] == "message_sent" and not details.get("found_after_retry"):
                    actions[(campaign.account, slug, "message")] += 1
    return actions, failures


def received_actions(fake: httpx.Client) -> list[dict[str, Any]]:
    items = _ok(fake.get("/_sandbox/log"), 200)["items"]
    return [i for i in items if i["kind"] in ("invitation", "message")]


def action_figures(received: list[dict[str, Any]], recorded: Counter[ActionKey]) -> dict[str, Any]:
    got: Counter[ActionKey] = Counter(
        (i["account"], i["public_identifier"], i["kind"]) for i in received
    )
    unrecorded = {k: n - recorded[k] for k, n in got.items() if n > recorded[k]}
    phantom = {k: n - got[k] for k, n in recorded.items() if n > got[k]}
    same = Counter(
        (i["account"], i["kind"], i["recipient"], i["text"] if i["kind"] == "message" else None)
        for i in received
    )
    duplicates = {k: n for k, n in same.items() if n > 1}
    return {
        "received": dict(Counter(i["kind"] for i in received)),
        "recorded": dict(Counter(k[2] for k in recorded.elements())),
        "unrecorded": sum(unrecorded.values()),
        "unrecorded_sample": [list(k) for k in list(unrecorded)[:10]],
        "recorded_not_received": sum(phantom.values()),
        "recorded_not_received_sample": [list(k) for k in list(phantom)[:10]],
        "duplicates": sum(n - 1 for n in duplicates.values()),
        "duplicates_sample": [[*k[:3], n] for k, n in list(duplicates.items())[:10]],
    }


def error_runs(client: httpx.Client) -> list[dict[str, Any]]:
    runs = _ok(client.get("/api/runs?status=ERROR&limit=10"), 200)
    return [{"workflow_id": r["workflow_id"], "error": (r["error"] or "")[:200]} for r in runs]


def log_figures(procs: Processes) -> dict[str, Any]:
    per_process = {}
    for proc in procs.started:
        text = proc.log.read_text(errors="replace")
        per_process[proc.name] = {p: text.count(p) for p in LOG_PATTERNS}
    totals = {p: sum(counts[p] for counts in per_process.values()) for p in LOG_PATTERNS}
    return {"totals": totals, "per_process": per_process}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def latency_figures(probes: Probes) -> dict[str, Any]:
    values = probes.all()
    return {
        "calls": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "max_ms": round(max(values, default=0.0) * 1000, 1),
        "over_1s": sum(1 for s in values if s > SLOW),
        "failed": sum(probes.failures.values()),
        "per_endpoint": {
            label: {"calls": len(v), "p99_ms": round(percentile(v, 0.99) * 1000, 1)}
            for label, v in probes.latencies.items()
        },
    }


# -- the verdict ---------------------------------------------------------------------------


def failed_checks(f: dict[str, Any]) -> list[str]:
    checks = {
        "every journey ended": f["journeys"]["terminal"] == f["journeys"]["total"],
        "no deadlock": f["deadlocks"]["new"] == 0,
        "no pool timeout": f["logs"]["totals"]["QueuePool limit"] == 0
        and f["logs"]["totals"]["TimeoutError"] == 0,
        "no workflow in ERROR": f["workflows"].get("ERROR", 0) == 0,
        "every action recorded": f["actions"]["unrecorded"] == 0,
        "no action twice": f["actions"]["duplicates"] == 0,
        "no API call over 1 s": f["latency"]["over_1s"] == 0 and f["latency"]["failed"] == 0,
    }
    return [name for name, passed in checks.items() if not passed]


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items() if n) or "none"


def figure_rows(f: dict[str, Any], failed: list[str]) -> list[tuple[str, str]]:
    j, a, lat, logs = f["journeys"], f["actions"], f["latency"], f["logs"]["totals"]
    latency = f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms"
    return [
        ("stopped because", f["stopped_because"]),
        ("journeys ended", f"{j['terminal']} / {j['total']}  ({_pairs(j['by_status'])})"),
        ("failed journeys, why", _pairs(j["failed_reasons"])),
        ("senders at the end", _pairs(f["senders"])),
        ("deadlocks (pg_stat_database)", f"{f['deadlocks']['new']} new"),
        ("pool timeouts in logs", _pairs({p: logs[p] for p in LOG_PATTERNS[:2]})),
        ("errors in logs", _pairs({p: logs[p] for p in LOG_PATTERNS[2:]})),
        (
            "peak connections",
            f"{f['connections']['peak']} (max_connections {f['connections']['max']})",
        ),
        ("DBOS workflows", _pairs(f["workflows"])),
        ("workflows in ERROR", str(f["workflows"].get("ERROR", 0))),
        ("workflows by executor", _pairs(f["workflows_by_executor"])),
        ("actions received (fake)", _pairs(a["received"])),
        ("actions recorded (timelines)", _pairs(a["recorded"])),
        ("received, not recorded", str(a["unrecorded"])),
        ("recorded, not received", str(a["recorded_not_received"])),
        ("received twice", str(a["duplicates"])),
        ("API latency", f"{latency} ({lat['calls']} calls)"),
        ("API calls over 1 s / failed", f"{lat['over_1s']} / {lat['failed']}"),
        ("real seconds", f"{f['real_seconds']:.0f} (campaign {f['run_seconds']:.0f})"),
        (
            "exit after SIGTERM",
            ", ".join(f"{n} {_exit(s)}" for n, s in f["sigterm_exit_s"].items()),
        ),
        ("verdict", "PASS" if not failed else "FAIL: " + ", ".join(failed)),
    ]


def print_figures(f: dict[str, Any], failed: list[str]) -> None:
    table = Table(title=f"load_pg: {f['scenario']}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in figure_rows(f, failed):
        table.add_row(name, value)
    console.print(table)
    for run in f["error_runs"][:5]:
        console.print(f"  ERROR {run['workflow_id']}: {run['error']}")


def _exit(seconds: float | None) -> str:
    return "killed (>10 s)" if seconds is None else f"{seconds:.1f}s"


def write_results(figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"load_pg-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return path


# -- the run -------------------------------------------------------------------------------


@contextmanager
def interrupts_unwind() -> Iterator[None]:
    """Ctrl-C or SIGTERM unwinds the run once, so every process it started is stopped and
    the database dropped; further signals are ignored until that clean-up is done."""
    signals = (signal.SIGINT, signal.SIGTERM)

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        for signum in signals:
            signal.signal(signum, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = [signal.signal(signum, interrupt) for signum in signals]
    try:
        yield
    finally:
        for signum, handler in zip(signals, previous, strict=True):
            signal.signal(signum, handler)


def collect(
    client: httpx.Client, fake: httpx.Client, campaigns: list[Campaign], counts: dict[str, int]
) -> dict[str, Any]:
    """What the API and the fake show, read while they still run."""
    recorded, failed_reasons = recorded_actions(client, campaigns)
    total = sum(c.prospects for c in campaigns)
    return {
        "journeys": {
            "total": total,
            "terminal": sum(counts.get(s, 0) for s in TERMINAL),
            "by_status": counts,
            "failed_reasons": dict(failed_reasons),
        },
        "actions": action_figures(received_actions(fake), recorded),
        "senders": dict(Counter(a["status"] for a in _ok(client.get("/api/accounts"), 200))),
        "error_runs": error_runs(client),
    }


def scenario(args: argparse.Namespace) -> str:
    burn = "on" if args.burn else "off"
    return (
        f"{args.senders} sender(s), {args.prospects} prospects, {args.workers} worker(s), "
        f"scale {args.scale:g}, burn {burn}"
    )


def run(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    account_ids = [f"sandbox-account-{n}" for n in range(1, args.senders + 1)]
    ports = Ports(free_port(), free_port())
    began = time.monotonic()
    with ExitStack() as stack:
        url = create_database()
        stack.callback(drop_database, url)
        before = deadlocks(url)
        procs = Processes(logs)
        stack.callback(procs.stop_all)
        if args.burn:
            procs.burn(os.cpu_count() or 1)
        workers = start_stack(procs, url, ports, args, account_ids)
        client = stack.enter_context(httpx.Client(base_url=ports.app_url, timeout=30))
        fake = stack.enter_context(httpx.Client(base_url=ports.fake_url, timeout=30))
        campaigns = set_up(client, account_ids, args)
        console.print(f"{len(campaigns)} campaign(s), {args.prospects} prospects launched")
        launched = time.monotonic()
        connections = Connections.on(url)
        stack.callback(connections.engine.dispose)
        counts, probes, why = watch(client, campaigns, procs, connections, timeout=args.timeout)
        run_seconds = time.monotonic() - launched
        figures = {
            "scenario": scenario(args),
            "database": sa.make_url(url).database,  # to find it in PostgreSQL's own log
            **collect(client, fake, campaigns, counts),
        }
        figures["connections"] = {"peak": connections.peak, "max": connections.limit()}
        figures["sigterm_exit_s"] = procs.terminate(workers, EXIT_GRACE)
        procs.stop_all()
        time.sleep(1.0)  # exited backends have flushed their statistics
        after, dbos = deadlocks(url), workflows(url)
    return figures | {
        "stopped_because": why,
        "deadlocks": {"before": before, "after": after, "new": after - before},
        "workflows": dbos["status"],
        "workflows_by_executor": dbos["executor_id"],
        "logs": log_figures(procs),
        "latency": latency_figures(probes),
        "run_seconds": run_seconds,
        "real_seconds": time.monotonic() - began,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--senders", type=int, default=1, help="senders, one campaign each")
    parser.add_argument("--prospects", type=int, default=300, help="split among the campaigns")
    parser.add_argument("--daily-cap", type=int, default=150, help="invitations per sender a day")
    parser.add_argument("--scale", type=float, default=14400.0, help="simulated s per real s")
    parser.add_argument("--timeout", type=float, default=900.0, help="real seconds at most")
    parser.add_argument(
        "--burn",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one busy-looping process per core",
    )
    parser.add_argument("--workers", type=int, default=2, help="`outreach worker` processes")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="the fake's random transient error rate"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep (and print) the log dir")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    logs = Path(tempfile.mkdtemp(prefix="load_pg-"))
    try:
        with interrupts_unwind():
            figures = run(args, logs)
    except KeyboardInterrupt:
        console.print(f"interrupted: stopped everything, dropped the database; logs in {logs}")
        return 130
    except BaseException:
        console.print(f"stopped everything, dropped the database; logs kept in {logs}")
        raise
    if args.keep_logs:
        console.print(f"logs kept in {logs}")
    else:
        shutil.rmtree(logs, ignore_errors=True)
    failed = failed_checks(figures)
    print_figures(figures, failed)
    console.print(f"figures written to {write_results(figures | {'failed_checks': failed})}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
