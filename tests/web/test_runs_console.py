"""The runs console in a real browser: runs in words, filtered by campaign and sender,
a run's step tree, a bulk pause by sender behind a confirmation that says how many
journeys it holds; names with markup stay text."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from outreach.testing import (
    ProviderWrapper,
    accepts_silently,
    browser_login,
    ensure_user,
    find_people,
    wait_until,
)
from tests.web.conftest import ALWAYS_OPEN, KEY, shot

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


def test_retry_a_failed_run_from_its_page(serve: Any, browser: Any) -> None:
    """A stage run that failed (its invitation's call raised once) is in the console's
    failed runs with its error; Retry, confirmed, runs the stage again: the invitation
    reaches the simulated LinkedIn exactly once, and the failed run stays in the list."""
    from dbos import error as dbos_error
    from playwright.sync_api import expect

    target: list[str] = []
    broken = threading.Event()
    broken.set()

    def before(method: str, about: str) -> None:
        if method == "send_invitation" and target and about == target[0] and broken.is_set():
            broken.clear()
            raise dbos_error.DBOSException("the engine lost its footing (a test)")

    server = serve(wrap=lambda inner: ProviderWrapper(inner, before=before))
    ensure_user(server.runtime)
    people = find_people(server.runtime, 2, accepts_silently)
    target.append(people[0].provider_id)
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        sender = api.post("/api/accounts", json=ALWAYS_OPEN | {"name": "Rita"}).json()
        campaign = api.post(
            "/api/campaigns", json={"name": "Retry", "account_id": sender["id"]}
        ).json()
        rows = [
            {"profile_url": p.profile_url, "first_name": p.first_name, "last_name": p.last_name}
            for p in people
        ]
        api.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows).raise_for_status()
        api.post(f"/api/campaigns/{campaign['id']}/launch").raise_for_status()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)

    page.goto(f"{server.url}/runs?status=ERROR")
    title = f"Send the invitation to {people[0].full_name}"
    expect(page.locator("#runs-table")).to_contain_text(title, timeout=30_000)
    page.locator("#runs-table a", has_text=title).click()
    expect(page.locator("#steps .step-bad").first).to_contain_text("lost its footing")
    shot(page, "run-failed")
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.locator("[data-command=retry]").click()
    expect(page.locator("#run-live .notice-ok")).to_contain_text("runs again")
    assert questions == ["Run this again?"]

    def invited() -> list[dict[str, Any]]:
        log = server.runtime.simulator.log()
        return [e for e in log if e["kind"] == "invitation" and e["recipient"] == target[0]]

    sent = wait_until(invited, timeout=30, what="the retried invitation")
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        failed = api.get("/api/runs", params={"status": "ERROR"}).json()
    assert [r["title"] for r in failed] == [title]  # the failed run stays, as it was
    assert len(sent) == 1 and len(invited()) == 1


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
