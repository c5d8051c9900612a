"""Screenshots of every dashboard page, from a seeded demo database, into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py            # needs Debian's chromium

It starts the real app (simulator, a fresh SQLite file, time compressed) on a free
loopback port, seeds it through the JSON API as a user would (two senders, two campaigns,
prospects, a launch, a paused sender, a do-not-contact entry), lets a few simulated weeks
pass, then drives chromium through every page and saves one PNG per page.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from outreach.config import Settings  # noqa: E402
from outreach.testing import CHROMIUM, CHROMIUM_ARGS, browser_login, ensure_user  # noqa: E402
from outreach.web.app import create_app  # noqa: E402
from tests.loopback import free_socket, url_of  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
KEY = "screenshots-" + uuid.uuid4().hex
ALWAYS = {
    "work_start": "00:00",
    "work_end": "23:59",
    "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "warmup_days": 0,
}
PEOPLE = [
    ("Ada", "Lovelace", "Analytical Engines"),
    ("Grace", "Hopper", "US Navy"),
    ("Alan", "Turing", "Bletchley Park"),
    ("Edsger", "Dijkstra", "TU Eindhoven"),
    ("Barbara", "Liskov", "MIT"),
    ("Donald", "Knuth", "Stanford"),
    ("Margaret", "Hamilton", "NASA"),
    ("Ken", "Thompson", "Bell Labs"),
    ("Frances", "Allen", "IBM"),
    ("John", "Backus", "IBM"),
    ("Radia", "Perlman", "DEC"),
    ("Leslie", "Lamport", "Microsoft"),
]


def _seed(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as api:
        paris = api.post(
            "/api/accounts", json={"name": "Camille (Paris)", "timezone": "Europe/Paris", **ALWAYS}
        ).json()
        ny = api.post(
            "/api/accounts",
            json={"name": "Jordan (New York)", "timezone": "America/New_York", **ALWAYS},
        ).json()
        founders = api.post(
            "/api/campaigns", json={"name": "Q1 founders", "account_id": paris["id"]}
        ).json()
        cto = api.post(
            "/api/campaigns", json={"name": "CTOs in fintech", "account_id": ny["id"]}
        ).json()
        rows = [
            {
                "profile_url": f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}/",
                "first_name": first,
                "last_name": last,
                "company": company,
            }
            for first, last, company in PEOPLE
        ]
        api.post(f"/api/campaigns/{founders['id']}/prospects", json=rows[:8]).raise_for_status()
        more = [r | {"profile_url": r["profile_url"].replace("/in/", "/in/cto-")} for r in rows]
        api.post(f"/api/campaigns/{cto['id']}/prospects", json=more).raise_for_status()
        api.post(f"/api/campaigns/{founders['id']}/launch").raise_for_status()
        api.post(f"/api/campaigns/{cto['id']}/launch").raise_for_status()
        api.post(
            "/api/do-not-contact",
            json=[{"kind": "company", "value": "Initech", "reason": "a customer"}],
        )
        time.sleep(3)  # about ten simulated days at the scale below
        api.post(f"/api/accounts/{ny['id']}/pause").raise_for_status()
        journeys = api.get(f"/api/campaigns/{founders['id']}/journeys").json()
        runs = api.get("/api/runs", params={"campaign_id": founders["id"], "limit": 50}).json()

        def replied() -> list[dict[str, Any]]:
            return [
                j
                for c in (founders, cto)
                for j in api.get(f"/api/campaigns/{c['id']}/journeys").json()
                if j["replied_at"]
            ]

        for _ in range(40):  # the first reply comes a few simulated weeks in
            if found := replied():
                break
            time.sleep(0.5)
        replied_ = found
        if replied_:  # a person reads the first reply as interested: the funnel's positive step
            api.post(
                f"/api/journeys/{replied_[0]['id']}/reply-intent", json={"intent": "interested"}
            ).raise_for_status()
    stage = next((r for r in runs if r["journey_id"]), runs[0])
    return {
        "campaign": founders["id"],
        "journey": journeys[0]["id"],
        "replied": replied_[0]["id"] if replied_ else None,
        "account": paris["id"],
        "run": stage["workflow_id"],
    }


def main() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit(f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite:///{folder}/demo.db",
            api_key=KEY,
            time_scale=259_200,  # three simulated days a second
            sandbox_error_rate=0.05,
            log_level="ERROR",
            executor_id=f"screens-{uuid.uuid4().hex[:8]}",
        )
        app = create_app(settings)
        sock = free_socket()
        url = url_of(sock)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            ensure_user(app.state.runtime)
            ids = _seed(url)
            pages = {
                "overview": "/",
                "campaign": f"/campaigns/{ids['campaign']}",
                "sequence-editor": f"/campaigns/{ids['campaign']}/sequence",
                "journey": f"/journeys/{ids['journey']}",
                **({"journey-replied": f"/journeys/{ids['replied']}"} if ids["replied"] else {}),
                "runs": f"/runs?campaign={ids['campaign']}",
                "run": f"/runs/{ids['run']}",
                "accounts": "/accounts",
                "account-edit": f"/accounts/{ids['account']}",
                "analytics": "/analytics",
                "inbox": "/inbox",
                "notifications": "/notifications",
                "errors": "/errors",
                "do-not-contact": "/do-not-contact",
                "settings": "/settings",
            }
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                browser_login(page, url)
                for name, path in pages.items():
                    page.goto(url + path)
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(600)  # the parts loaded after the page (forecast, charts)
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                    print(f"docs/screenshots/{name}.png")
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=20)


if __name__ == "__main__":
    main()
