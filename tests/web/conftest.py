"""Fixtures of the dashboard's tests: the real app under uvicorn, Debian's chromium."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from outreach.config import Settings
from outreach.linkedin.provider import LinkedInProvider
from outreach.runtime import Runtime
from outreach.testing import CHROMIUM as CHROMIUM_PATH
from outreach.testing import CHROMIUM_ARGS, wrapped_sandbox
from outreach.web.app import create_app

CHROMIUM = Path(CHROMIUM_PATH)
API_KEY = "correct horse battery staple"
KEY = {"Authorization": f"Bearer {API_KEY}"}
# A sender that works around the clock, every day, at once (no warm-up): as JSON.
ALWAYS_OPEN = {
    "work_start": "00:00",
    "work_end": "23:59",
    "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "warmup_days": 0,
}
SHOTS = Path("/tmp/outreach-shots")  # screenshots of every page, for a person to look at


@dataclass
class Server:
    url: str
    app: Any

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.app.state.runtime
        return rt


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start the real app under uvicorn in a thread; stopped at teardown."""
    started: list[tuple[uvicorn.Server, threading.Thread]] = []
    stack = ExitStack()

    def start(
        wrap: Callable[[LinkedInProvider], LinkedInProvider] | None = None, **overrides: Any
    ) -> Server:
        """``wrap``: the simulator is behind this provider (``testing.ProviderWrapper``)."""
        defaults: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'outreach.db'}",
            "time_scale": 86400,
            "sandbox_error_rate": 0,
            "sandbox_accept_rate": 1.0,
            "sandbox_reply_rate": 0.0,
            "sandbox_accept_delay_hours": (1.0, 12.0),
            "executor_id": f"dashboard-test-{uuid.uuid4().hex[:8]}",
            "api_key": API_KEY,
        }
        settings = Settings(**(defaults | overrides))
        options = stack.enter_context(wrapped_sandbox(settings, wrap)) if wrap else {}
        app = create_app(settings, **options)
        port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="dashboard-uvicorn", daemon=True)
        thread.start()
        started.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the app did not start (see the log above)")
            time.sleep(0.05)
        return Server(f"http://127.0.0.1:{port}", app)

    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(timeout=20)
    stack.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def invited(url: str, campaign: str, slugs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """A sender always open, a launched campaign to ``slugs``, once each is invited: their
    journeys by slug (the campaign's id in each as ``campaign_id``)."""
    import httpx

    from outreach.testing import wait_until

    with httpx.Client(base_url=url, headers=KEY, timeout=30) as api:
        sender = api.post("/api/accounts", json=ALWAYS_OPEN | {"name": "Noor"}).json()
        created = api.post("/api/campaigns", json={"name": campaign, "account_id": sender["id"]})
        campaign_id = created.json()["id"]
        rows = [
            {"profile_url": f"https://www.linkedin.com/in/{who}/", "first_name": who.title()}
            for who in slugs
        ]
        api.post(f"/api/campaigns/{campaign_id}/prospects", json=rows).raise_for_status()
        api.post(f"/api/campaigns/{campaign_id}/launch").raise_for_status()

        def reached() -> list[dict[str, Any]]:
            found = api.get(f"/api/campaigns/{campaign_id}/journeys").json()
            return found if len(found) == len(slugs) and all(j["invited_at"] for j in found) else []

        return {j["public_identifier"]: j for j in wait_until(reached, what="invitations")}
