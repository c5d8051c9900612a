"""Fuzzing imports: random rows (good, bad, repeated, blank, odd characters, quotes,
delimiters, line endings, encodings, content types) through ``rows_from_upload`` and
``add_prospects`` on a SQLite file. Every row sent is imported or reported, and nothing
but the documented refusals (``InvalidInput``, ``UnsupportedMediaType``) is raised.

Each example runs in a transaction that is rolled back, so examples do not see each
other's prospects.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from outreach.accounts.commands import create_account
from outreach.campaigns.commands import create_campaign
from outreach.campaigns.schemas import CampaignCreate
from outreach.db import create_engine, make_sessionmaker
from outreach.errors import InvalidInput, UnsupportedMediaType
from outreach.prospects.commands import ImportResult, add_prospects
from outreach.prospects.upload import Upload, rows_from_upload
from outreach.testing import always_open_account, started, test_settings

HEADER = ["LinkedIn URL", "First Name", "Company", "Notes"]
ODD = [",", ";", "\t", "|", '"', "'", "\n", "\r", "\r\n", " ", "=", "+", "@", "-", "é", "ß"]
ODD += ["€", "“", "\u2013", "\u00a0", "\u2028", "\x85", "\x00", "\\", "🙂", "Łódź", "Zoë", "日本"]
SLUGS = [f"fuzz-{i}" for i in range(10)]  # few: rows repeat people
BAD_PEOPLE = [
    "javascript://linkedin.com/in/x",
    "https://example.com/in/x",
    "linkedin.com/company/acme",
    "",
    "   ",
    "x" * 300,
]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
Sessions = sessionmaker[Session]

words = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=6)
odd_text = st.lists(
    st.one_of(st.sampled_from(ODD), words, st.characters(exclude_categories=["Cs"])),
    max_size=6,
).map("".join)
plain_text = st.lists(
    st.one_of(words, st.sampled_from(["é", "Zoë", "=1+1", "@x", "🙂"])), max_size=4
)
person = st.one_of(
    st.sampled_from(SLUGS).map(lambda s: f"https://www.linkedin.com/in/{s}/"),
    st.sampled_from(SLUGS).map(lambda s: f"linkedin.com/in/{s.upper()}"),
    st.sampled_from(BAD_PEOPLE),
)


def cells(values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(
        st.tuples(person, values, values, values).map(list),
        st.tuples(person, st.just("n" * 201), values, values).map(list),  # too long
        st.just(["", "", "", ""]),  # blank
        st.lists(values, min_size=1, max_size=6),  # too few or too many values
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sessions, int]]:
    """A SQLite file with a campaign, and sessions on it. The runtime that made the
    campaign is stopped first: its threads draw from ``random``, which Hypothesis
    rightly takes for the test drawing outside its strategies."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    with started(test_settings(url), workers=False) as rt:
        sender = create_account(rt, always_open_account())
        cid = create_campaign(rt, CampaignCreate(name="fuzz", account_id=sender.id)).id
    engine = create_engine(url)
    try:
        yield make_sessionmaker(engine), cid
    finally:
        engine.dispose()


def imported(
    database: tuple[Sessions, int], body: bytes, content_type: str
) -> tuple[Upload, ImportResult]:
    read = rows_from_upload(body, content_type)
    sessions, cid = database
    with sessions() as session:
        try:
            result = add_prospects(session, cid, read.rows, now=NOW, rejected=read.rejected)
        finally:
            session.rollback()
    return read, result


def reported(result: ImportResult) -> int:
    return (
        result.imported
        + len(result.errors)
        + result.duplicates
        + len(result.conflicts)
        + len(result.blocked)
    )


def encoded(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode("utf-8")


def as_upload(body: bytes, how: str) -> tuple[bytes, str]:
    if how != "multipart":
        return body, how
    request = httpx.Request("POST", "http://x/", files={"file": ("people.csv", body, "")})
    return request.read(), request.headers["content-type"]


def written(rows: list[list[str]], delimiter: str, newline: str) -> str:
    """RFC 4180, as spreadsheets write it: a value with the delimiter, a quote, a CR or an
    LF is quoted. (``csv.writer`` quotes only for its own line terminator's characters:
    it leaves a lone CR bare when the lines end in LF.)"""

    def cell(value: str) -> str:
        if any(char in value for char in (delimiter, '"', "\r", "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(delimiter.join(cell(v) for v in row) + newline for row in rows)


def blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def check(database: tuple[Sessions, int], body: bytes, content_type: str, sent: int) -> None:
    try:
        read, result = imported(database, body, content_type)
    except (InvalidInput, UnsupportedMediaType):
        return  # a refusal of the whole body, with its message: documented
    assert read.sent == sent
    assert reported(result) == sent, (result, read.rejected)
    assert result.imported <= len(SLUGS)


SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    rows=st.lists(cells(odd_text), max_size=14),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    how=st.sampled_from(["text/csv", "text/plain", "application/octet-stream", "multipart"]),
)
def test_csv_rows_are_all_accounted_for(
    database: tuple[Sessions, int],
    rows: list[list[str]],
    delimiter: str,
    newline: str,
    encoding: str,
    how: str,
) -> None:
    text = written([HEADER, *rows], delimiter, newline)
    body, content_type = as_upload(encoded(text, encoding), how)
    check(database, body, content_type, sum(1 for row in rows if not blank(row)))


@SETTINGS
@given(
    rows=st.lists(cells(plain_text.map(" ".join)), min_size=1, max_size=12),
    broken=st.integers(min_value=0),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_a_quote_left_open_loses_no_row(
    database: tuple[Sessions, int], rows: list[list[str]], broken: int, newline: str
) -> None:
    """A hand-edited file: one value opens a quote it never closes, the other values are
    plain. (A quote left open that the next row's own quotes close at once, with a value
    that starts with a line break, is not told apart: see ``csvreader.Records``.)"""
    at = broken % len(rows)
    lines = [",".join(HEADER)]
    for n, row in enumerate(rows):
        line = ",".join(cell.replace(",", " ") for cell in row)
        if n == at:  # a quote opens the second value (or the first, of a row of one)
            line = line.replace(",", ',"x', 1) if "," in line else f'"x{line}'
        lines.append(line)
    text = newline.join(lines) + newline
    sent = sum(1 for n, row in enumerate(rows) if n == at or not blank(row))
    check(database, text.encode(), "text/csv", sent)


json_values = st.one_of(
    odd_text,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(words, odd_text, max_size=2),
    st.sampled_from(["\ud800", "a\udfffb", "\x00"]),
)
json_rows = st.one_of(
    st.fixed_dictionaries(
        {"linkedin_url": person},
        optional={"first_name": json_values, "company": json_values, "Job Title": json_values},
    ).flatmap(lambda row: st.dictionaries(words, json_values, max_size=3).map(row.__or__)),
    json_values,  # not an object
    st.just({}),
)


@SETTINGS
@given(
    rows=st.lists(json_rows, max_size=14),
    wrapped=st.booleans(),
    ascii_only=st.booleans(),
    how=st.sampled_from(["application/json", "text/plain", "", "multipart"]),
)
def test_json_rows_are_all_accounted_for(
    database: tuple[Sessions, int], rows: list[Any], wrapped: bool, ascii_only: bool, how: str
) -> None:
    text = json.dumps({"prospects": rows} if wrapped else rows, ensure_ascii=ascii_only)
    body, content_type = as_upload(text.encode("utf-8", "surrogatepass"), how)
    check(database, body, content_type, len(rows))
