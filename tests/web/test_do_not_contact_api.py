"""The do-not-contact API over real HTTP: add, list, remove; bad input is a 4xx, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from outreach.testing import test_settings
from outreach.web.app import create_app
from tests.loopback import serve

KEY = "dnc-key-" + uuid.uuid4().hex


@pytest.fixture
def api(database_url: str) -> Iterator[httpx.Client]:
    settings = test_settings(database_url, api_key=KEY)
    with (
        serve(create_app(settings, workers=False), lifespan="on") as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as c,
    ):
        yield c


def test_the_list_needs_the_key(api: httpx.Client) -> None:
    url = str(api.base_url.join("/api/do-not-contact"))
    assert httpx.get(url).status_code == 401
    assert httpx.post(url, json={"kind": "company", "value": "Acme"}).status_code == 401
    assert httpx.delete(url + "/1").status_code == 401
    assert api.get("/api/do-not-contact").json() == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"kind": "planet", "value": "Mars"}, "body.0.kind: Input should be 'person'"),
        ({"kind": "company", "value": "   "}, "body.0.value: Value error, must not be empty"),
        ({"kind": "person", "value": "https://example.com/x"}, "not a LinkedIn URL"),
        ({"kind": "person", "value": "jane doe"}, "not a valid LinkedIn public identifier"),
        ({"kind": "domain", "value": "localhost"}, "not a domain name"),
        ({"kind": "company"}, "body.0.value: Field required"),
        ({"kind": "company", "value": 42}, "body.0.value: Input should be a valid string"),
        ({"kind": "company", "value": "Acme", "reason": "x" * 2001}, "body.0.reason"),
        ([], "body: Value should have at least 1 item"),
        ("Acme", "body: Input should be a valid list"),
        ([{"kind": "company", "value": "Fine"}, {"kind": "nope", "value": "x"}], "body.1.kind"),
    ],
)
def test_bad_entries_get_a_422_that_says_why_and_add_nothing(
    api: httpx.Client, body: object, says: str
) -> None:
    answer = api.post("/api/do-not-contact", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_input"
    assert any(says in d for d in answer.json()["error"]["details"]), answer.json()
    assert api.get("/api/do-not-contact").json() == []


def test_bad_requests_elsewhere_are_4xx_too(api: httpx.Client) -> None:
    not_json = api.post(
        "/api/do-not-contact", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422, not_json.text
    assert api.get("/api/do-not-contact", params={"kind": "planet"}).status_code == 422
    assert api.get("/api/do-not-contact", params={"limit": 0}).status_code == 422
    assert api.delete("/api/do-not-contact/abc").status_code == 422
    missing = api.delete("/api/do-not-contact/999")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "not_found", "message": "no do-not-contact entry 999", "details": None}
    }


def test_add_list_remove_and_an_import_that_meets_the_list(api: httpx.Client) -> None:
    one = api.post(
        "/api/do-not-contact", json={"kind": "Company", "value": " Acme GmbH ", "reason": "client"}
    )
    assert one.status_code == 201, one.text
    assert one.json()["added"] == 1 and one.json()["stopped_journeys"] == 0
    acme = one.json()["entries"][0]
    assert (acme["kind"], acme["value"], acme["reason"], acme["source"]) == (
        "company",
        "acme gmbh",
        "client",
        "api",
    )
    many = api.post(
        "/api/do-not-contact",
        json=[
            {"kind": "person", "value": "https://www.linkedin.com/in/Jane-Doe/"},
            {"kind": "domain", "value": "https://www.rival.example/"},
            {"kind": "company", "value": "ACME GMBH"},
        ],
    ).json()
    assert (many["added"], many["already_listed"]) == (2, 1)
    assert [e["value"] for e in many["entries"]] == ["jane-doe", "rival.example", "acme gmbh"]
    listed = api.get("/api/do-not-contact").json()
    assert [e["value"] for e in listed] == ["rival.example", "jane-doe", "acme gmbh"]
    assert [e["value"] for e in api.get("/api/do-not-contact?kind=person").json()] == ["jane-doe"]

    account = api.post("/api/accounts", json={"name": "Me"}).json()["id"]
    first = api.post("/api/campaigns", json={"name": "First", "account_id": account}).json()["id"]
    other = api.post("/api/campaigns", json={"name": "Other", "account_id": account}).json()["id"]
    assert api.post(f"/api/campaigns/{first}/prospects", json=[{"slug": "al-x"}]).status_code == 200
    csv = (
        "profile_url,company,email\n"
        "linkedin.com/in/jane-doe,,\n"
        "linkedin.com/in/bo-y,Acme GmbH,\n"
        "linkedin.com/in/cy-z,,cy@rival.example\n"
        "linkedin.com/in/al-x,,\n"
        "linkedin.com/in/di-w,Initech,di@initech.example\n"
    )
    result = api.post(
        f"/api/campaigns/{other}/prospects", content=csv, headers={"content-type": "text/csv"}
    ).json()
    assert result["imported"] == 1
    assert [(b["row"], b["public_identifier"]) for b in result["blocked"]] == [
        (2, "jane-doe"),
        (3, "bo-y"),
        (4, "cy-z"),
    ]
    assert result["blocked"][1]["reason"] == (
        "on the do-not-contact list: company acme gmbh (reason: client)"
    )
    assert result["conflicts"] == [
        {"row": 5, "public_identifier": "al-x", "campaign_id": first, "campaign_name": "First"}
    ]

    removed = api.delete(f"/api/do-not-contact/{acme['id']}")
    assert removed.status_code == 200 and removed.json()["value"] == "acme gmbh"
    assert api.delete(f"/api/do-not-contact/{acme['id']}").status_code == 404
    assert len(api.get("/api/do-not-contact").json()) == 2
