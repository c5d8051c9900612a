"""The accounts page in a real browser: caps and usage as meters, health in words, the
edit form with its time-zone picker, a bad edit refused with what was typed kept, pause
and resume. A sender's name with markup stays text."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user
from tests.web.conftest import KEY, shot

pytestmark = pytest.mark.browser

MARKUP = "<img src=x id=injected>"


def test_see_edit_pause_and_resume_a_sender(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        made = api.post("/api/accounts", json={"name": f"Sam {MARKUP}", "daily_invite_cap": 20})
        assert made.status_code == 201, made.text
        account_id = made.json()["id"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)

    page.get_by_role("link", name="Accounts", exact=True).click()
    card = page.locator(f"[data-account='{account_id}']")
    expect(card.locator("h2")).to_contain_text(f"Sam {MARKUP}")
    assert page.locator("#injected").count() == 0
    expect(card.locator("[data-health]")).to_contain_text("Active")
    # Compressed time: the warm-up climbs a step every simulated day, live.
    warming = re.compile(r"Warming up: \d+ invitations a day today, rising to 20")
    expect(card.locator("[data-health]")).to_contain_text(warming)
    expect(card.locator("[data-meter=invitations-today] .mono")).to_have_text(
        re.compile(r"0 / \d+")
    )
    expect(card.locator("[data-meter=messages-week] .mono")).to_have_text("0 / 400")
    shot(page, "accounts")

    card.get_by_role("link", name="Edit").click()
    expect(page.locator("h1")).to_contain_text("Sam")
    page.locator("#timezone").select_option("Europe/Paris")
    page.locator("input[name=daily_invite_cap]").fill("30")
    page.locator("input[name=warmup_days]").fill("0")
    page.locator("input[name=work_end]").fill("08:00")  # before 09:00: refused
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice-error")).to_contain_text("work_start must be before work_end")
    expect(page.locator("input[name=daily_invite_cap]")).to_have_value("30")
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        assert api.get(f"/api/accounts/{account_id}").json()["daily_invite_cap"] == 20
    expect(page.locator("#timezone")).to_have_value("Europe/Paris")
    page.locator("input[name=work_end]").fill("17:30")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice-ok")).to_contain_text("Saved")
    shot(page, "account-edit")
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        saved = api.get(f"/api/accounts/{account_id}").json()
    assert (saved["timezone"], saved["daily_invite_cap"], saved["work_end"]) == (
        "Europe/Paris",
        30,
        "17:30",
    )
    expect(page.locator("[data-health]")).to_have_text(
        "Active: it sends within its working hours, at its pace."
    )

    page.get_by_role("link", name="Sender accounts").click()
    card.locator("[data-command=pause]").click()
    expect(card.locator("[data-health]")).to_contain_text("Paused by a person")
    expect(card.locator("[data-meter=invitations-today] .mono")).to_have_text("0 / 30")
    # The notification area says so, live, on every page.
    expect(page.locator("#notice-badge [data-count]")).to_have_text("1")
    page.locator("#notice-badge").click()
    expect(page.locator("ul.notices[data-kind=sender]")).to_contain_text(f"Sam {MARKUP} is paused")
    assert page.locator("#injected").count() == 0
    shot(page, "notifications")
    page.goto(f"{server.url}/accounts")
    card.locator("[data-command=resume]").click()
    expect(card.locator("[data-health]")).to_contain_text("Active")
    expect(page.locator("#notice-badge [data-count]")).to_have_text("0")


def test_an_edit_of_a_missing_sender_is_a_clear_404(serve: Any, browser: Any) -> None:
    server = serve()
    ensure_user(server.runtime)
    page = browser.new_page()
    browser_login(page, server.url)
    answer = page.goto(f"{server.url}/accounts/4242")
    assert answer is not None and answer.status == 404
    assert "no account 4242" in page.content() or "4242" in page.content()
