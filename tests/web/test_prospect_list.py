"""The campaign's prospect list in a real browser: search, state chips, sorting, pages,
stop / remove / do-not-contact per prospect, the CSV export; names with markup stay text."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user
from tests.web.conftest import KEY, shot

pytestmark = pytest.mark.browser

MARKUP = "<img src=x id=injected>"
PEOPLE = 130  # more than a page (100)


def _setup(url: str) -> tuple[int, int]:
    with httpx.Client(base_url=url, headers=KEY, timeout=30) as api:
        account = api.post("/api/accounts", json={"name": "Sam"}).json()
        campaign = api.post(
            "/api/campaigns", json={"name": "Listing", "account_id": account["id"]}
        ).json()
        rows = [
            {
                "profile_url": f"https://www.linkedin.com/in/person-{i:03d}/",
                "first_name": f"Person{i:03d}",
                "last_name": "Doe",
                "company": "Initech" if i % 10 == 0 else "Globex",
            }
            for i in range(PEOPLE)
        ]
        rows[7] |= {"first_name": MARKUP, "company": '=HYPERLINK("http://x")'}
        imported = api.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows).json()
        assert imported["imported"] == PEOPLE, imported
    return account["id"], campaign["id"]


def test_search_sort_page_and_act_on_prospects(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    _, campaign_id = _setup(server.url)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    page.goto(f"{server.url}/campaigns/{campaign_id}")

    rows = page.locator("#journeys-table tbody tr")
    expect(rows).to_have_count(100)
    expect(page.locator("#journeys .pager")).to_contain_text("130 prospects · page 1 of 2")
    expect(page.locator(".chip[data-state=pending]")).to_contain_text("130")
    assert page.locator("#injected").count() == 0
    expect(page.locator("#journeys-table")).to_contain_text(MARKUP)

    # Search as one types: the URL follows, and the 2-second poll keeps the search.
    page.locator("#prospect-search").fill("initech")
    expect(rows).to_have_count(13)
    expect(page).to_have_url(f"{server.url}/campaigns/{campaign_id}?q=initech")
    page.wait_for_timeout(2_500)
    expect(rows).to_have_count(13)
    shot(page, "campaign-prospects-search")

    # Sort by name, descending, then page.
    page.locator("#prospect-search").fill("")
    expect(rows).to_have_count(100)
    page.locator("th a.sort", has_text="Prospect").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Prospect")
    page.locator("th a.sort", has_text="Prospect").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Prospect")
    expect(rows.first).to_contain_text("Person129")
    page.locator("#journeys .pager a", has_text="next").click()
    expect(rows).to_have_count(30)
    expect(page.locator("#journeys .pager")).to_contain_text("page 2 of 2")

    # Remove one before launch (after a confirmation), then launch.
    page.goto(f"{server.url}/campaigns/{campaign_id}?q=person005")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr[data-prospect] [data-action=remove]").click()
    expect(page.locator("#journeys .notice-ok")).to_contain_text("removed from the campaign")
    expect(page.locator("#journeys .empty")).to_contain_text("No prospect matches")

    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        launched = api.post("/api/campaigns/linkedin/execute", json={"campaign_id": campaign_id})
        assert launched.status_code == 202
        listed = api.get(f"/api/campaigns/{campaign_id}/prospects", params={"state": "pending"})
        assert listed.headers["X-Total-Count"] in {"0", "129"}  # the launch may still run

    page.goto(f"{server.url}/campaigns/{campaign_id}?q=person009")
    expect(page.locator("tr[data-journey]")).to_have_count(1, timeout=30_000)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr[data-journey] [data-action=stop]").click()
    expect(page.locator("#journeys .notice-ok")).to_contain_text("journey stopped")
    expect(page.locator("tr[data-journey]")).to_contain_text("stopped")
    expect(page.locator("tr[data-journey] [data-action=stop]")).to_have_count(0)

    # A waiting journey says what it waits for, until when, and why.
    page.goto(f"{server.url}/campaigns/{campaign_id}?q=person012")
    page.locator("#journeys-table tbody a").first.click()
    wait = page.locator("#wait-line")
    expect(wait).to_contain_text("Waiting to")
    expect(wait.locator(".wait-why")).to_contain_text("Why: ")
    shot(page, "journey-wait-line")

    page.goto(f"{server.url}/campaigns/{campaign_id}?q=person011")
    expect(page.locator("tr[data-journey]")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr[data-journey] [data-action=do-not-contact]").click()
    expect(page.locator("#journeys .notice-ok")).to_contain_text("is on the do-not-contact list")
    expect(page.locator("tr[data-journey]")).to_contain_text("failed")
    shot(page, "campaign-prospects-actions")

    # The export: every prospect still in the campaign, formulas neutralised.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    exported = httpx.get(f"{server.url}/campaigns/{campaign_id}/prospects.csv", cookies=cookies)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == PEOPLE - 1
    by_id = {r["public_identifier"]: r for r in table}
    assert by_id["person-007"]["company"] == '\'=HYPERLINK("http://x")'
    assert by_id["person-009"]["status"] == "stopped"
    assert "person-005" not in by_id


def test_bad_list_parameters_get_a_clear_answer(serve: Any) -> None:
    server = serve()
    _, campaign_id = _setup(server.url)
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        bad = api.get(f"/api/campaigns/{campaign_id}/prospects", params={"state": "nope"})
        assert bad.status_code == 422
        assert (
            api.get(f"/api/campaigns/{campaign_id}/prospects", params={"sort": "x"}).status_code
            == 422
        )
        assert api.get("/api/campaigns/999/prospects").status_code == 404
        page = api.get(
            f"/api/campaigns/{campaign_id}/prospects",
            params={"q": "initech", "sort": "name", "order": "desc", "limit": 5},
        )
        assert page.status_code == 200 and page.headers["X-Total-Count"] == "13"
        assert page.json()[0]["first_name"] == "Person120"
        pid = page.json()[0]["id"]
        assert api.post(f"/api/campaigns/{campaign_id}/prospects/{pid}/stop").status_code == 409
        assert api.post(f"/api/campaigns/{campaign_id}/prospects/99999/stop").status_code == 404
        assert api.delete(f"/api/campaigns/{campaign_id}/prospects/{pid}").status_code == 204
        assert api.get(f"/api/campaigns/{campaign_id}/prospects/{pid}").status_code == 404
        # Every list route says how many match in all.
        assert api.get("/api/campaigns").headers["X-Total-Count"] == "1"
        assert api.get("/api/accounts").headers["X-Total-Count"] == "1"
        assert api.get(f"/api/campaigns/{campaign_id}/journeys").headers["X-Total-Count"] == "0"
        api.post("/api/do-not-contact", json=[{"kind": "company", "value": "Initech"}])
        listed = api.get("/api/do-not-contact", params={"limit": 1})
        assert listed.headers["X-Total-Count"] == "1" and len(listed.json()) == 1
        export = api.get(f"/api/campaigns/{campaign_id}/prospects.csv")
        assert export.status_code == 200 and export.text.count("\n") == PEOPLE  # header + 129
