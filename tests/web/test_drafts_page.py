"""A draft answered in a real browser: the conversation both ways on the journey's page,
the draft edited and approved with a double click, exactly one message at the simulator;
a reply with markup stays text; a rejected draft sends nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user, wait_until
from tests.web.conftest import KEY, invited, shot

pytestmark = pytest.mark.browser

MARKUP = "<img src=x id=injected>"
KEEN = f"Sounds great, let's talk on Thursday. {MARKUP}"
EDITED = "Thursday works. I'll send an invitation for 10:00, see you then."


def _messages(server: Any, slug: str) -> list[str]:
    simulator = server.runtime.simulator
    return [
        e["text"]
        for e in simulator.log()
        if e["kind"] == "message" and e["public_identifier"] == slug
    ]


def test_a_draft_is_edited_approved_and_sent_once(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    by_slug = invited(server.url, "Answers", ("keen", "cool"))
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        for slug, text in (("keen", KEEN), ("cool", "What does it cost?")):
            answer = api.post(
                f"/api/sandbox/journeys/{by_slug[slug]['id']}/reply", json={"text": text}
            )
            assert answer.status_code == 202, answer.text

        def drafted() -> list[dict[str, Any]]:
            answer = api.get("/api/drafts", params={"status": "pending"})
            return answer.json() if answer.headers["x-total-count"] == "2" else []

        drafts = {d["journey_id"]: d for d in wait_until(drafted, what="two drafts")}
        keen = drafts[by_slug["keen"]["id"]]
        assert keen["intent"] == "interested"
        before = _messages(server, "keen")

    page = browser.new_page(viewport={"width": 1300, "height": 1100})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    page.goto(f"{server.url}/journeys/{keen['journey_id']}")
    chat = page.locator("#conversation .chat")
    expect(chat.locator(".msg-theirs").last).to_contain_text(KEEN)  # markup stays text
    assert page.locator("#injected").count() == 0
    draft = page.locator("#draft")
    expect(draft.locator("textarea[name=text]")).to_have_value(keen["text"])
    expect(draft).to_contain_text("nothing is sent until you approve")
    shot(page, "journey-draft")
    draft.locator("textarea[name=text]").fill(EDITED)
    draft.get_by_role("button", name="Approve and send").dblclick()

    wait_until(lambda: EDITED in _messages(server, "keen"), timeout=30, what="the answer sent")
    page.goto(f"{server.url}/journeys/{keen['journey_id']}")
    expect(chat.locator(".msg-ours").last).to_contain_text(EDITED)
    expect(page.locator("#draft")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("answer sent")
    shot(page, "journey-answer-sent")
    after = _messages(server, "keen")
    assert after.count(EDITED) == 1 and len(after) == len(before) + 1

    # The other draft: rejected from its page, nothing sent.
    cool = drafts[by_slug["cool"]["id"]]
    sent_before = _messages(server, "cool")
    page.goto(f"{server.url}/journeys/{cool['journey_id']}")
    page.locator("#draft").get_by_role("button", name="Reject").click()
    expect(page.locator("#draft")).to_have_count(0)
    expect(page.locator(".past-drafts")).to_contain_text("rejected")
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        assert api.get(f"/api/drafts/{cool['id']}").json()["status"] == "rejected"
        again = api.post(f"/api/drafts/{cool['id']}/approve")
        assert again.status_code == 409 and "rejected" in again.json()["error"]["message"]
        assert api.post("/api/drafts/999999/approve").status_code == 404
        too_long = api.post(f"/api/drafts/{keen['id']}/approve", json={"text": "x" * 9000})
        assert too_long.status_code == 422
    assert _messages(server, "cool") == sent_before
