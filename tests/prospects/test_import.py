"""The import command on a SQLite file and on PostgreSQL: every row sent is imported or
reported, with its spreadsheet row number, and nothing a row holds makes the insert fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from outreach.accounts.commands import create_account
from outreach.campaigns.commands import create_campaign
from outreach.campaigns.schemas import CampaignCreate
from outreach.models import DoNotContactSource, Prospect
from outreach.prospects.commands import (
    ImportResult,
    add_do_not_contact,
    import_prospects,
    import_upload,
)
from outreach.prospects.schemas import DoNotContactIn
from outreach.prospects.upload import Upload, rows_from_upload
from outreach.runtime import Runtime
from outreach.testing import always_open_account, started, test_settings


@pytest.fixture
def rt(database_url: str) -> Iterator[Runtime]:
    with started(test_settings(database_url), workers=False) as runtime:
        yield runtime


def campaign(rt: Runtime, name: str = "Q4", **fields: Any) -> int:
    sender = create_account(rt, always_open_account())
    data = CampaignCreate.model_validate({"name": name, "account_id": sender.id, **fields})
    return create_campaign(rt, data).id


def stored(rt: Runtime, campaign_id: int) -> dict[str, Prospect]:
    with rt.sessions() as session:
        query = sa.select(Prospect).where(Prospect.campaign_id == campaign_id)
        return {p.public_identifier: p for p in session.execute(query).scalars()}


def accounted(result: ImportResult) -> int:
    return (
        result.imported
        + len(result.errors)
        + result.duplicates
        + len(result.conflicts)
        + len(result.blocked)
    )


def upload(rt: Runtime, campaign_id: int, body: bytes, content_type: str) -> ImportResult:
    read = rows_from_upload(body, content_type)
    result = import_upload(rt, campaign_id, read)
    assert accounted(result) == read.sent
    return result


def test_every_row_sent_is_imported_or_reported(rt: Runtime) -> None:
    other = campaign(rt, "Other")
    assert import_prospects(rt, other, [(2, {"slug": "owned-elsewhere"})]).imported == 1
    add_do_not_contact(
        rt,
        [DoNotContactIn.model_validate({"kind": "company", "value": "Blocked Inc"})],
        source=DoNotContactSource.PERSON,
    )
    cid = campaign(rt, templates={"invitation_note": "Hi {{ first_name }}"})
    text = (
        "first_name,company,public_identifier,notes\n"  # 1
        "Ann,Acme,ann-lee,\n"  # 2: imported
        ",Acme,no-name,\n"  # 3: its note needs a first name
        "Bob,Acme,https://example.com/in/bob,\n"  # 4: not LinkedIn
        "Ann,Acme,ANN-LEE,\n"  # 5: a duplicate of row 2
        "Cy,Blocked Inc,cy-x,\n"  # 6: on the do-not-contact list
        "Di,Acme,owned-elsewhere,\n"  # 7: in another campaign
        'Ed,"Acme,ed-x,\n'  # 8: a quote left open
        "Fay,Acme,fay-x,too,many\n"  # 9: more values than columns
        "\n"  # 10: blank, not a prospect
        f"Gus,{'x' * 201},gus-x,\n"  # 11: a company name longer than the column
        f"Hal,Acme,hal-x,{'n' * 140_000}\n"  # 12: a value longer than 128 KB
        "Ida,Acme,ida-x,\x00\n"  # 13: a NUL character
        "Jo,Acme,jo-x,fine\n"  # 14: imported
    )
    result = upload(rt, cid, text.encode(), "text/csv")
    assert result.imported == 2 and set(stored(rt, cid)) == {"ann-lee", "jo-x"}
    assert result.duplicates == 1
    assert [(b.row, b.public_identifier) for b in result.blocked] == [(6, "cy-x")]
    assert [(c.row, c.campaign_id) for c in result.conflicts] == [(7, other)]
    errors = {e.row: e.error for e in result.errors}
    assert sorted(errors) == [3, 4, 8, 9, 11, 12, 13]
    assert errors[3] == "invitation_note: 'first_name' is undefined"
    assert errors[4].startswith("not a valid LinkedIn public identifier")
    assert errors[8].startswith("rows 8 to 14 were read as one value: a quote opened in row 8")
    assert errors[9] == "more values than columns (5 values, 4 columns)"
    assert errors[11] == "company is longer than 200 characters"
    assert errors[12] == "column 'notes' holds a value longer than 131,072 characters"
    assert errors[13] == "column 'notes' contains a NUL character"
    echoed = next(e for e in result.errors if e.row == 12).data
    assert echoed is not None and len(echoed["notes"]) == 201, "a long value is echoed cut"


def test_json_values_and_rows_the_database_would_refuse(rt: Runtime) -> None:
    cid = campaign(rt)
    body = (
        b'[{"slug": "ann-lee", "first_name": "Ann", "tags": ["vip", 2], "meta": {"ok": true},'
        b' "score": 1.5, "company": 42},'
        b' {"slug": "bad-text", "first_name": "B\\ud800b"},'
        b' {"slug": "bad-key", "x\\udfffy": "z"},'
        b' {"slug": "bad-kind", "company": {"name": "Acme"}},'
        b' {"slug": "nul-x", "title": "a\\u0000b"},'
        b' "not an object",'
        b' {"slug": "jo-x", "first_name": "Jo"}]'
    )
    result = upload(rt, cid, body, "application/json")
    assert result.imported == 2
    assert [(e.row, e.error) for e in result.errors] == [
        (2, "column 'first_name' contains text that is not valid Unicode"),
        (3, "column 'x\ufffdy' contains text that is not valid Unicode"),
        (4, "company must be text, not an object"),
        (5, "column 'title' contains a NUL character"),
        (6, "a prospect is a JSON object, not str"),
    ]
    assert result.errors[0].data == {"slug": "bad-text", "first_name": "B\ufffdb"}
    ann = stored(rt, cid)["ann-lee"]
    assert (ann.company, ann.fields) == (
        "42",
        {"tags": ["vip", 2], "meta": {"ok": True}, "score": 1.5},
    )


def test_aliased_columns_are_both_stored(rt: Runtime) -> None:
    cid = campaign(rt)
    text = "Slug,title,Job Title,Email,E-mail\nann-lee,CTO,Chief Technology Officer,a@x.io,b@x.io\n"
    assert upload(rt, cid, text.encode(), "text/csv").imported == 1
    ann = stored(rt, cid)["ann-lee"]
    assert ann.title == "CTO"
    assert ann.fields == {
        "job_title": "Chief Technology Officer",
        "email": "a@x.io",
        "e_mail": "b@x.io",
    }


def test_an_excel_file_in_cp1252_is_stored_with_its_accents(rt: Runtime) -> None:
    cid = campaign(rt)
    text = (
        "Prénom;Company;LinkedIn;Ville\r\nZoë;Café Crème \u2013 Paris;linkedin.com/in/zoe;Nîmes\r\n"
    )
    assert upload(rt, cid, text.encode("cp1252"), "text/csv").imported == 1
    zoe = stored(rt, cid)["zoe"]
    assert (zoe.company, zoe.fields) == (
        "Café Crème \u2013 Paris",
        {"prénom": "Zoë", "ville": "Nîmes"},
    )


def test_template_problems_are_still_reported_per_row(rt: Runtime) -> None:
    note = "Hi {{ first_name }}, {{ hook | default('a note') }} at {{ company | d('your firm') }}"
    follow_up = (
        "{% if event is defined %}See you at {{ event }}{% else %}Hi{% endif %} {{ first_name }}"
    )
    cid = campaign(rt, templates={"invitation_note": note, "follow_ups": [follow_up] * 5})
    rows: list[tuple[int, dict[str, Any]]] = [
        (2, {"slug": "ok-one", "first_name": "Ann"}),
        (3, {"slug": "long-one", "first_name": "A", "hook": "h" * 300}),
        (4, {"slug": "no-name", "company": "Acme"}),
        (5, {"slug": "ok-two", "first_name": "Bo", "event": "PyCon", "company": "Acme"}),
        (6, {"slug": "odd-one", "first_name": "Cy", "hook": 7, "event": ["a", "b"]}),
    ]
    result = import_prospects(rt, cid, rows)
    assert [(e.row, e.error) for e in result.errors] == [
        (3, "invitation_note: renders to 319 characters; LinkedIn allows 300"),
        (
            4,
            "; ".join(
                ["invitation_note: 'first_name' is undefined"]
                + [f"follow_ups[{i}]: 'first_name' is undefined" for i in range(1, 6)]
            ),
        ),
    ]
    assert result.imported == 3


def test_rows_rejected_while_reading_are_reported_in_order_with_the_others(rt: Runtime) -> None:
    cid = campaign(rt)
    read = Upload(rows=[(2, {"slug": "ann-lee"}), (5, {"slug": "x"})])
    read.rejected = [rows_from_upload(b"[7]", "application/json").rejected[0]]
    read.rejected[0].row = 3
    result = import_upload(rt, cid, read)
    assert [(e.row, e.error.split(":")[0]) for e in result.errors] == [
        (3, "a prospect is a JSON object, not int"),
        (5, "not a valid LinkedIn public identifier"),
    ]
    assert accounted(result) == read.sent == 3


def test_odd_characters_are_stored_exactly(rt: Runtime) -> None:
    # PostgreSQL gets new prospects through COPY, whose text format escapes these.
    odd = 'tab\there, line\nbreak, back\\slash \\N, cr\r, "quotes", \u2028, 🙂, =1+1'
    cid = campaign(rt)
    row = {"slug": "odd-one", "company": odd[:200], "notes": odd, "deep": {"k": [odd, None]}}
    assert import_prospects(rt, cid, [(2, row), (3, {"slug": "plain-one"})]).imported == 2
    found = stored(rt, cid)
    assert found["odd-one"].company == odd[:200]
    assert found["odd-one"].fields == {"notes": odd, "deep": {"k": [odd, None]}}
    assert found["plain-one"].fields == {} and found["plain-one"].first_name is None
    assert found["odd-one"].created_at.tzinfo is not None
