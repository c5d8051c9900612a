"""The dashboard's do-not-contact page and import results, as HTML over real HTTP.

The browser test in ``test_dashboard.py`` drives the same page in chromium; this one
runs everywhere and checks what the server answers: forms, errors, escaping, redirects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from outreach.testing import Dashboard, api_client, ensure_user, test_settings
from outreach.web.app import create_app
from tests.loopback import serve

HTMX = {"HX-Request": "true", "HX-Target": "dnc"}


@pytest.fixture
def dashboard(database_url: str) -> Iterator[Dashboard]:
    settings = test_settings(database_url, executor_id=f"dnc-pages-{uuid.uuid4().hex[:8]}")
    app = create_app(settings, workers=False)
    with serve(app, lifespan="on") as url:
        ensure_user(app.state.runtime)
        with Dashboard(url) as client:
            yield client


def test_the_page_adds_lists_and_removes_entries(dashboard: Dashboard) -> None:
    page = dashboard.get("/do-not-contact")
    assert page.status_code == 200
    assert '<a href="/do-not-contact" aria-current="page">Do not contact</a>' in page.text
    assert "Nobody is on the do-not-contact list." in page.text

    added = dashboard.post(
        "/do-not-contact",
        data={"kind": "company", "value": " Acme  GmbH ", "reason": "a customer"},
        headers=HTMX,
    )
    assert added.status_code == 201, added.text
    assert "<html" not in added.text, "htmx gets the partial"
    assert "Company “acme gmbh” added to the list; 0 journeys in flight stopped." in added.text
    assert 'data-entry="1"' in added.text and "a customer" in added.text
    again = dashboard.post("/do-not-contact", data={"kind": "company", "value": "ACME GMBH"})
    assert again.status_code == 200 and "was on the list already" in again.text
    assert "<html" in again.text, "a plain form post gets the whole page"

    gone = dashboard.post("/do-not-contact/1/delete", headers=HTMX)
    assert gone.status_code == 200
    assert "Company “acme gmbh” is off the list." in gone.text
    assert "Nobody is on the do-not-contact list." in gone.text
    missing = dashboard.post("/do-not-contact/1/delete", headers=HTMX)
    assert missing.status_code == 404 and "no do-not-contact entry 1" in missing.text


def test_a_plain_remove_goes_back_to_the_page(dashboard: Dashboard) -> None:
    dashboard.post("/do-not-contact", data={"kind": "domain", "value": "acme.com"})
    elsewhere = dashboard.post(
        "/do-not-contact/1/delete",
        headers={"Referer": "https://evil.example/phish"},
        follow_redirects=False,
    )
    assert elsewhere.status_code == 403  # a post from another site is refused, never followed
    back = dashboard.post(
        "/do-not-contact/1/delete",
        headers={"Referer": str(dashboard.client.base_url.join("/do-not-contact"))},
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"] == "/do-not-contact"


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"kind": "planet", "value": "Mars"}, "kind: Input should be &#39;person&#39;"),
        ({"kind": "person", "value": "  "}, "value: must not be empty"),
        ({"kind": "domain", "value": "nowhere"}, "value: not a domain name"),
        ({"kind": "person", "value": "https://example.com/in/x"}, "not a LinkedIn URL"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_kept(
    dashboard: Dashboard, form: dict[str, str], says: str
) -> None:
    answer = dashboard.post("/do-not-contact", data=form | {"reason": "kept"}, headers=HTMX)
    assert answer.status_code == 422, answer.text
    assert "the form is not valid" in answer.text and says in answer.text
    assert 'value="kept"' in answer.text
    assert "Nobody is on the do-not-contact list." in answer.text


def test_untrusted_text_is_escaped_never_markup(dashboard: Dashboard) -> None:
    evil = '<img src=x onerror="alert(1)">'
    added = dashboard.post(
        "/do-not-contact", data={"kind": "company", "value": f"{evil} Corp", "reason": evil}
    )
    assert added.status_code == 201
    assert "<img" not in added.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; corp" in added.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</td>" in added.text


def test_the_import_result_shows_conflicts_and_blocked_rows(dashboard: Dashboard) -> None:
    with api_client(str(dashboard.client.base_url)) as api:
        assert api.post("/api/accounts", json={"name": "Me"}).status_code == 201
    for name in ("First <b>one</b>", "Second"):
        made = dashboard.post("/setup/campaign", data={"name": name, "account_id": "1"})
        assert made.status_code == 201, made.text
    first = dashboard.post(
        "/setup/prospects", data={"campaign_id": "1", "csv": "profile_url\nlinkedin.com/in/ann\n"}
    )
    assert "1 imported" in first.text
    dashboard.post("/do-not-contact", data={"kind": "domain", "value": "rival.example"})
    csv = (
        "profile_url,email\n"
        "https://www.linkedin.com/in/ann/,\n"
        "linkedin.com/in/bob,bob@rival.example\n"
        "linkedin.com/in/cid,\n"
    )
    result = dashboard.post(
        "/setup/prospects",
        data={"campaign_id": "2", "csv": csv},
        headers={"HX-Request": "true", "HX-Target": "setup"},
    )
    assert result.status_code == 200, result.text
    assert (
        "1 imported, 0 duplicates skipped, 1 already in another campaign, "
        "1 on the do-not-contact list, 0 rejected." in result.text
    )
    assert 'id="row-conflicts"' in result.text and 'id="row-blocked"' in result.text
    assert '<a href="/campaigns/1">First &lt;b&gt;one&lt;/b&gt;</a>' in result.text
    assert "is on the do-not-contact list: domain rival.example" in result.text


def test_every_page_asks_for_a_login(sqlite_url: str) -> None:
    settings = test_settings(sqlite_url)
    app = create_app(settings, workers=False)
    with serve(app, lifespan="on") as url:
        first = httpx.get(f"{url}/do-not-contact", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/welcome"
        ensure_user(app.state.runtime)
        page = httpx.get(f"{url}/do-not-contact", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/do-not-contact"
        posted = httpx.post(f"{url}/do-not-contact", data={"kind": "domain", "value": "a.com"})
        assert posted.status_code == 303, "no entry is added without a login"
        with Dashboard(url) as dashboard:
            assert "Nobody is on the do-not-contact list." in dashboard.get("/do-not-contact").text
