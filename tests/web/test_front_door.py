"""The front door over loopback HTTP: who gets in, what a form or a link can be made to
do, and bad input that must end in a clear 4xx, never a 500.

Each finding of the "safe by default" review has its test here (or, for imports and
webhooks, in ``tests/prospects`` and ``tests/replies``; for a browser on another origin,
in ``test_csrf_browser.py``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from outreach.models import UserSession
from outreach.runtime import Runtime
from outreach.testing import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    API_KEY,
    Dashboard,
    api_client,
    ensure_user,
    test_settings,
)
from outreach.web.app import create_app
from tests.loopback import serve

PUBLIC = {"/healthz", "/login", "/welcome", "/api/webhooks/unipile"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Site:
    url: str
    app: Any

    @property
    def rt(self) -> Runtime:
        rt: Runtime = self.app.state.runtime
        return rt

    def api(self, key: str = API_KEY) -> httpx.Client:
        return api_client(self.url, key)


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    settings = test_settings(
        database_url, executor_id=f"door-{uuid.uuid4().hex[:8]}", webhook_secret="door-secret"
    )
    app = create_app(settings, workers=False)
    with serve(app, lifespan="on") as url:
        yield Site(url, app)


@pytest.fixture
def sqlite_site(sqlite_url: str) -> Iterator[Site]:
    settings = test_settings(sqlite_url, executor_id=f"door-{uuid.uuid4().hex[:8]}")
    app = create_app(settings, workers=False)
    with serve(app, lifespan="on") as url:
        yield Site(url, app)


# -- who gets in ------------------------------------------------------------------------------


def _paths(app: Any) -> list[tuple[str, set[str]]]:
    """Every route of the app with its methods, ids as 1. The FastAPI we pin keeps
    included routers as branches; ``effective_route_contexts`` walks them to their routes."""
    found = []
    for top in app.routes:
        if isinstance(top, Mount):
            found.append((top.path + "/app.css", {"GET"}))
            continue
        for context in getattr(top, "effective_route_contexts", lambda t=top: [t])():
            route = getattr(context, "original_route", context)
            path = getattr(context, "path", None) or route.path
            assert isinstance(route, APIRoute | Route), route
            found.append((re.sub(r"\{[^}]+\}", "1", path), set(route.methods or set())))
    return found


def test_every_route_refuses_the_anonymous_and_a_wrong_key(sqlite_site: Site) -> None:
    ensure_user(sqlite_site.rt)
    paths = _paths(sqlite_site.app)
    assert len(paths) > 40
    refused_as = {401, 303, 403, 405}
    opened = []
    for path, methods in paths:
        for method in METHODS:
            for headers in ({}, {"Authorization": "Bearer wrong-key"}):
                answer = httpx.request(
                    method, sqlite_site.url + path, headers=headers, follow_redirects=False
                )
                assert answer.status_code < 500, (method, path, answer.text)
                if path in PUBLIC or path.startswith("/static/"):
                    continue
                if method in methods and answer.status_code not in refused_as:
                    opened.append((method, path, answer.status_code))
                if method == "GET" and method in methods and answer.status_code == 303:
                    assert answer.headers["location"].startswith("/login"), (path, answer.headers)
    assert opened == [], "only the public routes answer without credentials"
    assert httpx.get(sqlite_site.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(sqlite_site.url + "/api/health").status_code == 401
    assert httpx.get(sqlite_site.url + "/openapi.json").status_code == 401
    assert httpx.get(sqlite_site.url + "/docs", follow_redirects=False).status_code == 303


def test_a_fresh_install_asks_for_the_first_admin_once(sqlite_site: Site) -> None:
    url = sqlite_site.url
    first = httpx.get(url + "/", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/welcome")
    with httpx.Client(base_url=url) as browser:
        form = browser.get("/welcome")
        assert "Create the admin" in form.text and "Bootstrap key" not in form.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        data = {"csrf_token": token.group(1), "username": "ada", "repeat": "x" * 12}
        short = browser.post("/welcome", data=data | {"password": "x" * 12, "repeat": "y" * 12})
        assert short.status_code == 422 and "the two passwords differ" in short.text
        tiny = browser.post("/welcome", data=data | {"password": "short", "repeat": "short"})
        assert tiny.status_code == 422 and "at least 12 characters" in tiny.text
        made = browser.post("/welcome", data=data | {"password": "x" * 12}, follow_redirects=False)
        assert made.status_code == 303 and made.headers["location"] == "/"
        assert "ada" in browser.get("/").text, "the new admin is logged in"
    again = httpx.get(url + "/welcome", follow_redirects=False)
    assert (again.status_code, again.headers["location"]) == (303, "/login")
    with httpx.Client(base_url=url) as other:
        token = re.search(r'name="csrf_token" value="([^"]+)"', other.get("/login").text)
        assert token is not None
        late = other.post(
            "/welcome",
            data={
                "csrf_token": token.group(1),
                "username": "eve",
                "password": "y" * 12,
                "repeat": "y" * 12,
            },
        )
        assert late.status_code == 409, "only the first admin is made this way"


def test_a_form_shown_before_login_needs_its_own_token(sqlite_site: Site) -> None:
    ensure_user(sqlite_site.rt)
    forged = httpx.post(
        sqlite_site.url + "/login",
        data={"username": ADMIN_NAME, "password": ADMIN_PASSWORD},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "outreach_session" not in forged.headers.get(
        "set-cookie", ""
    )


def test_sessions_differ_expire_and_end_at_logout(sqlite_site: Site) -> None:
    ensure_user(sqlite_site.rt)
    with Dashboard(sqlite_site.url) as one, Dashboard(sqlite_site.url) as two:
        cookie_one = one.client.cookies["outreach_session"]
        assert cookie_one != two.client.cookies["outreach_session"]
        assert one.csrf != two.csrf
        assert ADMIN_PASSWORD not in cookie_one
        # A session left idle past its limit ends.
        with sqlite_site.rt.sessions() as session, session.begin():
            session.execute(
                sa.update(UserSession).values(last_seen_at=datetime.now(UTC) - timedelta(hours=13))
            )
        idle = one.client.get("/", follow_redirects=False)
        assert idle.status_code == 303 and idle.headers["location"].startswith("/login")

        assert two.post("/logout", follow_redirects=False).status_code == 303
        replayed = httpx.get(
            sqlite_site.url + "/",
            cookies={"outreach_session": two.client.cookies.get("outreach_session") or "x"},
            follow_redirects=False,
        )
        assert replayed.status_code == 303
    with sqlite_site.rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_logins_are_rate_limited(sqlite_site: Site) -> None:
    ensure_user(sqlite_site.rt)
    with httpx.Client(base_url=sqlite_site.url) as guesser:
        token = re.search(r'name="csrf_token" value="([^"]+)"', guesser.get("/login").text)
        assert token is not None
        form = {"csrf_token": token.group(1), "username": ADMIN_NAME}
        answers = [
            guesser.post("/login", data=form | {"password": f"guess {i}"}).status_code
            for i in range(12)
        ]
        assert answers[:10] == [401] * 10 and answers[10:] == [429, 429]
        right = guesser.post("/login", data=form | {"password": ADMIN_PASSWORD})
        assert right.status_code == 429 and int(right.headers["retry-after"]) > 0


def test_users_and_keys_through_the_api(sqlite_site: Site) -> None:
    with sqlite_site.api() as boot:
        short = boot.post("/api/users", json={"username": "bob", "password": "short"})
        assert short.status_code == 422 and "12 characters" in short.text
        bob = boot.post(
            "/api/users", json={"username": "Bob", "password": "b" * 16, "role": "member"}
        )
        assert bob.status_code == 201, bob.text
        assert "password" not in bob.text and bob.json()["username"] == "bob"
        assert (
            boot.post("/api/users", json={"username": "bob", "password": "c" * 16}).status_code
            == 409
        )
        made = boot.post("/api/keys", json={"name": "crm", "user_id": bob.json()["id"]})
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        assert key.startswith("ok_") and made.json()["prefix"] == key[:10]
    with sqlite_site.api(key) as as_bob:
        assert as_bob.get("/api/me").json()["username"] == "bob"
        assert as_bob.get("/api/campaigns").status_code == 200
        assert as_bob.get("/api/users").status_code == 403, "members do not manage users"
        listed = as_bob.get("/api/keys").json()
        assert [k["prefix"] for k in listed] == [key[:10]] and key not in str(listed)
        own = as_bob.post("/api/keys", json={"name": "second"}).json()
        assert as_bob.post(f"/api/keys/{listed[0]['id']}/revoke").status_code == 200
        assert as_bob.get("/api/campaigns").status_code == 401, "a revoked key opens nothing"
    with sqlite_site.api(own["key"]) as second, sqlite_site.api() as boot:
        assert second.get("/api/me").status_code == 200
        assert boot.post(f"/api/users/{own['user_id']}/disable").status_code == 200
        assert second.get("/api/me").status_code == 401, "a disabled user's keys stop"


# -- where a form or a link can send you ------------------------------------------------------


def test_no_redirect_ever_leaves_the_site(sqlite_site: Site) -> None:
    ensure_user(sqlite_site.rt)
    with httpx.Client(base_url=sqlite_site.url) as browser:
        for target, lands in [
            ("https://evil.example/", "/"),
            ("//evil.example/x", "/"),
            ("/\\evil.example", "/"),
            ("/runs?status=ERROR", "/runs?status=ERROR"),
        ]:
            token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
            assert token is not None
            answer = browser.post(
                "/login",
                data={
                    "csrf_token": token.group(1),
                    "username": ADMIN_NAME,
                    "password": ADMIN_PASSWORD,
                    "next": target,
                },
                follow_redirects=False,
            )
            assert answer.headers["location"] == lands
    with sqlite_site.api() as api:
        account = api.post("/api/accounts", json={"name": "Me"}).json()["id"]
    with Dashboard(sqlite_site.url) as dashboard:
        paused = dashboard.post(
            f"/accounts/{account}/pause",
            data={"next": "https://evil.example/"},
            headers={"Referer": sqlite_site.url + "/errors"},
            follow_redirects=False,
        )
        assert (paused.status_code, paused.headers["location"]) == (303, "/")


def test_security_headers_on_every_kind_of_answer(sqlite_site: Site) -> None:
    ensure_user(sqlite_site.rt)
    with Dashboard(sqlite_site.url) as dashboard, sqlite_site.api() as api:
        answers = [
            dashboard.get("/"),
            dashboard.get("/docs"),
            httpx.get(sqlite_site.url + "/login"),
            api.get("/api/campaigns"),
            api.get("/api/campaigns/77"),
            httpx.get(sqlite_site.url + "/static/app.css"),
            httpx.get(sqlite_site.url + "/healthz"),
        ]
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, answer.url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"


def test_the_api_docs_come_from_the_package(sqlite_site: Site) -> None:
    ensure_user(sqlite_site.rt)
    with Dashboard(sqlite_site.url) as dashboard:
        docs = dashboard.get("/docs")
        assert docs.status_code == 200
        scripts = re.findall(r'<script src="([^"]+)"', docs.text)
        assert scripts and all(s.startswith("/static/") for s in scripts), scripts
        for asset in scripts + re.findall(r'<link rel="stylesheet" href="([^"]+)"', docs.text):
            assert dashboard.get(asset).status_code == 200, asset
        schema = dashboard.get("/openapi.json").json()
    assert schema["info"]["title"] == "Outreach"
    with sqlite_site.api() as api:
        assert api.get("/openapi.json").json() == schema


def test_an_unknown_host_is_refused(sqlite_site: Site) -> None:
    rebound = httpx.get(sqlite_site.url + "/healthz", headers={"Host": "evil.example"})
    assert rebound.status_code == 400


# -- bad input: a clear 4xx, nothing lost ------------------------------------------------------


def test_numbers_no_database_stores_are_a_422(sqlite_site: Site) -> None:
    huge = "9223372036854775808"
    ensure_user(sqlite_site.rt)
    with sqlite_site.api() as api, Dashboard(sqlite_site.url) as dashboard:
        for path in [
            f"/api/campaigns/{huge}",
            "/api/campaigns/0",
            f"/api/journeys/{huge}",
            f"/api/accounts/{huge}",
            f"/api/campaigns/1/journeys?offset={huge}",
            "/api/runs?limit=99999999999999999999",
        ]:
            answer = api.get(path)
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["error"]["code"] == "invalid_input"
        launch = api.post("/api/campaigns/linkedin/execute", json={"campaign_id": int(huge)})
        assert launch.status_code == 422
        for path in [f"/campaigns/{huge}", "/runs?page=99999999999999999999"]:
            page = dashboard.get(path, headers={"Accept": "text/html"})
            assert page.status_code == 422 and "<html" in page.text, path


def test_working_hours_with_an_offset_are_converted(site: Site) -> None:
    paris = ZoneInfo("Europe/Paris")
    today = datetime.now(UTC).date()

    def local(hour: int) -> str:
        moment = datetime(today.year, today.month, today.day, hour, tzinfo=UTC)
        return moment.astimezone(paris).strftime("%H:%M")

    with site.api() as api:
        made = api.post(
            "/api/accounts",
            json={
                "name": "Z",
                "timezone": "Europe/Paris",
                "work_start": "07:00Z",
                "work_end": "16:00:00+00:00",
            },
        )
        assert made.status_code == 201, made.text
        assert (made.json()["work_start"], made.json()["work_end"]) == (local(7), local(16))
        changed = api.patch(f"/api/accounts/{made.json()['id']}", json={"work_end": "01:07:44Z"})
        assert changed.status_code == 422, "before the start: refused, and said why"
        assert "work_start must be before work_end" in changed.text
        assert api.get(f"/api/accounts/{made.json()['id']}").json()["work_end"] == local(16)
        naive = api.post("/api/accounts", json={"name": "N", "work_start": "08:30"})
        assert naive.json()["work_start"] == "08:30"
    ensure_user(site.rt)
    with Dashboard(site.url) as dashboard:
        form = dashboard.post(
            "/setup/account",
            data={
                "name": "Form",
                "timezone": "UTC",
                "work_start": "08:00+01:00",
                "work_end": "17:00",
                "work_days": ["mon"],
            },
        )
        assert form.status_code == 201, form.text


def test_json_nested_too_deep_is_a_4xx(sqlite_site: Site) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with sqlite_site.api() as api:
        for path in ["/api/accounts", "/api/do-not-contact", "/api/campaigns"]:
            answer = api.post(path, content=deep, headers={"Content-Type": "application/json"})
            assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
            assert "error" in answer.json()


def test_text_no_database_stores_is_a_422_and_nothing_is_written(site: Site) -> None:
    with site.api() as api:
        for name in ('"\\ud800 Jane"', '"Jane \\u0000"', '"\\udc00"', '"\\ud83d x"'):
            body = '{"name": ' + name + "}"
            answer = api.post(
                "/api/accounts", content=body, headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 422, (name, answer.text)
            assert "cannot be stored" in answer.json()["error"]["message"]
        fine = api.post(
            "/api/accounts",
            content='{"name": "Jane \\ud83d\\ude00 \\\\ud800"}',
            headers={"Content-Type": "application/json"},
        )
        assert fine.status_code == 201, "a pair is a character; an escaped backslash is text"
        assert fine.json()["name"] == "Jane \U0001f600 \\ud800"
        assert [a["name"] for a in api.get("/api/accounts").json()] == [fine.json()["name"]]
    ensure_user(site.rt)
    with Dashboard(site.url) as dashboard:
        nul = dashboard.post("/do-not-contact", data={"kind": "company", "value": "Ac\x00me"})
        assert nul.status_code in (201, 422), nul.text  # SQLite keeps a NUL; PostgreSQL refuses
        assert nul.status_code < 500


def test_bodies_over_the_limit_are_a_413(sqlite_site: Site) -> None:
    big = b'{"name": "' + b"x" * 1_100_000 + b'"}'
    with sqlite_site.api() as api:
        declared = api.post(
            "/api/accounts", content=big, headers={"Content-Type": "application/json"}
        )
        assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(big), 65536):
                yield big[start : start + 65536]

        streamed = api.post(
            "/api/accounts", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413, streamed.text
        assert api.get("/api/accounts").json() == []


def test_unknown_routes_and_methods_have_the_one_error_shape(sqlite_site: Site) -> None:
    with sqlite_site.api() as api:
        for answer, status in [
            (api.get("/api/nowhere"), 404),
            (api.delete("/api/campaigns"), 405),
            (api.get("/api/campaigns/7"), 404),
            (api.post("/api/accounts", json={}), 422),
        ]:
            assert answer.status_code == status
            assert set(answer.json()) == {"error"}
            assert set(answer.json()["error"]) == {"code", "message", "details"}
