"""The inbox in a real browser and over the API: every prospect who replied, newest first,
what the reply means (as the classifier read it), filtered by intent, campaign and
sender; names and replies with markup stay text."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user, wait_until
from tests.web.conftest import ALWAYS_OPEN, KEY, shot

pytestmark = pytest.mark.browser

MARKUP = "<img src=x id=injected>"
SAID = {
    "stop": f"{MARKUP} Please stop messaging me.",
    "keen": "Sounds great, let's talk on Thursday.",
}


def test_the_inbox_lists_replies_by_intent(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        sender = api.post("/api/accounts", json=ALWAYS_OPEN | {"name": f"Ines {MARKUP}"}).json()
        campaign = api.post(
            "/api/campaigns", json={"name": f"Inbox {MARKUP}", "account_id": sender["id"]}
        ).json()
        rows = [
            {"profile_url": f"https://www.linkedin.com/in/{who}/", "first_name": f"{who} {MARKUP}"}
            for who in SAID
        ]
        api.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows).raise_for_status()
        api.post(f"/api/campaigns/{campaign['id']}/launch").raise_for_status()

        def reached() -> list[dict[str, Any]]:
            found = api.get(f"/api/campaigns/{campaign['id']}/journeys").json()
            return found if len(found) == 2 and all(j["invited_at"] for j in found) else []

        for journey in wait_until(reached, timeout=60, what="both invitations"):
            who = journey["public_identifier"]
            answer = api.post(
                f"/api/sandbox/journeys/{journey['id']}/reply", json={"text": SAID[who]}
            )
            assert answer.status_code == 202, answer.text

        def replied() -> list[dict[str, Any]]:
            found = api.get("/api/inbox").json()
            return found if len(found) == 2 else []

        listed = wait_until(replied, timeout=30, what="both replies in the inbox")
        assert {r["intent"] for r in listed} == {"unsubscribe", "interested"}
        assert {r["text"] for r in listed} == set(SAID.values())
        stops = api.get("/api/inbox", params={"intent": "unsubscribe"})
        assert stops.headers["x-total-count"] == "1"
        assert [r["text"] for r in stops.json()] == [SAID["stop"]]
        # "Stop" puts the person on the do-not-contact list (after the reply's commit), and
        # the inbox says so, and why.
        blocked = wait_until(
            lambda: (
                {r["intent"]: r["do_not_contact"] for r in api.get("/api/inbox").json()}
                if all(
                    r["do_not_contact"]
                    for r in api.get("/api/inbox", params={"intent": "unsubscribe"}).json()
                )
                else None
            ),
            what="the do-not-contact entry",
        )
        assert "replied" in blocked["unsubscribe"] and blocked["interested"] is None
        assert api.get("/api/inbox", params={"campaign_id": campaign["id"] + 1}).json() == []
        assert api.get("/api/inbox", params={"intent": "thrilled"}).status_code == 422
        assert api.get("/api/inbox", params={"account_id": 0}).status_code == 422

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    # The top bar's link, with its count of unread conversations.
    page.locator("nav").get_by_role("link", name=re.compile(r"^Inbox( \d+)?$")).click()
    table = page.locator("#inbox-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text(SAID["stop"])
    expect(table.locator(".dnc-why")).to_have_count(1)
    expect(table.locator(".dnc-why")).to_contain_text("do not contact")
    expect(table).to_contain_text(f"Inbox {MARKUP}")
    expect(page.locator("#intent-chips [data-intent=unsubscribe] .count")).to_have_text("1")
    assert page.locator("#injected").count() == 0
    shot(page, "inbox")
    page.locator("#intent-chips [data-intent=interested]").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(SAID["keen"])
    table.get_by_role("link", name=f"keen {MARKUP}").click()
    expect(page.locator("#timeline")).to_contain_text(SAID["keen"])
    assert page.locator("#injected").count() == 0
    page.goto(f"{server.url}/inbox?intent=thrilled")
    expect(page.locator("body")).to_contain_text("unknown intent")
