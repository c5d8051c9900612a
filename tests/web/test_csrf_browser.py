"""Cross-site request forgery, tried by a real browser (Debian's chromium via Playwright).

A person is logged in to the dashboard at ``http://127.0.0.1:<port>``. Pages of another
origin (``http://localhost:<other>``) and of another port of the same host
(``http://127.0.0.1:<other>``, which SameSite cookies treat as the same site) try every
kind of state change: hidden forms, a ``text/plain`` form at the API, a ``fetch`` with
credentials. Each request reaches the server and is refused; nothing changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from outreach.testing import CHROMIUM as CHROMIUM_PATH
from outreach.testing import CHROMIUM_ARGS, api_client, browser_login, ensure_user, test_settings
from outreach.web.app import create_app
from tests.loopback import serve

pytestmark = pytest.mark.browser

CHROMIUM = Path(CHROMIUM_PATH)

# Each attack: (what it is, the HTML of a page that fires it at once at {app}).
ATTACKS = {
    "launch form": """<form method="post" action="{app}/campaigns/1/launch"></form>""",
    "import form": """<form method="post" action="{app}/setup/prospects">
        <input name="campaign_id" value="1">
        <input name="csv" value="profile_url
https://www.linkedin.com/in/forged/"></form>""",
    "do-not-contact form": """<form method="post" action="{app}/do-not-contact">
        <input name="kind" value="company"><input name="value" value="Forged"></form>""",
    "new API key form": """<form method="post" action="{app}/settings/keys">
        <input name="name" value="stolen"></form>""",
    "guessed token form": """<form method="post" action="{app}/campaigns/1/launch">
        <input name="csrf_token" value="guess"></form>""",
    "logout form": """<form method="post" action="{app}/logout"></form>""",
    "text/plain at the API": """<form method="post" action="{app}/api/campaigns/1/pause"
        enctype="text/plain"><input name='{{"a":"' value='"}}'></form>""",
}
FETCH = """<script>
fetch("{app}/campaigns/1/launch", {{method: "POST", credentials: "include", mode: "no-cors",
  headers: {{"Content-Type": "application/x-www-form-urlencoded"}}, body: "x=1"}})
  .finally(() => document.title = "sent");
</script>"""
FIRE = "<script>document.forms[0].submit()</script>"


def attacker_app(app_url: str) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        name = request.query_params["attack"]
        if name == "fetch":
            return HTMLResponse(FETCH.format(app=app_url))
        return HTMLResponse(ATTACKS[name].format(app=app_url) + FIRE)

    return Starlette(routes=[Route("/", page)])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    settings = test_settings(
        f"sqlite:///{tmp_path / 'csrf.db'}", executor_id=f"csrf-{uuid.uuid4().hex[:8]}"
    )
    app = create_app(settings, workers=False)
    with serve(app, lifespan="on") as url:
        ensure_user(app.state.runtime)
        with api_client(url) as api:
            account = api.post("/api/accounts", json={"name": "Me"}).json()
            api.post("/api/campaigns", json={"name": "Draft", "account_id": account["id"]})
            rows = [{"public_identifier": "real-one", "first_name": "Ada"}]
            api.post("/api/campaigns/1/prospects", json=rows)
        yield url, app


def fire(context: Any, app_url: str, origin: str, attack: str) -> int:
    """Open the attacker's page in the logged-in browser; the status our app answered."""
    page = context.new_page()
    seen: list[int] = []
    page.on("response", lambda r: seen.append(r.status) if r.url.startswith(app_url) else None)
    page.goto(f"{origin}/?attack={quote(attack)}")
    if attack == "fetch":
        page.wait_for_function("document.title === 'sent'")
    else:
        page.wait_for_url(f"{app_url}/**")
        page.wait_for_load_state("load")
    page.close()
    return seen[0] if seen else -1


def test_no_other_origin_or_port_changes_anything(site: tuple[str, Any]) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    app_url, _ = site
    with (
        serve(attacker_app(app_url)) as evil_url,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        browser_login(page, app_url)
        port = evil_url.rsplit(":", 1)[1]
        origins = {"another port": evil_url, "another origin": f"http://localhost:{port}"}
        refused: list[tuple[str, str, int]] = []
        for where, origin in origins.items():
            for attack in [*ATTACKS, "fetch"]:
                refused.append((where, attack, fire(context, app_url, origin, attack)))
        browser.close()

    for where, attack, status in refused:
        if attack == "fetch":
            continue  # an opaque answer: the state below says it changed nothing
        assert status in (401, 403), (where, attack, status)
    with api_client(app_url) as api:
        campaign = api.get("/api/campaigns/1").json()
        assert campaign["status"] == "draft" and campaign["prospects"] == 1
        assert api.get("/api/do-not-contact").json() == []
        assert api.get("/api/keys").json() == []
        assert len(api.get("/api/campaigns").json()) == 1
