"""Imports over real HTTP, on a SQLite file and on PostgreSQL: content types, file uploads,
encodings, and bodies that must get a clear 4xx or a row error, never a 500.

One server per database for the module (starting one costs seconds); each test imports
into a campaign of its own. Error bodies are checked for their message only: their
shape is the web layer's.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from outreach.testing import test_settings
from outreach.web.app import create_app
from tests.conftest import _pg_available, drop_pg_database, new_pg_database
from tests.loopback import serve

KEY = "imports-key-" + uuid.uuid4().hex
CP1252 = "Prénom;Company;LinkedIn\r\nZoë;Café Crème \u2013 “Paris”;linkedin.com/in/{slug}\r\n"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('http') / 'imports.db'}"
    elif _pg_available():
        url = new_pg_database()
    else:
        pytest.skip("PostgreSQL is not reachable")
    settings = test_settings(url, api_key=KEY)
    try:
        with (
            serve(create_app(settings, workers=False), lifespan="on") as base,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=60
            ) as client,
        ):
            account = client.post("/api/accounts", json={"name": "Me"})
            assert account.status_code == 201, account.text
            client.headers["X-Account"] = str(account.json()["id"])
            yield client
    finally:
        if request.param == "postgres":
            drop_pg_database(url)


@pytest.fixture
def cid(api: httpx.Client) -> int:
    made = api.post(
        "/api/campaigns",
        json={"name": f"c-{uuid.uuid4().hex[:6]}", "account_id": int(api.headers["X-Account"])},
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def send(api: httpx.Client, cid: int, body: bytes, content_type: str | None) -> httpx.Response:
    headers = {} if content_type is None else {"content-type": content_type}
    return api.post(f"/api/campaigns/{cid}/prospects", content=body, headers=headers)


def imported(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def prospects(api: httpx.Client, cid: int) -> int:
    return int(api.get(f"/api/campaigns/{cid}").json()["prospects"])


def test_json_sent_as_text_plain_is_imported(api: httpx.Client, cid: int) -> None:
    body = json.dumps([{"slug": "plain-one"}, {"slug": "plain-two"}]).encode()
    assert imported(send(api, cid, body, "text/plain"))["imported"] == 2
    assert imported(send(api, cid, body, None))["duplicates"] == 2


def test_a_file_uploaded_as_multipart_form_data(api: httpx.Client, cid: int) -> None:
    body = CP1252.format(slug="zoe-multipart").encode("cp1252")
    files = {"file": ("people.csv", body, "application/octet-stream")}
    result = imported(api.post(f"/api/campaigns/{cid}/prospects", files=files))
    assert (result["imported"], result["errors"]) == (1, [])
    journeys = api.get(f"/api/campaigns/{cid}").json()
    assert journeys["prospects"] == 1


def test_a_utf16_file_with_its_bom(api: httpx.Client, cid: int) -> None:
    body = CP1252.format(slug="zoe-utf16").encode("utf-16")
    assert imported(send(api, cid, body, "text/csv"))["imported"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"<people/>", "application/xml", 415, "cannot read a application/xml body"),
        (
            b"PK\x03\x04\x14\x00zip",
            "application/octet-stream",
            415,
            "save the sheet as XLSX or CSV",
        ),
        (random.Random(1).randbytes(5000), "text/csv", 422, "could not tell the file's encoding"),
        (b'[{"slug": "a-a", "x": NaN}]', "application/json", 422, "NaN is not a JSON number"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 422, "too deeply"),
        (b"https://www.linkedin.com/in/a/,Ann\n", "text/csv", 422, "add a header row"),
        (b'"Slug\na-a\n', "text/csv", 422, "the header row cannot be read"),
        (b"", "text/csv", 422, "the body is empty"),
        (b"x", "multipart/form-data", 422, "needs its boundary"),
    ],
)
def test_a_body_refused_as_a_whole_gets_a_clear_4xx(
    api: httpx.Client, cid: int, body: bytes, content_type: str, status: int, message: str
) -> None:
    answer = send(api, cid, body, content_type)
    assert answer.status_code == status, answer.text
    assert message in answer.text
    assert prospects(api, cid) == 0


def test_rows_that_would_break_the_insert_are_reported(api: httpx.Client, cid: int) -> None:
    body = (
        b'[{"slug": "ok-one"}, {"slug": "bad-one", "first_name": "B\\ud800"},'
        b' {"slug": "nul-one", "company": "a\\u0000b"}, {"slug": "long-one", "title": "'
        + b"t" * 301
        + b'"}, {"slug": "obj-one", "company": {"a": 1}}, {"slug": "ok-two", "tags": [1, true]}]'
    )
    result = imported(send(api, cid, body, "application/json"))
    assert result["imported"] == 2
    assert [(e["row"], e["error"]) for e in result["errors"]] == [
        (2, "column 'first_name' contains text that is not valid Unicode"),
        (3, "column 'company' contains a NUL character"),
        (4, "title is longer than 300 characters"),
        (5, "company must be text, not an object"),
    ]
    assert result["errors"][0]["data"] == {"slug": "bad-one", "first_name": "B\ufffd"}


def test_csv_the_parser_used_to_refuse(api: httpx.Client, cid: int) -> None:
    body = (
        b"Slug\rcr-one\r"  # bare CR line endings
        + b"x" * 140_000  # row 3: a value over csv's field limit
        + b"\rcr-two\r\x93bad\x94\r"  # row 5: bytes that are not UTF-8 (read as cp1252)
    )
    result = imported(send(api, cid, body, "text/csv"))
    assert result["imported"] == 2
    assert [(e["row"], e["error"]) for e in result["errors"]] == [
        (3, "column 'Slug' holds a value longer than 131,072 characters"),
        (5, "not a valid LinkedIn public identifier: '\u201cbad\u201d'"),
    ]


def test_a_javascript_profile_url_is_a_row_error(api: httpx.Client, cid: int) -> None:
    body = b"LinkedIn URL\njavascript://linkedin.com/in/x\nhttps://www.linkedin.com/in/real-one/\n"
    result = imported(send(api, cid, body, "text/csv"))
    assert result["imported"] == 1
    assert [(e["row"], e["error"][:40]) for e in result["errors"]] == [
        (2, "not a LinkedIn URL (only http and https ")
    ]
