"""The dashboard in a real browser: Debian's chromium driven by Playwright.

The real app runs under uvicorn on a loopback port, on a SQLite file, with the sandbox
simulator and a compressed clock (one simulated day per real second). Screenshots of
every page land in /tmp/outreach-shots/ for a person to look at.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from outreach.testing import ADMIN_NAME, ADMIN_PASSWORD, browser_login, ensure_user
from tests.web.conftest import KEY, SHOTS, shot

pytestmark = pytest.mark.browser


GOOD_ROWS = [
    ("ada-lovelace", "Ada", "Lovelace", "Analytical Engines"),
    ("alan-turing", "Alan", "Turing", "Bletchley Park"),
    ("grace-hopper", "Grace", "Hopper", "US Navy"),
    ("edsger-dijkstra", "Edsger", "Dijkstra", "Burroughs"),
    ("barbara-liskov", "Barbara", "Liskov", "MIT"),
    ("broken-bob", "Bob", "Broken", "Nowhere Inc"),  # the simulator refuses him
]


def _csv() -> str:
    lines = ["profile_url,first_name,last_name,company"]
    lines += [
        f"https://www.linkedin.com/in/{slug}/,{first},{last},{co}"
        for slug, first, last, co in GOOD_ROWS[:3]
    ]
    lines.append("https://example.com/not-linkedin,Nora,Nope,Example")  # row 5: rejected
    lines += [
        f"https://www.linkedin.com/in/{slug}/,{first},{last},{co}"
        for slug, first, last, co in GOOD_ROWS[3:]
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module", autouse=True)
def _shots_dir() -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)


def count(page: Any, state: str) -> int:
    return int(page.locator(f"#counts [data-count='{state}']").inner_text())


def test_a_campaign_from_set_up_to_errors(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    server.runtime.simulator.invalid_recipient("broken-bob")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(15_000)
    # A fresh install: the first visit creates the admin, who is then logged in.
    page.goto(server.url + "/")
    assert page.url == server.url + "/welcome"
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password (at least 12 characters)").fill("short")
    page.get_by_label("Password again").fill("short")
    page.locator("input[name=password]").evaluate("e => e.removeAttribute('minlength')")
    page.locator("input[name=repeat]").evaluate("e => e.removeAttribute('minlength')")
    page.get_by_role("button", name="Create the admin and log in").click()
    expect(page.locator(".notice-error")).to_contain_text("at least 12 characters")
    shot(page, "0-welcome")
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.locator("input[name=repeat]").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create the admin and log in").click()
    expect(page.locator("h2", has_text="Campaigns")).to_be_visible()
    expect(page.locator(".logout")).to_contain_text("ada")

    # Bad input is refused with a readable reason, nothing is created.
    account_form = page.locator("#form-account")
    account_form.locator("input[name=name]").fill("Alex (sandbox)")
    account_form.locator("input[name=timezone]").fill("Mars/Olympus_Mons")
    account_form.locator("button[type=submit]").click()
    expect(page.locator("#form-account .notice-error")).to_contain_text("unknown time zone")

    account_form = page.locator("#form-account")
    account_form.locator("input[name=timezone]").fill("Europe/Paris")
    account_form.locator("input[name=work_start]").fill("00:00")
    account_form.locator("input[name=work_end]").fill("23:59")
    for day in ("sat", "sun"):
        account_form.locator(f"input[name=work_days][value={day}]").check()
    account_form.locator("button[type=submit]").click()
    expect(page.locator("#form-account .notice-ok")).to_contain_text("Alex (sandbox)")
    expect(page.locator("#accounts")).to_contain_text("Europe/Paris")

    campaign_form = page.locator("#form-campaign")
    campaign_form.locator("input[name=name]").fill("Founders Q3")
    campaign_form.locator("button[type=submit]").click()
    expect(page.locator("#form-campaign .notice-ok")).to_contain_text("Founders Q3")

    prospects_form = page.locator("#form-prospects")
    prospects_form.locator("textarea[name=csv]").fill(_csv())
    prospects_form.locator("button[type=submit]").click()
    expect(page.locator("#form-prospects .notice-ok")).to_contain_text("6 imported")
    expect(page.locator("#row-errors tbody tr")).to_have_count(1)
    expect(page.locator("#row-errors")).to_contain_text("not a LinkedIn URL")
    expect(page.locator("#row-errors td").first).to_have_text("5")
    # The live tables pick the new campaign up without a reload.
    expect(page.locator("#campaigns tr[data-campaign] td").nth(3)).to_have_text("6")
    shot(page, "1-overview-set-up")

    page.locator("#campaigns a", has_text="Founders Q3").click()
    expect(page.locator("#counts [data-count=pending]")).to_have_text("6")
    page.evaluate("window.__notReloaded = true")
    page.get_by_role("button", name="Launch").click()
    expect(page.locator("#campaign-summary .notice-ok")).to_contain_text("active")

    # Counts move by themselves (htmx polling), the page is never reloaded.
    moved = page.locator("#counts [data-count=connected], #counts [data-count=completed]")
    expect(moved.filter(has_not_text="0").first).to_be_visible(timeout=20_000)
    expect(page.locator("#counts [data-count=failed]")).to_have_text("1")
    assert page.evaluate("window.__notReloaded") is True
    expect(page.locator("#journeys-table tr[data-journey]")).to_have_count(6)
    expect(page.locator("#journeys-table tr.has-error")).to_contain_text("unreachable")
    shot(page, "2-campaign")

    page.locator(".filters a", has_text="failed").click()
    expect(page.locator("#journeys-table tr[data-journey]")).to_have_count(1)
    expect(page.locator("#journeys-table")).to_contain_text("Bob Broken")
    shot(page, "3-campaign-filtered-failed")

    page.goto(server.url + "/campaigns/1")
    page.locator("#journeys-table a", has_text="Ada Lovelace").click()
    timeline = page.locator("#timeline")
    expect(timeline.locator("[data-kind=invitation_sent]")).to_have_count(1)
    expect(timeline.locator("[data-kind=invitation_accepted]")).to_have_count(1, timeout=20_000)
    expect(timeline.locator("[data-kind=message_sent]").first).to_contain_text("follow-up 1")
    shot(page, "4-journey")

    page.goto(server.url + "/campaigns/1?status=failed")
    page.locator("#journeys-table a", has_text="Bob Broken").click()
    expect(page.locator("#timeline .event.bad")).to_have_count(1)
    expect(page.locator("#journey-live .notice-error")).to_contain_text("unreachable")
    shot(page, "5-journey-failed")

    page.get_by_role("link", name="Runs", exact=True).click()
    expect(page.locator("#runs-table")).to_contain_text("schedule_campaign")
    expect(page.locator("#runs-table a[href^='/journeys/']").first).to_be_visible()
    shot(page, "6-runs")
    page.get_by_role("link", name="success", exact=True).click()
    expect(page.locator("#runs-table tbody tr").first).to_contain_text("SUCCESS")

    runs = json.loads(page.request.get(server.url + "/api/runs?limit=500", headers=KEY).text())
    assert any(r["name"] == "schedule_campaign" and r["status"] == "SUCCESS" for r in runs)
    assert {r["journey_id"] for r in runs if r["journey_id"]} == set(range(1, 7))

    page.goto(server.url + "/")
    expect(page.locator("#campaigns td[data-state=failed]")).to_have_text("1")
    page.locator("#accounts button", has_text="Pause").click()
    expect(page.locator("#accounts")).to_contain_text("paused by a person")
    shot(page, "7-overview-running")
    page.get_by_role("link", name="Errors", exact=True).click()
    expect(page.locator("#error-journeys")).to_contain_text("Bob Broken")
    expect(page.locator("#error-journeys")).to_contain_text("unreachable")
    expect(page.locator("#stopped-accounts")).to_contain_text("paused by a person")
    shot(page, "8-errors")

    page.goto(server.url + "/campaigns/999")
    expect(page.locator(".notice-error")).to_contain_text("no campaign 999")
    shot(page, "9-not-found")


def test_the_do_not_contact_list_in_the_browser(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation before a removal
    ensure_user(server.runtime)
    browser_login(page, server.url)
    page.get_by_role("link", name="Do not contact", exact=True).click()
    expect(page.locator("h1")).to_have_text("Do not contact")
    expect(page.locator("#dnc .empty")).to_contain_text("Nobody is on the do-not-contact list")

    form = page.locator("#form-dnc")
    form.locator("select[name=kind]").select_option("domain")
    form.locator("input[name=value]").fill("localhost")
    form.get_by_role("button", name="Add to the list").click()
    expect(page.locator("#form-dnc .notice-error")).to_contain_text("not a domain name")
    expect(page.locator("#form-dnc input[name=value]")).to_have_value("localhost")

    page.evaluate("window.__notReloaded = true")
    form = page.locator("#form-dnc")
    form.locator("input[name=value]").fill("https://www.Rival.example/about")
    form.locator("input[name=reason]").fill("<b>competitor</b>")
    form.get_by_role("button", name="Add to the list").click()
    expect(page.locator("#form-dnc .notice-ok")).to_contain_text("“rival.example” added")
    rows = page.locator("#dnc-entries tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.reason")).to_have_text("<b>competitor</b>")  # text, not markup
    form = page.locator("#form-dnc")
    form.locator("select[name=kind]").select_option("person")
    form.locator("input[name=value]").fill("https://www.linkedin.com/in/Ada-Lovelace/")
    form.get_by_role("button", name="Add to the list").click()
    expect(page.locator("#dnc-entries tbody tr")).to_have_count(2)
    expect(page.locator("#dnc-entries tbody tr").first).to_contain_text("ada-lovelace")
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "11-do-not-contact")

    # An import into a campaign leaves the listed people out and says why.
    page.request.post(server.url + "/api/accounts", data={"name": "Me"}, headers=KEY)
    page.request.post(
        server.url + "/api/campaigns", data={"name": "Q4", "account_id": 1}, headers=KEY
    )
    page.goto(server.url + "/")
    prospects_form = page.locator("#form-prospects")
    prospects_form.locator("textarea[name=csv]").fill(
        "profile_url,email\n"
        "https://www.linkedin.com/in/ada-lovelace/,\n"
        "https://www.linkedin.com/in/alan-turing/,alan@eu.rival.example\n"
        "https://www.linkedin.com/in/grace-hopper/,grace@navy.example\n"
    )
    prospects_form.locator("button[type=submit]").click()
    expect(page.locator("#form-prospects .notice-ok")).to_contain_text("1 imported")
    blocked = page.locator("#row-blocked tbody tr")
    expect(blocked).to_have_count(2)
    expect(blocked.nth(0)).to_contain_text("person ada-lovelace")
    expect(blocked.nth(1)).to_contain_text("domain rival.example (reason: <b>competitor</b>)")
    shot(page, "12-import-blocked")

    page.goto(server.url + "/do-not-contact")
    page.locator("#dnc-entries tr", has_text="rival.example").get_by_role(
        "button", name="Remove"
    ).click()
    expect(page.locator("#form-dnc .notice-ok")).to_contain_text("is off the list")
    expect(page.locator("#dnc-entries tbody tr")).to_have_count(1)


def test_pages_ask_for_a_login_and_a_logout_ends_the_session(serve: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url + "/runs?status=SUCCESS")
    assert page.url.startswith(server.url + "/login")
    page.get_by_label("Username").fill(ADMIN_NAME)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".notice-error")).to_contain_text("do not match")
    shot(page, "10-login")

    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Runs")
    assert page.url == server.url + "/runs?status=SUCCESS"
    cookie = next(c for c in context.cookies() if c["name"] == "outreach_session")
    assert cookie["httpOnly"] and ADMIN_PASSWORD not in cookie["value"]

    # The API wants a bearer key; the dashboard's cookie opens nothing there.
    assert page.request.get(server.url + "/api/runs").status == 401
    assert page.request.get(server.url + "/api/runs", headers=KEY).status == 200

    page.get_by_role("button", name="Log out").click()
    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/login")
    # The old cookie, replayed after the logout, opens nothing: the session is gone.
    context.add_cookies([cookie])
    page.goto(server.url + "/runs")
    assert page.url.startswith(server.url + "/login")
