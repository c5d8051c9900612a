"""Benchmark: is the seed's timing kept in what is sent under a compressed clock?

It re-measures the table of the faithful-time issue, the way ``tests/e2e/test_faithful_time.py``
runs it. There are 120 prospects and one sender in America/New_York, who works 09-18
Monday to Friday and sends 20 invitations a day (100 a week). Warm-up is off and the
campaign has the default sequence (follow-ups on days 2, 7, 14, 19 and 26 after the
invitation). Time runs 14400x faster. Everything goes through our HTTP API on loopback,
served by uvicorn in a thread. Each run gets a fresh database and its own process (one
DBOS runtime per process): the script runs itself again with ``--one RUN --json``.

- ``sqlite``: our app with the sandbox provider, on a SQLite file in a temp directory;
- ``postgres``: the same on a new PostgreSQL database, dropped at the end;
- ``fake``: our app with ``linkedin_provider="unipile"`` against the fake Unipile on the
  same PostgreSQL database; it is also judged from the fake's action log (``/_sandbox/log``).

The figures come from the journeys' timelines (``invitation_sent``; ``message_sent`` with
``details.follow_up``; the journey's ``invited_at``), checked with ``outreach.timing``:

- the gaps between invitations on the same local working day, and how many fall inside
  18-23 minutes;
- follow-up 1's median day after the invitation (it is due on day 2);
- sends (invitations, messages, withdrawals, profile views) outside working hours;
- follow-ups that came after the end of the working day following their due day;
- the real seconds from creating the sender to the campaign being ``completed``;
- simulated days per real second. The span runs from the launch to the campaign's last
  recorded action, so the figure needs no baseline to be compared.

Each invitation gap outside the band is listed under the table, with what else was sent
in between. A run that has not completed after ``--timeout`` real seconds (10 minutes by
default) is reported as a row, and so is a run whose process failed. ``--load`` starts
one busy-looping process per core for all the runs, as the e2e test's ``busy_cores`` does.

    .venv/bin/python bench/faithful_time.py                      # all three runs
    .venv/bin/python bench/faithful_time.py --runs sqlite        # about 1-3 minutes
    .venv/bin/python bench/faithful_time.py --load --no-skip     # busy cores, clock not skipping

The table is printed; the figures go to ``bench/results/faithful_time-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from outreach import testing
from outreach.campaigns.scheduling import WorkingHours
from outreach.testing import new_york_sender
from outreach.timing import (
    Sent,
    gaps_outside,
    invitation_gaps,
    late_follow_ups,
    outside_hours,
    sends_of,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = os.environ.get(
    "OUTREACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RUNS = ("sqlite", "postgres", "fake")
HOURS = WorkingHours("America/New_York", clock_time(9), clock_time(18))
BAND = (timedelta(minutes=18), timedelta(minutes=23))
FOLLOW_UP_DAYS = (2, 7, 14, 19, 26)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
NEVER = "0 0 1 1 *"  # a sweep cron that does not fire during a run
API_KEY = "bench-unipile-key"
SECRET = "bench-webhook-secret"
ACCOUNT = "bench-account-a"  # the sender's account at the fake Unipile
POLL = 0.25  # real seconds between two looks at the campaign's status
console = Console(width=None if sys.stdout.isatty() else 160)


# -- one run, in its own process -----------------------------------------------------------


def people(count: int) -> list[dict[str, Any]]:
    """The same slugs on every run: the seeded people behave alike in the sandbox and the fake."""
    return [
        {"profile_url": f"https://www.linkedin.com/in/timing-{i}", "first_name": "P"}
        for i in range(count)
    ]


def _ok(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json()


def run_campaign(app: httpx.Client, rows: list[dict[str, Any]], account: dict[str, Any]) -> int:
    sender = _ok(app.post("/api/accounts", json=account), 201)
    body = {"name": "Timing", "account_id": sender["id"]}
    campaign_id = int(_ok(app.post("/api/campaigns", json=body), 201)["id"])
    imported = _ok(app.post(f"/api/campaigns/{campaign_id}/prospects", json=rows), 200)
    if imported["imported"] != len(rows):
        raise RuntimeError(f"imported {imported['imported']} of {len(rows)}: {imported}")
    _ok(app.post(f"/api/campaigns/{campaign_id}/launch"), 202)
    return campaign_id


def sim_now(app: httpx.Client) -> datetime:
    return datetime.fromisoformat(_ok(app.get("/api/health"), 200)["sim_time"])


def wait_completed(app: httpx.Client, campaign_id: int, timeout: float) -> str:
    """The campaign's status once it is ``completed``, or at the deadline; a progress line
    on stderr every 15 real seconds."""
    began = time.monotonic()
    shown = began
    while True:
        campaign = _ok(app.get(f"/api/campaigns/{campaign_id}"), 200)
        now = time.monotonic()
        if campaign["status"] == "completed" or now - began > timeout:
            return str(campaign["status"])
        if now - shown >= 15:
            shown = now
            print(
                f"  {now - began:4.0f} s: simulated {sim_now(app):%Y-%m-%d %H:%M}, "
                f"journeys {campaign['journeys']}",
                file=sys.stderr,
                flush=True,
            )
        time.sleep(POLL)


def journeys_of(app: httpx.Client, campaign_id: int) -> list[dict[str, Any]]:
    """Every journey of the campaign with its events (the list is paged)."""
    found: list[dict[str, Any]] = []
    while True:
        params = {"limit": 1000, "offset": len(found)}
        page = _ok(app.get(f"/api/campaigns/{campaign_id}/journeys", params=params), 200)
        found += page
        if len(page) < 1000:
            break
    return [_ok(app.get(f"/api/journeys/{j['id']}"), 200) for j in found]


@dataclass
class Record:
    """What was sent, and follow-up 1's day after its invitation, one per journey."""

    sent: list[Sent] = field(default_factory=list)
    first_follow_up_days: list[float] = field(default_factory=list)


def timeline_record(journeys: list[dict[str, Any]]) -> Record:
    """From the timelines (``timing.sends_of``, as the e2e test reads them); follow-up 1 is
    counted for journeys that sent an invitation (not for people already connected)."""
    record = Record(sends_of(journeys, FOLLOW_UP_DAYS))
    for detail in journeys:
        kinds = {e["kind"] for e in detail["events"]}
        if "invitation_sent" not in kinds:
            continue
        invited = datetime.fromisoformat(detail["invited_at"])
        for event in detail["events"]:
            if event["kind"] == "message_sent" and event["details"]["follow_up"] == 1:
                at = datetime.fromisoformat(event["at"])
                record.first_follow_up_days.append((at - invited) / DAY)
    return record


def log_record(log: list[dict[str, Any]]) -> Record:
    """From the fake LinkedIn's log: follow-up 1 is a recipient's first message after its
    invitation (a person already connected got no invitation and is left out)."""
    record = Record()
    invited: dict[str, datetime] = {}
    for entry in log:  # oldest first
        at = datetime.fromisoformat(entry["at"])
        if entry["kind"] == "invitation":
            invited.setdefault(entry["recipient"], at)
            record.sent.append(Sent("invitation", at, 0))
        elif entry["kind"] == "message":
            record.sent.append(Sent("message", at, 0))
            if (since := invited.pop(entry["recipient"], None)) is not None:
                record.first_follow_up_days.append((at - since) / DAY)
        elif entry["kind"] == "withdrawal":
            record.sent.append(Sent("withdrawal", at, 0))
    return record


def off_band(sent: list[Sent]) -> list[dict[str, Any]]:
    """Each same-day invitation gap outside the band: its two ends (local time), its length
    and what else was sent in between."""
    times = sorted(s.at for s in sent if s.kind == "invitation")
    found = []
    for a, b in itertools.pairwise(times):
        if HOURS.local_day(a) != HOURS.local_day(b) or BAND[0] <= b - a <= BAND[1]:
            continue
        between = [f"{s.kind} {_local(s.at)}" for s in sent if a < s.at < b]
        found.append(
            {"from": _local(a), "to": _local(b), "minutes": (b - a) / MINUTE, "between": between}
        )
    return found


def _local(at: datetime) -> str:
    return at.astimezone(ZoneInfo(HOURS.timezone)).strftime("%a %Y-%m-%d %H:%M:%S")


def judged(record: Record) -> dict[str, Any]:
    """The figures of one row."""
    gaps = [g / MINUTE for g in invitation_gaps(record.sent, HOURS)]
    outside_band = gaps_outside(invitation_gaps(record.sent, HOURS), *BAND)
    days = record.first_follow_up_days
    return {
        "invitations": sum(1 for s in record.sent if s.kind == "invitation"),
        "messages": sum(1 for s in record.sent if s.kind == "message"),
        "views": sum(1 for s in record.sent if s.kind == "view"),
        "withdrawals": sum(1 for s in record.sent if s.kind == "withdrawal"),
        "gaps": len(gaps),
        "gap_min": min(gaps, default=None),
        "gap_median": statistics.median(gaps) if gaps else None,
        "gap_max": max(gaps, default=None),
        "gaps_inside": len(gaps) - len(outside_band),
        "follow_up_1": len(days),
        "follow_up_1_median_day": statistics.median(days) if days else None,
        "outside_hours": len(outside_hours(record.sent, HOURS)),
        "late_follow_ups": len(late_follow_ups(record.sent, HOURS)),
        "off_band": off_band(record.sent),
        "last_action": max((s.at for s in record.sent), default=None),
    }


@contextmanager
def fresh_database(run: str) -> Iterator[str]:
    """A new SQLite file or PostgreSQL database for one run, removed at the end."""
    if run == "sqlite":
        with tempfile.TemporaryDirectory(prefix="faithful_time-") as directory:
            yield f"sqlite:///{Path(directory) / 'outreach.db'}"
        return
    name = f"outreach_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def measure(run: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """One run on ``url``: the servers, the campaign, its figures (while they still serve)."""
    from pydantic import SecretStr
    from tests.loopback import free_socket, serve_on, url_of

    from outreach.config import Settings
    from outreach.sandbox.fake_unipile import create_fake_unipile_app, open_simulator
    from outreach.sandbox.simulator import SandboxBehaviour
    from outreach.web.app import create_app

    app_sock, fake_sock = free_socket(), free_socket()
    unipile: dict[str, Any] = {}
    if run == "fake":
        unipile = {
            "linkedin_provider": "unipile",
            "unipile_dsn": url_of(fake_sock),
            "unipile_api_key": SecretStr(API_KEY),
            "webhook_secret": SecretStr(SECRET),
        }
    settings = Settings(
        database_url=url,
        time_scale=args.scale,
        time_skip=args.skip,
        sandbox_error_rate=0.0,
        executor_id=f"bench-{run}-{uuid.uuid4().hex[:8]}",
        sweep_cron=NEVER,
        **unipile,
    )
    with ExitStack() as stack:
        # The app first: its lifespan migrates the database and anchors the clock, which
        # the fake's simulator then reads from the same row (as tests/e2e/conftest.py).
        stack.enter_context(serve_on(create_app(settings), app_sock))
        fake: httpx.Client | None = None
        if run == "fake":
            simulator = open_simulator(
                url, time_scale=args.scale, behaviour=SandboxBehaviour.from_settings(settings)
            )
            fake_app = create_fake_unipile_app(
                simulator,
                api_key=API_KEY,
                webhook_url=f"{url_of(app_sock)}/api/webhooks/unipile",
                webhook_secret=SECRET,
                account_ids=[ACCOUNT],
                retry_delays=(0.05, 0.1, 0.2, 0.4, 0.8),
                poll_interval=0.02,
            )
            stack.enter_context(serve_on(fake_app, fake_sock))  # stopped before the app
            fake = stack.enter_context(httpx.Client(base_url=url_of(fake_sock), timeout=30))
        app = stack.enter_context(httpx.Client(base_url=url_of(app_sock), timeout=30))
        via = {"provider": "unipile", "external_id": ACCOUNT} if fake is not None else {}
        started = time.monotonic()
        launched = sim_now(app)
        campaign_id = run_campaign(app, people(args.prospects), new_york_sender(**via))
        status = wait_completed(app, campaign_id, args.timeout)
        real = time.monotonic() - started
        result: dict[str, Any] = {
            "run": run,
            "status": status,
            "real_seconds": real,
            "launched_sim": launched,
            "timelines": judged(timeline_record(journeys_of(app, campaign_id))),
            # what one unpaged GET lists (its default limit), beside the prospects
            "first_page": len(_ok(app.get(f"/api/campaigns/{campaign_id}/journeys"), 200)),
        }
        if fake is not None:
            from outreach.testing import Steering

            result["fake_log"] = judged(log_record(Steering(fake).log()))
    return result


def run_one(args: argparse.Namespace) -> int:
    """``--one RUN``: measure and print the figures (``--json``: one JSON line on stdout)."""
    sys.path.insert(0, str(ROOT))  # tests.loopback: the loopback servers of the e2e tests
    with fresh_database(args.one) as url:
        result = measure(args.one, url, args)
    if args.json:
        print(json.dumps(result, default=str), flush=True)
    else:
        print_table([result], args)
    return 0


# -- the driver ----------------------------------------------------------------------------


@contextmanager
def busy_cores(on: bool) -> Iterator[None]:
    """One busy-looping process per core for the whole block, if ``on``."""
    with testing.busy_cores() if on else nullcontext():
        yield


def child_argv(run: str, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        *("--one", run, "--json"),
        *("--prospects", str(args.prospects), "--scale", str(args.scale)),
        *("--timeout", str(args.timeout), "--skip" if args.skip else "--no-skip"),
    ]


def child_env() -> dict[str, str]:
    """This environment without OUTREACH_*/UNIPILE_* variables: the run's settings are all
    passed to ``Settings``, and a stray variable (an API key, say) must not change them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "UNIPILE_"))}
    return env | {"PYTHONUNBUFFERED": "1", "OUTREACH_TEST_PG_URL": PG_ADMIN}


def run_child(run: str, args: argparse.Namespace) -> dict[str, Any]:
    """One run in a fresh process (cwd a temp directory: no stray ``.env``); its figures,
    or why there are none."""
    console.print(f"[bold]{run}[/]: started", highlight=False)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faithful_time-") as cwd:
        try:
            done = subprocess.run(
                child_argv(run, args),
                cwd=cwd,
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=None,  # the child's progress lines and logs, as they come
                text=True,
                timeout=args.timeout + 180,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"run": run, "error": f"no answer after {args.timeout + 180:.0f} s: killed"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"run": run, "error": f"exit {done.returncode}, no figures (see its stderr)"}
    result: dict[str, Any] = json.loads(lines[-1])
    console.print(
        f"[bold]{run}[/]: {result['status']} in {time.monotonic() - began:.0f} s", highlight=False
    )
    return result


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row(label: str, f: dict[str, Any], status: str, real: float, span_days: float) -> list[str]:
    inside = f"{f['gaps_inside']} / {f['gaps']}"
    if f["gaps"]:
        inside += f" ({100 * f['gaps_inside'] / f['gaps']:.0f} %)"
    day = f["follow_up_1_median_day"]
    follow_up = "-" if day is None else f"{day:.2f} (n {f['follow_up_1']})"
    done = f"{real:.0f}" if status == "completed" else f"> {real:.0f} ({status}: TIMEOUT)"
    return [
        label,
        f"{_minutes(f['gap_min'])} / {_minutes(f['gap_median'])} / {_minutes(f['gap_max'])}",
        inside,
        follow_up,
        str(f["outside_hours"]),
        str(f["late_follow_ups"]),
        f"{f['invitations']} / {f['messages']} / {f.get('withdrawals', 0)}",
        done,
        f"{span_days / real:.3f}" if real else "-",
    ]


def rows_of(result: dict[str, Any]) -> list[list[str]]:
    if "error" in result:
        return [[result["run"], f"FAILED: {result['error']}", *[""] * 7]]
    real, status = float(result["real_seconds"]), str(result["status"])
    launched = datetime.fromisoformat(str(result["launched_sim"]))
    sources = [(result["run"], result["timelines"])]
    if "fake_log" in result:
        sources.append(("fake (its log)", result["fake_log"]))
    rows = []
    for label, f in sources:
        last = f["last_action"]
        span = (datetime.fromisoformat(str(last)) - launched) / DAY if last else 0.0
        rows.append(_row(label, f, status, real, span))
    return rows


def print_table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    load = "two busy cores" if args.load else "no extra load"
    table = Table(
        title=f"faithful_time: {args.prospects} prospects, scale {args.scale:g}, "
        f"skip {'on' if args.skip else 'off'}, {load}"
    )
    for column in (
        "run",
        "gaps min/med/max, min",
        "inside 18-23",
        "FU1 median day",
        "outside hours",
        "late FUs",
        "inv / msg / wd",
        "real s",
        "sim days / real s",
    ):
        table.add_column(column, no_wrap=True)
    for result in results:
        for row in rows_of(result):
            table.add_row(*row)
    console.print(table)
    console.print(
        "gaps: between invitations on one local working day; FU1: follow-up 1's median day "
        "after its invitation (due on day 2); wd: withdrawals; late FUs: after the end of the "
        "working day following their due day; real s: from creating the sender to `completed`",
        highlight=False,
    )
    for result in results:
        for source in ("timelines", "fake_log"):
            for gap in result.get(source, {}).get("off_band", []):
                console.print(
                    f"  {result['run']} ({source}): gap {gap['minutes']:.1f} min, "
                    f"{gap['from']} -> {gap['to']} (New York); between: "
                    f"{', '.join(gap['between']) or 'nothing'}",
                    highlight=False,
                )


def write_results(results: list[dict[str, Any]], args: argparse.Namespace) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"faithful_time-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    body = {"args": vars(args), "cpu_count": os.cpu_count(), "runs": results}
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
    return path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", default=",".join(RUNS), help="comma-separated, of sqlite, postgres, fake"
    )
    parser.add_argument("--prospects", type=int, default=120)
    parser.add_argument("--scale", type=float, default=14400.0, help="simulated s per real s")
    parser.add_argument(
        "--skip",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time_skip: the clock jumps to the next work due",
    )
    parser.add_argument(
        "--load", action="store_true", help="one busy-looping process per core during the runs"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="real seconds a run may take to complete"
    )
    parser.add_argument("--one", choices=RUNS, help=argparse.SUPPRESS)  # a run, in this process
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if unknown := set(args.runs) - set(RUNS):
        parser.error(f"unknown runs: {', '.join(sorted(unknown))}")
    return args


def main() -> int:
    args = parse_args()
    if args.one:
        return run_one(args)
    with busy_cores(args.load):
        results = [run_child(run, args) for run in args.runs]
    print_table(results, args)
    console.print(f"figures written to {write_results(results, args)}")
    return 0 if all(r.get("status") == "completed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
