"""Unread conversations: a reply nobody has read is counted in the top bar and in bold in
the inbox; opening the conversation reads it (the count goes); a newer reply makes it
unread again; ``POST /api/journeys/{id}/read`` does what opening does. In a real browser."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user, wait_until
from tests.web.conftest import KEY, invited, shot

pytestmark = pytest.mark.browser


def _unread(api: httpx.Client) -> int:
    return int(api.get("/api/notifications").json()["unread"])


def test_a_reply_is_unread_until_its_conversation_is_opened(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    by_slug = invited(server.url, "Unread", ("ada", "bo"))
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        ada, bo = by_slug["ada"]["id"], by_slug["bo"]["id"]
        for journey_id, text in ((ada, "Sure, tell me more."), (bo, "What does it cost?")):
            sent = api.post(f"/api/sandbox/journeys/{journey_id}/reply", json={"text": text})
            assert sent.status_code == 202, sent.text
        wait_until(lambda: _unread(api) == 2, what="two unread conversations")
        listed = api.get("/api/inbox", params={"unread": "true"}).json()
        assert {r["journey_id"]: r["unread"] for r in listed} == {ada: 1, bo: 1}

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    page.goto(f"{server.url}/inbox")
    expect(page.locator("#inbox-unread")).to_have_text("2")
    expect(page.locator(f"tr[data-journey='{ada}'] .badge-unread")).to_have_text("1 new")
    expect(page.locator("#unread-chip .count")).to_have_text("2")
    shot(page, "inbox-unread")
    # Opening Ada's conversation reads it.
    page.locator(f"tr[data-journey='{ada}'] a").first.click()
    expect(page.locator("#conversation")).to_contain_text("Sure, tell me more.")
    expect(page.locator("#inbox-unread")).to_have_text("1")
    page.goto(f"{server.url}/inbox?unread=1")
    expect(page.locator("#inbox-table tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-journey='{bo}']")).to_have_class("unread")
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        # Over the API, as opening does; a second time there is nothing left to read.
        assert api.post(f"/api/journeys/{bo}/read").json() == {"journey_id": bo, "marked": 1}
        assert api.post(f"/api/journeys/{bo}/read").json()["marked"] == 0
        assert api.post("/api/journeys/999999/read").status_code == 404
        assert _unread(api) == 0
        # A newer reply: unread again.
        api.post(f"/api/sandbox/journeys/{ada}/reply", json={"text": "Also: Tuesday?"})
        wait_until(lambda: _unread(api) == 1, what="the new reply unread")
    page.goto(f"{server.url}/inbox")
    expect(page.locator("#inbox-unread")).to_have_text("1")
    expect(page.locator(f"tr[data-journey='{ada}'] .badge-unread")).to_have_text("1 new")
    expect(page.locator(f"tr[data-journey='{bo}']")).not_to_have_class("unread")
