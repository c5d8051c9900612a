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
    .venv/bin/python bench/load_pg.py --chaos --timeout 1200            # under chaos

With ``--chaos`` a thread kills a random worker (``--seed``) with SIGKILL every
``--kill-every`` real seconds and starts it again a second later with the same
environment and executor id, so DBOS recovers its workflows; it kills and restarts
``serve`` once (same port, executor ``serve-1``) and restarts PostgreSQL once
(``pg_ctlcluster``, about 40% into the campaign); the fake Unipile is never touched.
Nothing else is done for the processes: they recover by themselves or the run fails.
Then the verdict asks only that every journey ends, no workflow is in ERROR, every
action LinkedIn received is recorded and none twice, and no reply a person wrote is
missing from ``inbound_messages``; slow or failed API calls are reported, by cause.

The figures are printed and written to ``bench/results/load_pg-<timestamp>.json``; the
exit status is 0 only when every check passed. Deadlocks are read from PostgreSQL's
statistics: DBOS retries a deadlocked transaction without a log line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

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
        # pre-ping: the one pooled connection does not survive a PostgreSQL restart
        return cls(sa.create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True))

    def sample(self) -> None:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        try:
            with self.engine.connect() as conn:
                self.peak = max(self.peak, int(conn.exec_driver_sql(query).scalar_one()))
        except sa.exc.OperationalError:  # PostgreSQL restarting (chaos): sample next time
            pass

    def limit(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("SHOW max_connections").scalar_one())


# -- processes -----------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    argv: list[str]
    env: dict[str, str]
    generation: int = 0  # how many times chaos restarted this name before this one

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def label(self) -> str:
        """The name, and which restart this is: worker-1, worker-1.1, worker-1.2, ..."""
        return self.log.stem


@dataclass
class Processes:
    """Every process this script started (restarts too); ``stop_all`` ends whichever still
    runs, and once it has begun nothing more is started."""

    logs: Path
    started: list[Proc] = field(default_factory=list)
    current: dict[str, Proc] = field(default_factory=dict)  # the latest process of a name
    burners: list[subprocess.Popen[bytes]] = field(default_factory=list)
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str, argv: list[str], env: dict[str, str], generation: int = 0) -> Proc:
        log = self.logs / (f"{name}.log" if generation == 0 else f"{name}.{generation}.log")
        with self.lock:  # stop_all cannot miss a process started meanwhile
            if self.closed:
                raise RuntimeError(f"not starting {name}: everything is being stopped")
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
            proc = Proc(name, popen, log, argv, env, generation)
            self.started.append(proc)
            self.current[name] = proc
        return proc

    def restart(self, proc: Proc) -> Proc:
        """The same program, environment and executor id again, logging to a new file."""
        return self.start(proc.name, proc.argv, proc.env, proc.generation + 1)

    def kill(self, proc: Proc) -> None:
        """SIGKILL the process and its group (its own session: nothing else is in it)."""
        if proc.alive():  # not reaped yet, so its pid (and group id) is still its own
            with suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait()

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
                if proc.label not in exits and not proc.alive():
                    exits[proc.label] = round(time.monotonic() - sent, 2)
            time.sleep(0.05)
        for proc in procs:
            if proc.label not in exits:
                self.kill(proc)
                exits[proc.label] = None
        return exits

    def stop_all(self) -> None:
        with self.lock:
            self.closed = True
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
    calls: list[tuple[float, float, bool]] = field(default_factory=list)  # start, s, ok

    def get(self, client: httpx.Client, label: str, path: str) -> Any | None:
        began, started = time.monotonic(), time.perf_counter()
        try:
            response = client.get(path)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        seconds = time.perf_counter() - started
        self.latencies.setdefault(label, []).append(seconds)
        self.calls.append((began, seconds, ok))
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
    chaos: Chaos | None = None,
) -> tuple[dict[str, int], Probes, str]:
    """Probe the API every half second until every journey ends, a process dies or time is up.

    Under chaos, a process counts as dead only when it is the latest of its name and chaos
    is not restarting it (a restart's previous process was killed on purpose)."""
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
            with procs.lock:
                latest = list(procs.current.values())
            dead = [
                f"{p.label} ({p.popen.returncode})"
                for p in latest
                if not p.alive() and not (chaos is not None and chaos.restarting(p.name))
            ]
            if ended == total:
                return counts, probes, "all journeys ended"
            if dead:
                return counts, probes, f"exited early: {', '.join(dead)}"
            if started > deadline:
                return counts, probes, f"timeout after {timeout:.0f}s"
            tick += 1
            time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - started)))


# -- chaos ---------------------------------------------------------------------------------


def expected_seconds(args: argparse.Namespace) -> float:
    """Real seconds a campaign should take: the invitations' days, then 26 days of follow-ups
    and the day-2 check, plus a day of slack."""
    share = math.ceil(args.prospects / args.senders)
    per_day = min(int(args.daily_cap), 24 * 60 // 9)  # 8-10 minutes between invitations
    return float((math.ceil(share / per_day) + 27) * 86400 / args.scale)


def pg_restart_command() -> tuple[list[str] | None, str]:
    """The command that restarts the local cluster, or why there is none."""
    missing = [tool for tool in ("pg_ctlcluster", "pg_isready") if shutil.which(tool) is None]
    if missing:
        return None, f"unavailable: {', '.join(missing)} not found"
    etc = Path("/etc/postgresql")
    versions = sorted(p.name for p in etc.iterdir()) if etc.is_dir() else []
    if not versions:
        return None, "unavailable: no cluster in /etc/postgresql"
    if os.geteuid() != 0:
        return None, "unavailable: not root"
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "restart"], ""


def other_clients(url: str) -> dict[str, int]:
    """Client connections to the cluster's other databases (someone else's tests, say)."""
    name = sa.make_url(url).database
    sql = (
        "SELECT datname, count(*) FROM pg_stat_activity"
        f" WHERE backend_type = 'client backend' AND datname <> '{name}'"
        " AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 1"
    )
    return {str(db): int(n) for db, n in _query(PG_ADMIN, sql)}


def pg_ready() -> bool:
    argv = ["pg_isready", "-h", "127.0.0.1", "-p", "5432"]
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


@dataclass(frozen=True)
class Window:
    """A stretch of real time (monotonic) during which chaos had something down."""

    kind: str  # worker | serve | postgres
    start: float
    end: float


class Chaos:
    """A thread that, while the campaign runs, SIGKILLs a random worker every few seconds
    and starts it again under the same executor id, kills and restarts ``serve`` once, and
    restarts PostgreSQL once. The fake Unipile is never touched (it is LinkedIn; its
    webhook retries live in its memory). One event at a time, each to its end: a worker
    kill comes ``--kill-every`` s after the previous one, or 1 s after the previous event
    ended when that took longer (a restart under load takes ~10 s on two cores)."""

    MARGIN: ClassVar[dict[str, float]] = {"serve": 3.0, "postgres": 5.0}  # s after a window

    def __init__(
        self, procs: Processes, args: argparse.Namespace, url: str, ports: Ports, logs: Path
    ) -> None:
        self.procs, self.url, self.ports = procs, url, ports
        self.rng = random.Random(args.seed)
        self.kill_every = args.kill_every
        expected = expected_seconds(args)
        self.expected = expected
        self.pg_at = args.pg_restart_at if args.pg_restart_at is not None else 0.4 * expected
        self.serve_at = args.serve_kill_at if args.serve_kill_at is not None else 0.65 * expected
        self.pg_command, self.pg_note = pg_restart_command()
        self.pg_wait_others = args.pg_wait_others
        self.pg_others: dict[str, int] | None = None  # other databases' clients at the restart
        self.worker_kills: Counter[str] = Counter()
        self.serve_kills = 0
        self.pg_restarts = 0
        self.pg_down_s: float | None = None
        self.deadlocks_before_restart: int | None = None
        self.deadlocks_after_restart: int | None = None
        self.windows: list[Window] = []
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._log = logs / "chaos.log"
        self._began = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    # the thread

    def start(self) -> None:
        self._began = time.monotonic()
        self._note(
            f"chaos: a worker killed every {self.kill_every:g}s, serve at "
            f"{self.serve_at:.0f}s, PostgreSQL at {self.pg_at:.0f}s "
            f"(campaign expected to take {self.expected:.0f}s)"
        )
        self._thread.start()

    def stop(self, timeout: float = 120.0) -> None:
        """No new event; the one under way is carried to its end (so serve is up again)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def restarting(self, name: str) -> bool:
        with self._lock:
            return name in self._busy

    def _run(self) -> None:
        plan = sorted([(self.pg_at, "postgres"), (self.serve_at, "serve")])
        next_kill = self.kill_every
        while not self._stop.is_set():
            at, what = min([(next_kill, "worker"), *plan])
            if self._stop.wait(max(0.0, at - self._elapsed())):
                return
            try:
                if what == "worker":
                    workers = sorted(n for n in self.procs.current if n.startswith("worker-"))
                    self._bounce(self.rng.choice(workers), "worker")
                    next_kill = max(next_kill + self.kill_every, self._elapsed() + 1.0)
                else:
                    plan.remove((at, what))
                    if what == "serve":
                        self._bounce("serve-1", "serve")
                    else:
                        self._restart_postgres()
            except Exception as exc:  # noted, and chaos goes on: the run judges the outcome
                self.errors.append(f"{self._elapsed():.0f}s {what}: {type(exc).__name__}: {exc}")
                self._note(f"chaos: {what} went wrong: {exc}")

    # the events

    def _bounce(self, name: str, kind: str) -> None:
        """SIGKILL, 1 s, then the same program, env and executor id; wait until it is up."""
        old = self.procs.current[name]
        with self._lock:
            self._busy.add(name)
        began = time.monotonic()
        try:
            was_alive = old.alive()
            self.procs.kill(old)
            if kind == "serve":
                self.serve_kills += 1
            else:
                self.worker_kills[name] += 1
            time.sleep(1.0)
            new = self.procs.restart(old)
            if kind == "serve":
                ready = _answers(f"{self.ports.app_url}/api/health")
            else:
                ready = _says(new, "running")
            wait_ready(new, ready, what=new.label, timeout=120.0)
        finally:
            with self._lock:
                self._busy.discard(name)
            self.windows.append(Window(kind, began, time.monotonic()))
        back = time.monotonic() - began
        dead = "" if was_alive else " (it had already exited)"
        self._event(kind, name=name, label=new.label, back_s=round(back, 1))
        self._note(f"chaos: kill -9 {old.label}{dead}; {new.label} up after {back:.1f}s")

    def _restart_postgres(self) -> None:
        if self.pg_command is None:
            self._event("postgres", done=False, note=self.pg_note)
            self._note(f"chaos: PostgreSQL not restarted: {self.pg_note}")
            return
        # The cluster is shared: give someone else's test suite a moment to finish.
        deadline, others = time.monotonic() + self.pg_wait_others, other_clients(self.url)
        if others:
            self._note(f"chaos: waiting for other clients before the restart: {others}")
        while others and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(1.0)
            others = other_clients(self.url)
        if self._stop.is_set():
            self.pg_note = f"not restarted: the run ended while others were connected ({others})"
            self._event("postgres", done=False, note=self.pg_note)
            self._note(f"chaos: PostgreSQL {self.pg_note}")
            return
        self.pg_others = others
        self.deadlocks_before_restart = deadlocks(self.url)
        began = time.monotonic()
        try:
            result = subprocess.run(
                self.pg_command,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C does not cut a restart in half
                timeout=180,
                check=False,
            )
            deadline = time.monotonic() + 180
            while not pg_ready() and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            self.windows.append(Window("postgres", began, time.monotonic()))
        self.pg_down_s = round(time.monotonic() - began, 1)
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()[-300:]
            self.pg_note = f"restart failed (exit {result.returncode}): {output}"
            self._event("postgres", done=False, note=self.pg_note)
            self._note(f"chaos: PostgreSQL {self.pg_note}")
            return
        self.pg_restarts += 1
        self.deadlocks_after_restart = deadlocks(self.url)
        self._event("postgres", done=True, ready_after_s=self.pg_down_s, others=self.pg_others)
        self._note(f"chaos: PostgreSQL restarted, ready after {self.pg_down_s:.1f}s")

    def _elapsed(self) -> float:
        return time.monotonic() - self._began

    def _event(self, kind: str, **details: Any) -> None:
        self.events.append({"at_s": round(self._elapsed(), 1), "kind": kind, **details})

    def _note(self, text: str) -> None:
        line = f"{self._elapsed():7.1f}s {text}"
        with self._log.open("a") as out:
            out.write(line + "\n")
        console.print(line)

    # figures

    def during(self, start: float, seconds: float) -> str | None:
        """serve | postgres when a call overlapped that outage (and its margin), else None."""
        for window in self.windows:
            margin = self.MARGIN.get(window.kind)
            if (
                margin is not None
                and start <= window.end + margin
                and start + seconds >= window.start
            ):
                return window.kind
        return None

    def deadlock_count(self, before: int, after: int) -> dict[str, Any]:
        """New deadlocks. A restart may reset pg_stat_database (an unclean one does; a clean
        one keeps it since PostgreSQL 15): if it was reset, what was counted before it
        is added to what was counted after."""
        pre, post = self.deadlocks_before_restart, self.deadlocks_after_restart
        reset = pre is not None and post is not None and post < pre
        new = (pre - before) + after if reset and pre is not None else after - before
        return {
            "before": before,
            "before_restart": pre,
            "after_restart": post,
            "after": after,
            "counters_reset_by_restart": reset,
            "new": new,
        }

    def figures(self) -> dict[str, Any]:
        return {
            "worker_kills": sum(self.worker_kills.values()),
            "worker_kills_by_name": dict(sorted(self.worker_kills.items())),
            "serve_kills": self.serve_kills,
            "pg_restarts": self.pg_restarts,
            "pg_restart_command": " ".join(self.pg_command or []) or None,
            "pg_restart_planned_at_s": round(self.pg_at, 1),
            "pg_ready_after_s": self.pg_down_s,
            "pg_note": self.pg_note,
            "pg_other_clients_at_restart": self.pg_others,
            "serve_kill_planned_at_s": round(self.serve_at, 1),
            "kill_every_s": self.kill_every,
            "expected_campaign_s": round(self.expected, 1),
            "events": self.events,
            "errors": self.errors,
        }


def reply_figures(url: str) -> dict[str, Any]:
    """Replies the fake's people wrote (inbound ``sandbox_messages``) against the replies
    the app recorded (``inbound_messages``, by provider message id ``sbx-msg-<row>``)."""
    anchor = _query(url, "SELECT real_anchor, sim_anchor, scale FROM clock_state LIMIT 1")
    real_anchor, sim_anchor, scale = anchor[0]
    now = datetime.fromtimestamp(sim_anchor + (time.time() - real_anchor) * scale, UTC)
    written = _query(
        url,
        "SELECT m.id, m.account, m.person, m.at, m.delivered, j.id, j.status"
        " FROM sandbox_messages m"
        " LEFT JOIN accounts a ON a.external_id = m.account"
        " LEFT JOIN prospects p ON p.provider_id = m.person"
        " LEFT JOIN journeys j ON j.prospect_id = p.id AND j.account_id = a.id"
        " WHERE m.inbound ORDER BY m.id",
    )
    recorded = {
        str(message_id): str(source)
        for message_id, source in _query(url, "SELECT message_id, source FROM inbound_messages")
    }
    due, not_due, lost = 0, 0, []
    for row_id, account, person, at, delivered, journey, status in written:
        if at.replace(tzinfo=UTC) > now:  # written for later: not visible yet
            not_due += 1
            continue
        due += 1
        message_id = f"sbx-msg-{row_id}"
        if message_id not in recorded:
            lost.append(
                {
                    "message_id": message_id,
                    "account": account,
                    "person": person,
                    "at": at.isoformat(),
                    "webhook_sent": bool(delivered),
                    "journey": journey,
                    "journey_status": status,
                }
            )
    return {
        "written": len(written),
        "written_due": due,
        "written_not_yet_due": not_due,
        "recorded": len(recorded),
        "recorded_by_source": dict(Counter(recorded.values())),
        "lost": len(lost),
        "lost_ids": [r["message_id"] for r in lost],
        "lost_sample": lost[:20],
    }


def settle_replies(url: str, seconds: float) -> dict[str, Any]:
    """Once every journey ended, replies can still be in flight (written hours after a last
    follow-up, or a webhook waiting for its retry): wait for them, ``seconds`` at most."""
    deadline = time.monotonic() + seconds
    while True:
        found = reply_figures(url)
        pending = found["lost"] + found["written_not_yet_due"]
        if not pending or time.monotonic() > deadline:
            return found
        time.sleep(1.0)


def diagnosis(url: str) -> dict[str, Any]:
    """What the database says about journeys that did not end and workflows in ERROR."""
    statuses = ", ".join(f"'{s}'" for s in TERMINAL)
    unfinished = []
    for row in _query(
        url,
        "SELECT j.id, p.public_identifier, j.status, j.stage, j.stage_seq, j.next_run_at,"
        " j.waiting_for, j.held, j.attempts, j.last_error"
        " FROM journeys j JOIN prospects p ON p.id = j.prospect_id"
        f" WHERE j.status NOT IN ({statuses}) ORDER BY j.id LIMIT 20",
    ):
        journey = dict(
            zip(
                (
                    "id",
                    "prospect",
                    "status",
                    "stage",
                    "stage_seq",
                    "next_run_at",
                    "waiting_for",
                    "held",
                    "attempts",
                    "last_error",
                ),
                row,
                strict=True,
            )
        )
        events = _query(
            url,
            "SELECT kind, at, details FROM journey_events"
            f" WHERE journey_id = {int(row[0])} ORDER BY id DESC LIMIT 8",
        )
        journey["last_events"] = [[k, str(at), d] for k, at, d in reversed(events)]
        journey["workflows"] = [
            [wid, status, executor, (error or "")[:300]]
            for wid, status, executor, error in _query(
                url,
                "SELECT workflow_uuid, status, executor_id, error FROM dbos.workflow_status"
                f" WHERE workflow_uuid LIKE 'journey-{int(row[0])}-%' ORDER BY created_at",
            )
        ]
        unfinished.append(journey)
    in_error = [
        {"workflow_id": wid, "name": name, "executor": executor, "error": (error or "")[:1000]}
        for wid, name, executor, error in _query(
            url,
            "SELECT workflow_uuid, name, executor_id, error FROM dbos.workflow_status"
            " WHERE status = 'ERROR' ORDER BY created_at LIMIT 20",
        )
    ]
    by_status = dict(_query(url, "SELECT status, count(*) FROM journeys GROUP BY 1 ORDER BY 1"))
    return {
        "journeys_by_status": by_status,
        "unfinished": unfinished,
        "workflows_in_error": in_error,
    }


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
) -> tuple[Counter[ActionKey], Counter[ActionKey], Counter[str]]:
    """Sends on the timelines, per sender, prospect and kind; those of them a retry found
    already done (``already_pending``, ``found_after_retry``: after a crash mid-send that
    event is the only record of the send); failed journeys' reasons."""
    actions: Counter[ActionKey] = Counter()
    on_retry: Counter[ActionKey] = Counter()
    failures: Counter[str] = Counter()
    for campaign in campaigns:
        for journey in journeys_of(client, campaign):
            if journey["status"] == "failed":
                failures[str(journey["end_reason"])[:120]] += 1
            slug = journey["public_identifier"]
            for event in _ok(client.get(f"/api/journeys/{journey['id']}"), 200)["events"]:
                details = event["details"]
                kind = {"invitation_sent": "invitation", "message_sent": "message"}.get(
                    event["kind"]
                )
                if kind is None:
                    continue
                actions[(campaign.account, slug, kind)] += 1
                if details.get("already_pending") or details.get("found_after_retry"):
                    on_retry[(campaign.account, slug, kind)] += 1
    return actions, on_retry, failures


def received_actions(fake: httpx.Client) -> list[dict[str, Any]]:
    items = _ok(fake.get("/_sandbox/log"), 200)["items"]
    return [i for i in items if i["kind"] in ("invitation", "message")]


def action_figures(
    received: list[dict[str, Any]], recorded: Counter[ActionKey], on_retry: Counter[ActionKey]
) -> dict[str, Any]:
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
        "recorded_found_on_retry": dict(Counter(k[2] for k in on_retry.elements())),
        "recorded_found_on_retry_sample": [list(k) for k in list(on_retry)[:10]],
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
        per_process[proc.label] = {p: text.count(p) for p in LOG_PATTERNS}
    totals = {p: sum(counts[p] for counts in per_process.values()) for p in LOG_PATTERNS}
    return {"totals": totals, "per_process": per_process}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def latency_figures(probes: Probes, chaos: Chaos | None = None) -> dict[str, Any]:
    values = probes.all()
    slow: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for start, seconds, ok in probes.calls:
        when = (chaos.during(start, seconds) if chaos else None) or "other"
        slow[when] += seconds > SLOW
        failed[when] += not ok
    return {
        # under chaos: while serve was down or PostgreSQL restarting (and a few s after)
        "over_1s_by_cause": {k: slow[k] for k in ("serve", "postgres", "other")},
        "failed_by_cause": {k: failed[k] for k in ("serve", "postgres", "other")},
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
    if "chaos" in f:  # what must hold through kills and a PostgreSQL restart
        checks = {
            "every journey ended": f["journeys"]["terminal"] == f["journeys"]["total"],
            "no workflow in ERROR": f["workflows"].get("ERROR", 0) == 0,
            "every action recorded": f["actions"]["unrecorded"] == 0,
            "no action twice": f["actions"]["duplicates"] == 0,
            "no reply lost": f["replies"]["lost"] == 0,
        }
        return [name for name, passed in checks.items() if not passed]
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
        ("  of which found done on retry", _pairs(a["recorded_found_on_retry"])),
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
        *chaos_rows(f),
        ("verdict", verdict(f, failed)),
    ]


def verdict(f: dict[str, Any], failed: list[str]) -> str:
    if failed:
        return "FAIL: " + ", ".join(failed)
    chaos = f.get("chaos")
    if chaos is not None and not chaos["pg_restarts"]:
        why = chaos["pg_note"] or "the run ended before its time"
        return f"PASS, but PostgreSQL was not restarted ({why})"
    return "PASS"


def chaos_rows(f: dict[str, Any]) -> list[tuple[str, str]]:
    if "chaos" not in f:
        return []
    c, r, j, lat, d = f["chaos"], f["replies"], f["journeys"], f["latency"], f["deadlocks"]
    if c["pg_restarts"]:
        pg = f"{c['pg_restarts']} (planned at {c['pg_restart_planned_at_s']:.0f} s, ready after "
        pg += f"{c['pg_ready_after_s']} s; other databases' clients then: "
        pg += f"{_pairs(c['pg_other_clients_at_restart'] or {})})"
    else:
        pg = f"0: {c['pg_note'] or 'the run ended before its time'}"
    kept = "reset by the restart: summed" if d["counters_reset_by_restart"] else "kept"
    share = 100.0 * j["terminal"] / j["total"] if j["total"] else 0.0
    return [
        ("CHAOS", f"seed {f['chaos_seed']}, a worker killed every {c['kill_every_s']:g} s"),
        (
            "kills done",
            f"workers {c['worker_kills']} ({_pairs(c['worker_kills_by_name'])}), "
            f"serve {c['serve_kills']}",
        ),
        ("PostgreSQL restarts done", pg),
        ("chaos errors", "; ".join(c["errors"]) or "none"),
        ("journeys terminal", f"{j['terminal']} / {j['total']} ({share:.1f} %)"),
        (
            "replies written / recorded",
            f"{r['written_due']} / {r['recorded']} ({_pairs(r['recorded_by_source'])}; "
            f"{r['written_not_yet_due']} written for later)",
        ),
        ("replies lost", f"{r['lost']}: {', '.join(r['lost_ids'][:20]) or 'none'}"),
        (
            "deadlocks over the run",
            f"{d['new']} (before restart {d['before_restart']}, after restart "
            f"{d['after_restart']}, at the end {d['after']}; counters {kept})",
        ),
        ("API over 1 s by cause", _pairs(lat["over_1s_by_cause"])),
        ("API failed by cause", _pairs(lat["failed_by_cause"])),
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
    for journey in f.get("diagnosis", {}).get("unfinished", [])[:5]:
        console.print(
            f"  NOT ENDED journey {journey['id']} ({journey['prospect']}): {journey['status']}, "
            f"stage {journey['stage']}#{journey['stage_seq']}, last_error {journey['last_error']}"
        )
    for reply in f.get("replies", {}).get("lost_sample", [])[:5]:
        console.print(f"  LOST reply {reply}")


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
    recorded, on_retry, failed_reasons = recorded_actions(client, campaigns)
    total = sum(c.prospects for c in campaigns)
    return {
        "journeys": {
            "total": total,
            "terminal": sum(counts.get(s, 0) for s in TERMINAL),
            "by_status": counts,
            "failed_reasons": dict(failed_reasons),
        },
        "actions": action_figures(received_actions(fake), recorded, on_retry),
        "senders": dict(Counter(a["status"] for a in _ok(client.get("/api/accounts"), 200))),
        "error_runs": error_runs(client),
    }


def scenario(args: argparse.Namespace) -> str:
    burn = "on" if args.burn else "off"
    return (
        f"{args.senders} sender(s), {args.prospects} prospects, {args.workers} worker(s), "
        f"scale {args.scale:g}, burn {burn}" + (", CHAOS" if args.chaos else "")
    )


def run(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    account_ids = [f"sandbox-account-{n}" for n in range(1, args.senders + 1)]
    ports = Ports(free_port(), free_port())
    began = time.monotonic()
    with ExitStack() as stack:
        url = create_database()
        if args.keep_db:
            name = sa.make_url(url).database
            stack.callback(console.print, f"database kept (--keep-db): {name}")
        else:
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
        chaos = None
        if args.chaos:
            chaos = Chaos(procs, args, url, ports, logs)
            stack.callback(chaos.stop)  # before stop_all: nothing is restarted after it
            chaos.start()
        counts, probes, why = watch(
            client, campaigns, procs, connections, timeout=args.timeout, chaos=chaos
        )
        run_seconds = time.monotonic() - launched
        extra: dict[str, Any] = {}
        if chaos is not None:
            chaos.stop()  # the event under way ends first: serve answers again
            extra["replies"] = settle_replies(url, args.settle)
            extra["chaos_seed"] = args.seed
        extra["diagnosis"] = diagnosis(url)
        if chaos is not None:  # the journeys as they are now, replies settled
            counts = {str(k): int(n) for k, n in extra["diagnosis"]["journeys_by_status"].items()}
        figures = {
            "scenario": scenario(args),
            "database": sa.make_url(url).database,  # to find it in PostgreSQL's own log
            **collect(client, fake, campaigns, counts),
            **extra,
        }
        figures["connections"] = {"peak": connections.peak, "max": connections.limit()}
        latest = [procs.current[worker.name] for worker in workers]
        figures["sigterm_exit_s"] = procs.terminate(latest, EXIT_GRACE)
        procs.stop_all()
        time.sleep(1.0)  # exited backends have flushed their statistics
        after, dbos = deadlocks(url), workflows(url)
    if chaos is not None:
        figures["chaos"] = chaos.figures()
        counted = chaos.deadlock_count(before, after)
    else:
        counted = {"before": before, "after": after, "new": after - before}
    return figures | {
        "stopped_because": why,
        "deadlocks": counted,
        "workflows": dbos["status"],
        "workflows_by_executor": dbos["executor_id"],
        "logs": log_figures(procs),
        "latency": latency_figures(probes, chaos),
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
    parser.add_argument(
        "--keep-db", action="store_true", help="do not drop the database (its name is printed)"
    )
    chaos = parser.add_argument_group(
        "chaos",
        "kill -9 a random worker every few seconds and restart it under the same executor id, "
        "kill -9 and restart serve once, restart PostgreSQL once; the fake Unipile is spared",
    )
    chaos.add_argument("--chaos", action="store_true", help="run the campaign under chaos")
    chaos.add_argument(
        "--kill-every", type=float, default=8.0, help="real seconds between worker kills"
    )
    chaos.add_argument("--seed", type=int, default=1, help="seeds which worker is killed")
    chaos.add_argument(
        "--pg-restart-at",
        type=float,
        default=None,
        help="real second (from launch) of the PostgreSQL restart; default 40%% of the campaign",
    )
    chaos.add_argument(
        "--serve-kill-at",
        type=float,
        default=None,
        help="real second (from launch) serve is killed; default 65%% of the campaign",
    )
    chaos.add_argument(
        "--pg-wait-others",
        type=float,
        default=60.0,
        help="real seconds at most the restart waits for other databases' clients to leave",
    )
    chaos.add_argument(
        "--settle",
        type=float,
        default=60.0,
        help="real seconds at most to wait, once every journey ended, for replies in flight",
    )
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
