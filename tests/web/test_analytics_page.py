"""Analytics in a real browser: the campaign's funnel moving with compressed time, its
daily chart drawn by the shipped uPlot (no network), the campaigns compared."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user, wait_until
from tests.web.conftest import ALWAYS_OPEN, KEY, shot

pytestmark = pytest.mark.browser

MARKUP = "<img src=x id=injected>"


def test_funnel_chart_and_comparison(serve: Any, browser: Any) -> None:
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
            "/api/campaigns", json={"name": f"Charts {MARKUP}", "account_id": sender["id"]}
        ).json()
        rows = [{"profile_url": f"https://www.linkedin.com/in/chart-{i}/"} for i in range(5)]
        api.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows).raise_for_status()
        api.post(f"/api/campaigns/{campaign['id']}/launch").raise_for_status()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None,
    )
    browser_login(page, server.url)

    page.goto(f"{server.url}/campaigns/{campaign['id']}")
    invited = page.locator("#analytics [data-step=invited] [data-value]")
    expect(invited).to_have_text("5", timeout=30_000)
    expect(page.locator("#analytics [data-step=accepted]")).to_contain_text(re.compile(r"\d+ %"))
    expect(page.locator("#campaign-chart canvas")).to_have_count(1)
    expect(page.locator("#campaign-chart .u-legend")).to_contain_text("Invitations")
    shot(page, "campaign-analytics")

    page.get_by_role("link", name="Analytics", exact=True).click()
    row = page.locator(f"#compare tr[data-campaign='{campaign['id']}']")
    expect(row).to_contain_text(f"Charts {MARKUP}")
    expect(row.locator("td").nth(3)).to_have_text("5")
    expect(page.locator("#all-chart canvas")).to_have_count(1)
    expect(page.locator("#sender-funnels")).to_contain_text("Sam")
    assert page.locator("#injected").count() == 0
    shot(page, "analytics")
    assert outside == [], f"the page reached outside: {outside}"

    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        assert (
            api.get(f"/api/campaigns/{campaign['id']}/analytics").json()["funnel"]["invited"] == 5
        )
        assert api.get("/api/campaigns/999/analytics").status_code == 404
        assert api.get(f"/api/accounts/{sender['id']}/analytics").status_code == 200


def test_a_reply_marked_interested_on_its_page_is_positive(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve(sandbox_reply_rate=1.0)
    ensure_user(server.runtime)
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        sender = api.post("/api/accounts", json=ALWAYS_OPEN | {"name": "Ria"}).json()
        campaign = api.post(
            "/api/campaigns", json={"name": "Replies", "account_id": sender["id"]}
        ).json()
        rows = [{"profile_url": f"https://www.linkedin.com/in/answer-{i}/"} for i in range(2)]
        api.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows).raise_for_status()
        api.post(f"/api/campaigns/{campaign['id']}/launch").raise_for_status()

        def replied() -> list[dict[str, Any]]:
            found = api.get(f"/api/campaigns/{campaign['id']}/journeys").json()
            both = [j for j in found if j["replied_at"]]
            return both if len(both) == 2 else []

        journey = wait_until(replied, timeout=60, what="both replies")[0]
        # Each reply was classified on arrival; the person's mark moves the positive count.
        before = api.get(f"/api/campaigns/{campaign['id']}/analytics").json()["funnel"]
        said = "question" if journey["reply_intent"] == "interested" else "interested"
        after = before["positive"] + (1 if said == "interested" else -1)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    page.goto(f"{server.url}/journeys/{journey['id']}")
    mark = page.locator("#reply-mark")
    mark.locator("select[name=intent]").select_option(said)
    mark.get_by_role("button", name="Save").click()
    expect(page.locator(f"#journey-live .badge-{said}")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("reply marked")
    expect(mark.locator("select[name=intent]")).to_have_value(said)
    shot(page, "journey-reply-marked")
    page.goto(f"{server.url}/campaigns/{campaign['id']}")
    expect(page.locator("#analytics [data-step=positive] [data-value]")).to_have_text(str(after))
