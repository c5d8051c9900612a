"""The sequence editor in a real browser: texts typed with a live preview on a real
prospect, limits and broken templates shown while typing, a running campaign edited
and a later message sent with the new text, the journey page showing every text sent."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from outreach.testing import browser_login, ensure_user
from tests.web.conftest import KEY, shot

pytestmark = pytest.mark.browser

MARKUP = "<img src=x id=injected>"


ANSWER = "Glad to hear it, {{ first_name | default('there') }}!"


def _setup(url: str) -> tuple[int, int]:
    """A sender always open, a campaign whose follow-up 2 is far away, one prospect."""
    with httpx.Client(base_url=url, headers=KEY, timeout=30) as api:
        account = api.post(
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
            "/api/campaigns",
            json={
                "name": "Editing",
                "account_id": account["id"],
                "sequence": {"follow_up_days": [2, 300, 301]},
                "templates": {
                    "invitation_note": "Hi {{ first_name }}",
                    "follow_ups": ["One for {{ first_name }}", "Old two", "Old three"],
                    "answers": {"interested": ANSWER},
                },
            },
        ).json()
        row = {
            "profile_url": "https://www.linkedin.com/in/eve-editor/",
            "first_name": MARKUP,
            "company": "Acme",
        }
        imported = api.post(f"/api/campaigns/{campaign['id']}/prospects", json=[row]).json()
        assert imported["imported"] == 1, imported
    return account["id"], campaign["id"]


def _wait(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_edit_texts_with_a_preview_then_a_running_campaign(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    _, campaign_id = _setup(server.url)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)

    page.goto(f"{server.url}/campaigns/{campaign_id}")
    page.locator("#edit-messages").click()
    expect(page.locator("h1")).to_contain_text("Sequence and messages")
    preview = page.locator("#preview")
    # Rendered for the campaign's prospect, whose name is markup: shown as text.
    expect(preview.locator("h3")).to_contain_text(MARKUP)
    expect(preview.locator("[data-name=invitation_note] .bubble")).to_have_text(f"Hi {MARKUP}")
    assert page.locator("#injected").count() == 0

    note = page.locator("textarea[name=invitation_note]")
    note.fill("x" * 301)
    expect(preview.locator("[data-name=invitation_note] .counter")).to_have_text("301 / 300")
    expect(preview.locator("#preview-problems")).to_contain_text("LinkedIn allows 300")
    texts = page.locator("textarea[name=text]")
    texts.nth(1).fill("Broken {{ oops")
    expect(preview.locator("[data-name='follow_ups[2]']")).to_contain_text("follow_ups[2]")
    shot(page, "sequence-editor-problems")
    # Saving what cannot be sent is refused, with what was typed kept.
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.locator(".notice-error").first).to_contain_text("cannot be sent")
    expect(page.locator("textarea[name=text]").nth(1)).to_have_value("Broken {{ oops")

    page.locator("textarea[name=invitation_note]").fill("Hello {{ first_name }} from the editor")
    page.locator("textarea[name=text]").nth(1).fill("Old two")
    expect(preview.locator("#preview-problems")).to_have_count(0)

    # Launch, and edit the running campaign while its journey waits for follow-up 2.
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        assert (
            api.post(
                "/api/campaigns/linkedin/execute", json={"campaign_id": campaign_id}
            ).status_code
            == 202
        )
        journey = _wait(
            lambda: next(
                (
                    j
                    for j in api.get(f"/api/campaigns/{campaign_id}/journeys").json()
                    if j["follow_ups_sent"] == 1
                ),
                None,
            ),
            "follow-up 1",
        )
    page.goto(f"{server.url}/campaigns/{campaign_id}/sequence")
    page.locator("input[name=day]").nth(1).fill("8")
    page.locator("textarea[name=text]").nth(1).fill("New two for {{ company }}")
    expect(preview.locator("[data-name='follow_ups[2]'] .bubble")).to_have_text("New two for Acme")
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.locator(".notice-ok")).to_contain_text(
        "Saved as version 2. Waiting journeys re-planned: 1;"
    )
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    shot(page, "sequence-editor-saved")
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        saved = api.get(f"/api/campaigns/{campaign_id}").json()["templates"]
    assert saved["answers"] == {"interested": ANSWER}, "the editor keeps the answers' texts"

    page.goto(f"{server.url}/journeys/{journey['id']}")
    sent = page.locator("[data-text-of=message_sent]")
    expect(sent.nth(1)).to_have_text("New two for Acme", timeout=30_000)
    expect(sent.nth(0)).to_have_text(f"One for {MARKUP}")
    expect(page.locator("[data-text-of=invitation_sent]")).to_have_text(f"Hi {MARKUP}")
    expect(page.locator("#timeline")).to_contain_text("version 2")
    expect(page.locator("[data-kind=replanned]")).to_have_count(1)
    assert page.locator("#injected").count() == 0
    shot(page, "journey-sent-texts")


def test_the_answers_to_replies_and_the_out_of_office_rule_are_edited(
    serve: Any, browser: Any
) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    _, campaign_id = _setup(server.url)
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    page.goto(f"{server.url}/campaigns/{campaign_id}/sequence")
    answers = page.locator("#answers")
    interested = answers.locator("[data-intent=interested] textarea")
    question = answers.locator("[data-intent=question] textarea")
    expect(interested).to_have_value(ANSWER)
    # An intent with no text of its own shows the built-in one, greyed.
    expect(question).to_have_value("")
    assert "Thanks for asking" in (question.get_attribute("placeholder") or "")
    auto = answers.locator("input[name=auto_approve_out_of_office]")
    expect(auto).not_to_be_checked()
    # A text that cannot render is refused, and what was typed stays.
    question.fill("About {{ question")
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.locator(".notice-error").first).to_be_visible()
    expect(page.locator("#answers [data-intent=question] textarea")).to_have_value(
        "About {{ question"
    )
    page.locator("#answers [data-intent=question] textarea").fill(
        "You asked: {{ question | default('that') }}"
    )
    page.locator("#answers [data-intent=interested] textarea").fill("")
    page.locator("#answers input[name=auto_approve_out_of_office]").check()
    shot(page, "sequence-editor-answers")
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.locator(".notice-ok")).to_contain_text("Saved as version 2")
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        saved = api.get(f"/api/campaigns/{campaign_id}").json()
    # Emptied: the built-in text again; typed: the campaign's own.
    assert saved["templates"]["answers"] == {
        "question": "You asked: {{ question | default('that') }}"
    }
    assert saved["sequence"]["auto_approve_out_of_office"] is True
    expect(page.locator("#answers input[name=auto_approve_out_of_office]")).to_be_checked()
