"""Webhook intake on PostgreSQL: deliveries answered per second with 32 in flight.

``outreach serve`` runs on a fresh PostgreSQL database (the simulator, no campaign), with
one sender whose external id the deliveries name. 32 keep-alive connections over loopback
post Unipile ``message_received`` deliveries, 10 % of them a second delivery of a message
already sent; each answer comes once its delivery is committed. Beside it, in the same
run and on the same server, the same number of ``GET /healthz`` at 32 in flight: what
the HTTP stack answers with no work at all, the baseline. Three repetitions, each with
new message ids; then the time until every delivery is processed, and the checks: every
answer 200, each unique message stored once in ``webhook_deliveries`` and once in
``inbound_messages``, each duplicate kept as ``duplicate``.

The client is a few lines of asyncio over raw sockets (pre-built requests, one
connection each), so that it costs the server's two cores as little as it can.

    .venv/bin/python bench/webhooks.py                     # 10,000 deliveries, 3 repetitions
    .venv/bin/python bench/webhooks.py --deliveries 20000 --in-flight 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
SECRET = "bench-webhook-secret"
ACCOUNT = "bench-account"
console = Console(width=120)


@dataclass(frozen=True)
class Burst:
    seconds: float
    answers: Counter[str]

    def rate(self, count: int) -> float:
        return count / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def delivery(message_id: str, sender: str) -> bytes:
    """A ``message_received`` shaped like Unipile's (unipile-api.md §4.3)."""
    return json.dumps(
        {
            "event": "message_received",
            "account_id": ACCOUNT,
            "account_type": "LINKEDIN",
            "account_info": {"type": "LINKEDIN", "user_id": "ACoAAbench"},
            "chat_id": f"chat-{sender}",
            "message_id": message_id,
            "message": "Thanks, happy to talk next week",
            "timestamp": datetime.now(UTC).isoformat(),
            "sender": {"attendee_provider_id": sender, "attendee_name": "Someone"},
            "is_sender": False,
        }
    ).encode()


def post(port: int, body: bytes) -> bytes:
    return (
        f"POST /api/webhooks/unipile HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Unipile-Auth: {SECRET}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def get_healthz(port: int) -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


async def _connection(
    port: int, requests: list[bytes], answers: Counter[str], progress: Progress, task: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1].decode()
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            outcome = json.loads(body).get("outcome", "") if body.startswith(b"{") else ""
            answers[f"{status} {outcome}".strip()] += 1
            progress.advance(task)
    finally:
        writer.close()


async def _burst(port: int, requests: list[bytes], in_flight: int, label: str) -> Burst:
    answers: Counter[str] = Counter()
    shares = [requests[i::in_flight] for i in range(in_flight)]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=len(requests))
        started = time.perf_counter()
        await asyncio.gather(
            *(_connection(port, share, answers, progress, task) for share in shares if share)
        )
        seconds = time.perf_counter() - started
    return Burst(seconds, answers)


def burst(port: int, requests: list[bytes], in_flight: int, label: str) -> Burst:
    return asyncio.run(_burst(port, requests, in_flight, label))


def wait_until_up(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"outreach serve exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(get_healthz(port))
                if b"200 OK" in sock.recv(1024):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("outreach serve did not answer within 90 s")


def add_sender(engine: sa.Engine) -> None:
    """The sender the deliveries name (the server has migrated the database)."""
    from outreach.models import Account

    with engine.begin() as conn:
        conn.execute(
            sa.insert(Account).values(
                name="Bench sender",
                provider="unipile",
                external_id=ACCOUNT,
                created_at=datetime.now(UTC),
            )
        )


def settle(engine: sa.Engine, timeout: float) -> float:
    """Seconds until no delivery is left to process."""
    started = time.perf_counter()
    while True:
        with engine.connect() as conn:
            left = conn.execute(
                sa.text("SELECT count(*) FROM webhook_deliveries WHERE outcome = 'received'")
            ).scalar_one()
        if left == 0:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{left} deliveries still to process after {timeout} s")
        time.sleep(0.05)


def check(engine: sa.Engine, prefix: str, unique: int, duplicates: int) -> list[str]:
    """What is wrong with what was stored for this repetition's messages (nothing: [])."""
    like = f"message_received:{prefix}-%"
    with engine.connect() as conn:
        keyed = conn.execute(
            sa.text(
                "SELECT count(*), count(DISTINCT dedupe_key) FROM webhook_deliveries "
                "WHERE dedupe_key LIKE :like"
            ),
            {"like": like},
        ).one()
        kept_twice = conn.execute(
            sa.text(
                "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'duplicate' "
                "AND payload LIKE :like"
            ),
            {"like": f'%"message_id": "{prefix}-%'},
        ).scalar_one()
        inbound = conn.execute(
            sa.text(
                "SELECT count(*), count(DISTINCT message_id) FROM inbound_messages "
                "WHERE message_id LIKE :like"
            ),
            {"like": f"{prefix}-%"},
        ).one()
        outcomes = dict(
            conn.execute(
                sa.text(
                    "SELECT outcome, count(*) FROM webhook_deliveries "
                    "WHERE dedupe_key LIKE :like GROUP BY outcome"
                ),
                {"like": like},
            ).all()
        )
    wrong = []
    if tuple(keyed) != (unique, unique):
        wrong.append(f"webhook_deliveries: {tuple(keyed)} rows/distinct, expected {unique}")
    if kept_twice != duplicates:
        wrong.append(f"{kept_twice} kept as duplicate, expected {duplicates}")
    if tuple(inbound) != (unique, unique):
        wrong.append(f"inbound_messages: {tuple(inbound)} rows/distinct, expected {unique}")
    if set(outcomes) - {"ignored", "processed"}:
        wrong.append(f"outcomes of the unique deliveries: {outcomes}")
    return wrong


@dataclass(frozen=True)
class Row:
    bare: Burst
    intake: Burst
    processed: float  # seconds from the last answer until every delivery is processed


def repetition(
    port: int, engine: sa.Engine, args: argparse.Namespace, index: int
) -> tuple[Row, list[str]]:
    rng = random.Random(index)
    prefix = f"r{index}-{os.urandom(3).hex()}"
    unique = round(args.deliveries * (1 - args.duplicates))
    ids = [f"{prefix}-{n}" for n in range(unique)]
    again = [rng.choice(ids) for _ in range(args.deliveries - unique)]
    bodies = [delivery(mid, f"ACoAA{mid}") for mid in ids + again]
    order = list(range(len(bodies)))
    rng.shuffle(order)
    requests = [post(port, bodies[i]) for i in order]
    bare = burst(port, [get_healthz(port)] * len(requests), args.in_flight, "GET /healthz")
    intake = burst(port, requests, args.in_flight, "POST deliveries")

    processed = settle(engine, args.timeout)
    wrong = check(engine, prefix, unique, len(again))
    expected = Counter({"200 accepted": unique, "200 duplicate": len(again)})
    if intake.answers != expected:
        wrong.append(f"answers {dict(intake.answers)}, expected {dict(expected)}")
    return Row(bare, intake, processed), wrong


def spread(values: list[float], digits: int = 0) -> str:
    return " / ".join(
        f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )


MODES = {
    "one process": (["serve"],),
    "serve --no-workers + 1 worker": (["serve", "--no-workers"], ["worker"]),
}


def run_mode(mode: str, args: argparse.Namespace, logs: Path) -> tuple[list[Row], list[str]]:
    """Start the processes of ``mode`` on a fresh database and run the repetitions."""
    url = create_database()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "UNIPILE_"))}
    env |= {
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_PORT": str(port),
        "OUTREACH_WEBHOOK_SECRET": SECRET,
        "OUTREACH_API_KEY": "bench-api-key-of-twenty-chars",
    }
    procs: list[subprocess.Popen[bytes]] = []
    engine = sa.create_engine(url)
    rows: list[Row] = []
    failures: list[str] = []
    try:
        for n, argv in enumerate(MODES[mode]):
            log = (logs / f"{mode.split()[0]}-{argv[0]}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [str(BIN / "outreach"), *argv],
                    env=env | {"OUTREACH_EXECUTOR_ID": f"bench-webhooks-{n}"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            if n == 0:
                wait_until_up(port, procs[0])
                add_sender(engine)
        burst(port, [get_healthz(port)] * 500, args.in_flight, "warm-up")
        for index in range(args.repeat):
            row, wrong = repetition(port, engine, args, index)
            rows.append(row)
            failures += [f"{mode}, repetition {index + 1}: {w}" for w in wrong]
            console.print(
                f"{mode}, repetition {index + 1}: "
                f"intake {row.intake.rate(args.deliveries):.0f}/s, "
                f"healthz {row.bare.rate(args.deliveries):.0f}/s, "
                f"all processed {row.processed:.1f} s after the last answer"
            )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        engine.dispose()
        drop_database(url)
    return rows, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--duplicates", type=float, default=0.10)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--only", choices=sorted(MODES), help="one set-up only")
    args = parser.parse_args()

    logs = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    n = args.deliveries
    table = Table(
        title=f"Webhook intake, PostgreSQL, {n:,} deliveries ({args.duplicates:.0%} duplicates), "
        f"{args.in_flight} in flight, {os.cpu_count()} cores (min / median / max of "
        f"{args.repeat})"
    )
    for column in ("set-up", "GET /healthz /s", "deliveries /s", "vs healthz", "processed /s"):
        table.add_column(column, justify="right")
    failures: list[str] = []
    for mode in [args.only] if args.only else list(MODES):
        rows, wrong = run_mode(mode, args, logs)
        failures += wrong
        bare = [r.bare.rate(n) for r in rows]
        intake = [r.intake.rate(n) for r in rows]
        table.add_row(
            mode,
            spread(bare),
            spread(intake),
            spread([i / b for i, b in zip(intake, bare, strict=True)], 2),
            spread([n / (r.intake.seconds + r.processed) for r in rows]),
        )
    console.print(table)
    console.print(f"logs: {logs}")
    for failure in failures:
        console.print(f"[red]FAILED[/red] {failure}")
    if not failures:
        console.print("every answer 200; every unique delivery stored once, each duplicate kept")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
