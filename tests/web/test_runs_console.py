"""The runs console in a real browser: runs in words, filtered by campaign and sender,
a run's step tree, a bulk pause by sender behind a confirmation that says how many
journeys it holds; names with markup stay text."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user
from tests.web.conftest import KEY, shot

pytestmark = pytest.mark.browser

MARKUP = "<img src=x id=injected>"


def test_runs_in_words_filters_steps_and_bulk_pause(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        sender = api.post(
            "/api/accounts",
            json={
                "name": "Sam",
                "work_start": "00:00",
                "work_end": "23:59",
                "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "warmup_days": 0,
            },
        ).json()
        campaign = api.post(
            "/api/campaigns", json={"name": f"Runs {MARKUP}", "account_id": sender["id"]}
        ).json()
        rows = [
            {"profile_url": f"https://www.linkedin.com/in/run-{i}/", "first_name": f"Run{i}"}
            for i in range(4)
        ]
        api.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows).raise_for_status()
        api.post(f"/api/campaigns/{campaign['id']}/launch").raise_for_status()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)

    page.get_by_role("link", name="Runs", exact=True).click()
    page.locator("select[name=campaign]").select_option(str(campaign["id"]))
    page.get_by_role("button", name="Filter").click()
    table = page.locator("#runs-table")
    expect(table).to_contain_text("Send the invitation to Run0", timeout=30_000)
    expect(table).to_contain_text(f"Runs {MARKUP}")
    expect(table).to_contain_text("Schedule the pending prospects of")
    assert page.locator("#injected").count() == 0
    expect(page.locator("[data-bulk=pause]")).to_have_text("Pause (4)")
    shot(page, "runs-console")

    page.locator("#runs-table a", has_text="Send the invitation to Run0").click()
    expect(page.locator("#steps .step-ok").first).to_be_visible()
    expect(page.locator("#run-live")).to_contain_text("Sam")
    shot(page, "run-steps")

    page.goto(f"{server.url}/runs?sender={sender['id']}")
    pause = page.locator("[data-bulk=pause]")
    expect(pause).to_contain_text("Pause (")
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    pause.click()
    expect(page.locator("#bulk-area .notice-ok")).to_contain_text("journeys held")
    assert "waiting journeys are held until it is resumed" in questions[0]
    assert "sender “Sam”" in questions[0]
    page.get_by_role("link", name="Accounts", exact=True).click()
    expect(page.locator("[data-health]")).to_contain_text("Paused by a person")


def test_bad_run_filters_and_missing_runs_are_clear_4xx(serve: Any) -> None:
    server = serve()
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        assert api.get("/api/runs", params={"status": "NOPE"}).status_code == 422
        assert api.get("/api/runs", params={"since": "1y"}).status_code == 422
        assert api.get("/api/runs", params={"campaign_id": 0}).status_code == 422
        assert api.get("/api/runs/nope").status_code == 404
        assert api.post("/api/runs/nope/retry").status_code == 404
        assert api.post("/api/runs/bulk", json={"action": "cancel"}).status_code == 422
        assert (
            api.post("/api/runs/bulk", json={"action": "explode", "sender_id": 1}).status_code
            == 422
        )
