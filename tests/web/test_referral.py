"""A referral: the reply names someone else, and a person adds them to the campaign from
the journey's page (real browser) or the API; the new prospect is scheduled like any
imported one, and a bad address, a repeat, a person on the do-not-contact list, or a
journey with no reply are refused with a reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user, wait_until
from tests.web.conftest import KEY, invited, shot

pytestmark = pytest.mark.browser

REFERRAL = "Not me, but you should talk to Jordan Lee, she runs it: linkedin.com/in/jordan-lee-42"


def test_the_person_a_reply_names_is_added_as_a_prospect(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    by_slug = invited(server.url, "Referrals", ("kim", "lou"))
    campaign_id = next(iter(by_slug.values()))["campaign_id"]
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        kim, lou = by_slug["kim"]["id"], by_slug["lou"]["id"]
        # Lou has not replied: nothing to add yet.
        early = api.post(f"/api/journeys/{lou}/referral", json={"profile_url": "in/x-y"})
        assert early.status_code == 409 and "not replied" in early.json()["error"]["message"]
        api.post(f"/api/sandbox/journeys/{kim}/reply", json={"text": REFERRAL})
        talk = wait_until(
            lambda: api.get(f"/api/journeys/{kim}/conversation").json()["referral"],
            what="the referral offered",
        )
        assert talk == {
            "name": "Jordan Lee",
            "profile_url": "https://linkedin.com/in/jordan-lee-42",
        }
        assert api.post(f"/api/journeys/{kim}/referral", json={}).status_code == 422
        bad = api.post(
            f"/api/journeys/{kim}/referral", json={"profile_url": "https://example.com/jordan"}
        )
        assert bad.status_code == 422 and "not a LinkedIn URL" in bad.json()["error"]["message"]
        assert (
            api.post("/api/journeys/999999/referral", json={"profile_url": "in/a-b"}).status_code
            == 404
        )
        api.post(
            "/api/do-not-contact",
            json=[{"kind": "person", "value": "blocked-bo", "reason": "asked us"}],
        ).raise_for_status()
        blocked = api.post(
            f"/api/journeys/{kim}/referral",
            json={"profile_url": "https://www.linkedin.com/in/blocked-bo/"},
        )
        assert blocked.status_code == 409 and "asked us" in blocked.json()["error"]["message"]

    page = browser.new_page(viewport={"width": 1300, "height": 1100})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    page.goto(f"{server.url}/journeys/{kim}")
    form = page.locator("#referral")
    expect(form).to_contain_text("They pointed to Jordan Lee")
    expect(form.locator("input[name=profile_url]")).to_have_value(
        "https://linkedin.com/in/jordan-lee-42"
    )
    expect(form.locator("input[name=first_name]")).to_have_value("Jordan")
    expect(form.locator("input[name=last_name]")).to_have_value("Lee")
    form.get_by_role("button", name="Add as a prospect").click()
    expect(page.locator("#referral .notice-ok")).to_contain_text("jordan-lee-42")
    shot(page, "journey-referral")
    # Twice: refused, and the page says why.
    page.locator("#referral").get_by_role("button", name="Add as a prospect").click()
    expect(page.locator("#referral .notice-error")).to_contain_text("already")

    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        prospects = api.get(f"/api/campaigns/{campaign_id}/prospects").json()
        jordan = next(p for p in prospects if p["public_identifier"] == "jordan-lee-42")
        assert jordan["first_name"] == "Jordan"
        # The campaign is running: the new prospect is scheduled like any import's.
        wait_until(
            lambda: any(
                j["public_identifier"] == "jordan-lee-42"
                for j in api.get(f"/api/campaigns/{campaign_id}/journeys").json()
            ),
            what="Jordan's journey",
        )
