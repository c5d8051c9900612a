"""Benchmark: import 100,000 prospects over HTTP while webhooks keep arriving.

For each database (a fresh SQLite file, a fresh PostgreSQL database):

1. the app is served by uvicorn on loopback in a process of its own (`outreach serve`'s
   app: workers, sweep and all), with an API key and a webhook secret;
2. *baseline*: `POST /api/webhooks/unipile` (a `message_received` for an account we do
   not know, with the right `Unipile-Auth`) is sent every 50 ms for `--baseline`
   seconds, nothing else running;
3. *import*: 100,000 rows are posted as one CSV body to
   `POST /api/campaigns/{id}/prospects` while the same webhook is sent every 50 ms
   until the import has answered. Each webhook goes out on its tick whether or not
   the previous one has been answered, so a stalled server shows as latency, not as
   fewer samples.

Printed: the import's wall time (upload to answer) and rows per second, and the
webhook's p50, p99 and max latency during the import beside the baseline's. The CSV
has six columns, a do-not-contact list of three entries is in place, and the campaign
has the default templates, so every check of a real import runs.

    .venv/bin/python bench/import_100k.py [--rows 100000] [--only sqlite|postgres]
    .venv/bin/python bench/import_100k.py --server-src /path/to/other/checkout/src
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

PG_ADMIN = os.environ.get(
    "OUTREACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TICK = 0.05  # seconds between webhooks
KEY = "bench-key-" + uuid.uuid4().hex
SECRET = "bench-secret-" + uuid.uuid4().hex
HERE = Path(__file__).resolve().parent


def serve(url: str, port: int) -> None:
    """The child: the app on 127.0.0.1:port until killed."""
    import uvicorn

    from outreach.config import Settings
    from outreach.web.app import create_app

    settings = Settings(
        database_url=url,
        api_key=os.environ["BENCH_KEY"],
        webhook_secret=os.environ["BENCH_SECRET"],
        executor_id=f"bench-{uuid.uuid4().hex[:6]}",
        time_scale=1.0,
        log_level="WARNING",
    )
    app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def body(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["LinkedIn URL", "First Name", "Last Name", "Company", "Job Title", "Email"])
    for i in range(rows):
        writer.writerow(
            [
                f"https://www.linkedin.com/in/bench-{i:06d}/",
                f"Prénom{i}",
                "Doe",
                f"Société {i % 400}",
                "Head of Sales, EMEA",
                f"p{i}@company{i % 250}.example",
            ]
        )
    return out.getvalue().encode()


def webhook(n: int) -> dict[str, Any]:
    return {
        "event": "message_received",
        "account_id": "bench-unknown-account",
        "message_id": f"bench-{uuid.uuid4().hex}-{n}",
        "message": "hello",
        "sender": {"attendee_provider_id": "someone"},
    }


@dataclass
class Webhooks:
    """Webhooks sent on a fixed tick, each timed from its tick to its answer."""

    client: httpx.Client
    latencies: list[float]
    failures: int = 0

    def send_until(self, done: threading.Event | float) -> None:
        pool = ThreadPoolExecutor(max_workers=64)
        futures: list[Future[None]] = []
        start = time.perf_counter()
        n = 0
        while not (done.is_set() if isinstance(done, threading.Event) else n * TICK >= done):
            due = start + n * TICK
            time.sleep(max(0.0, due - time.perf_counter()))
            futures.append(pool.submit(self._one, n, due))
            n += 1
        for future in futures:
            future.result()
        pool.shutdown()

    def _one(self, n: int, due: float) -> None:
        answer = self.client.post(
            "/api/webhooks/unipile", json=webhook(n), headers={"Unipile-Auth": SECRET}
        )
        if answer.status_code >= 400:
            self.failures += 1
        self.latencies.append(time.perf_counter() - due)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(kind: str, rows: int, baseline_s: float, server_src: str | None) -> dict[str, Any]:
    url = database(kind)
    port = free_port()
    env = os.environ | {"BENCH_KEY": KEY, "BENCH_SECRET": SECRET}
    if server_src:
        env["PYTHONPATH"] = server_src
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, str(port)], env=env, cwd=HERE.parent
    )
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600, limits=limits
        ) as client:
            wait_for(client, server)
            cid = campaign(client)
            payload = body(rows)
            baseline = Webhooks(client, [])
            baseline.send_until(baseline_s)
            during = Webhooks(client, [])
            done = threading.Event()
            answer: dict[str, Any] = {}

            def upload() -> None:
                started = time.perf_counter()
                response = client.post(
                    f"/api/campaigns/{cid}/prospects",
                    content=payload,
                    headers={"content-type": "text/csv"},
                )
                answer.update(status=response.status_code, seconds=time.perf_counter() - started)
                answer.update(response.json() if response.status_code == 200 else {})
                done.set()

            uploader = threading.Thread(target=upload)
            uploader.start()
            during.send_until(done)
            uploader.join()
    finally:
        server.terminate()
        server.wait(timeout=60)
        if kind == "postgres":
            drop(url)
    return {
        "kind": kind,
        "mb": len(payload) / 1e6,
        "status": answer["status"],
        "seconds": answer["seconds"],
        "imported": answer.get("imported", 0),
        "errors": len(answer.get("errors", [])),
        "blocked": len(answer.get("blocked", [])),
        "during": during.latencies,
        "baseline": baseline.latencies,
        "failures": during.failures + baseline.failures,
    }


def wait_for(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if client.get("/api/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def campaign(client: httpx.Client) -> int:
    account = client.post("/api/accounts", json={"name": "bench"})
    assert account.status_code == 201, account.text
    made = client.post("/api/campaigns", json={"name": "bench", "account_id": account.json()["id"]})
    assert made.status_code == 201, made.text
    listed = client.post(
        "/api/do-not-contact",
        json=[
            {"kind": "company", "value": "Société 7"},
            {"kind": "domain", "value": "company3.example"},
            {"kind": "person", "value": "bench-000042"},
        ],
    )
    assert listed.status_code == 201, listed.text
    return int(made.json()["id"])


def database(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop(url: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of baseline")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--server-src", help="serve the app from this source tree instead")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    print(
        f"{args.rows:,} rows as one CSV body, a webhook every {TICK * 1000:.0f} ms "
        f"(baseline: {args.baseline:.0f} s with nothing else running)\n"
    )
    head = (
        f"{'database':<9} {'body':>7} {'import':>8} {'rows/s':>8} {'imported':>9} "
        f"{'webhook p50':>12} {'p99':>8} {'max':>8} {'baseline p50':>13} {'p99':>7} {'n':>5}"
    )
    print(head)
    for kind in [args.only] if args.only else ["sqlite", "postgres"]:
        r = run(kind, args.rows, args.baseline, args.server_src)
        during, baseline = r["during"], r["baseline"]
        imported = f"{r['imported']:,}" if r["status"] == 200 else f"HTTP {r['status']}"
        print(
            f"{kind:<9} {r['mb']:>5.1f}MB {r['seconds']:>7.1f}s {args.rows / r['seconds']:>8,.0f} "
            f"{imported:>9} {ms(statistics.median(during)):>12} {ms(percentile(during, 99)):>8} "
            f"{ms(max(during)):>8} {ms(statistics.median(baseline)):>13} "
            f"{ms(percentile(baseline, 99)):>7} {len(during):>5}"
        )
        if r["failures"] or r["errors"]:
            print(f"  {r['failures']} webhooks failed; {r['errors']} rows reported as errors")
    print(
        "\nimport: from the first byte sent to the answer (reading, checking, inserting);"
        "\nwebhook: from its 50 ms tick to its answer, while the import runs (n of them), and"
        "\nwith nothing else running (baseline). The blocked rows (about 700) are the"
        "\ndo-not-contact list at work."
    )


if __name__ == "__main__":
    main()
