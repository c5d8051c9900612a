"""The CSV export of a campaign's prospects: formulas neutralised, every field a column,
streamed in batches (100,000 prospects), and ``outreach campaigns export``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outreach.accounts.commands import create_account
from outreach.campaigns.commands import create_campaign
from outreach.campaigns.schemas import CampaignCreate
from outreach.errors import NotFound
from outreach.models import Prospect
from outreach.prospects import export
from outreach.prospects.commands import import_prospects
from outreach.prospects.export import export_csv, neutralised, write_csv
from outreach.runtime import Runtime
from outreach.testing import always_open_account, started, test_settings


@pytest.fixture
def rt(database_url: str) -> Iterator[Runtime]:
    with started(test_settings(database_url), workers=False) as runtime:
        yield runtime


def campaign(rt: Runtime) -> int:
    sender = create_account(rt, always_open_account())
    return create_campaign(rt, CampaignCreate(name="Q4", account_id=sender.id)).id


def exported(rt: Runtime, campaign_id: int) -> list[dict[str, str]]:
    with rt.sessions() as session:
        text = "".join(export_csv(session, campaign_id))
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Acme = good", "Acme = good"),
        ("", ""),
        (None, ""),
        (3, "3"),
        (["=x"], '["=x"]'),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(value: object, cell: str) -> None:
    assert neutralised(value) == cell


def test_the_export_neutralises_formulas_and_keeps_every_field(rt: Runtime) -> None:
    cid = campaign(rt)
    rows: list[tuple[int, dict[str, Any]]] = [
        (2, {"slug": "ann-lee", "first_name": "=cmd|' /C calc'!A0", "company": "Acme"}),
        (3, {"slug": "bob-roe", "title": "+CEO", "Notes": "@SUM(1)", "score": 7, "tags": ["a"]}),
        (4, {"slug": "cy-x", "status": "=1", "Evil": "=x", "Prénom": "Zoë"}),
    ]
    assert import_prospects(rt, cid, rows).imported == 3
    got = exported(rt, cid)
    assert list(got[0]) == [
        *export.COLUMNS,
        "evil",
        "notes",
        "prénom",
        "score",
        "field_status",
        "tags",
    ]
    assert [r["public_identifier"] for r in got] == ["ann-lee", "bob-roe", "cy-x"]
    assert got[0]["first_name"] == "'=cmd|' /C calc'!A0"
    assert (got[1]["title"], got[1]["notes"], got[1]["score"], got[1]["tags"]) == (
        "'+CEO",
        "'@SUM(1)",
        "7",
        '["a"]',
    )
    assert (got[2]["field_status"], got[2]["evil"], got[2]["prénom"]) == ("'=1", "'=x", "Zoë")
    assert {r["status"] for r in got} == {"pending"}
    assert got[0]["profile_url"] == "https://www.linkedin.com/in/ann-lee/"
    with rt.sessions() as session, pytest.raises(NotFound):
        list(export_csv(session, 999))


def test_an_empty_campaign_exports_its_header(rt: Runtime) -> None:
    cid = campaign(rt)
    with rt.sessions() as session:
        out = io.StringIO(newline="")
        assert write_csv(session, cid, out) == 0
    assert out.getvalue() == ",".join(export.COLUMNS) + "\r\n"


def test_100_000_prospects_are_streamed_in_batches(sqlite_url: str) -> None:
    with started(test_settings(sqlite_url), workers=False) as rt:
        cid = campaign(rt)
        now = datetime.now(UTC)
        with rt.sessions() as session, session.begin():
            session.execute(
                sa.insert(Prospect),
                [
                    {
                        "campaign_id": cid,
                        "public_identifier": f"p-{i:06d}",
                        "first_name": "=1+1" if i % 2 else "Ann",
                        "fields": {"n": i},
                        "created_at": now,
                    }
                    for i in range(100_000)
                ],
            )
        with rt.sessions() as session:
            chunks = export_csv(session, cid)
            header = next(chunks)
            sizes, last = [], ""
            for chunk in chunks:
                sizes.append(chunk.count("\r\n"))
                last = chunk
    assert header.startswith("public_identifier,")
    assert sum(sizes) == 100_000 and max(sizes) == export.BATCH
    assert last.endswith(f"p-099999,,,'=1+1,,,,pending,{now.isoformat()},99999\r\n")


def outreach(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {
        "OUTREACH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "OUTREACH_EXECUTOR_ID": "cli-export-test",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "outreach", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_export_command(tmp_path: Path) -> None:
    assert outreach(tmp_path, "accounts", "create", "Me").returncode == 0
    assert outreach(tmp_path, "campaigns", "create", "Q4", "--account-id", "1").returncode == 0
    (tmp_path / "people.csv").write_bytes(
        "LinkedIn URL;First Name;Company\r\n"
        'linkedin.com/in/cli-ann;Zoë;=HYPERLINK("http://x")\r\n'.encode("cp1252")
    )
    assert outreach(tmp_path, "campaigns", "import", "1", "people.csv").returncode == 0

    to_file = outreach(tmp_path, "campaigns", "export", "1", "--output", "out.csv")
    assert to_file.returncode == 0, to_file.stdout + to_file.stderr
    assert "1 prospects exported to out.csv" in to_file.stdout
    written = (tmp_path / "out.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbfpublic_identifier,"), "a BOM, for Excel"
    row = next(csv.DictReader(io.StringIO(written.decode("utf-8-sig"), newline="")))
    assert (row["first_name"], row["company"]) == ("Zoë", '\'=HYPERLINK("http://x")')

    to_stdout = outreach(tmp_path, "campaigns", "export", "1")
    assert to_stdout.returncode == 0
    assert to_stdout.stdout.startswith("public_identifier,") and "cli-ann" in to_stdout.stdout
    assert "1 prospects exported" in to_stdout.stderr
    missing = outreach(tmp_path, "campaigns", "export", "9", "--output", "none.csv")
    assert missing.returncode == 1 and "no campaign 9" in missing.stdout
    assert not (tmp_path / "none.csv").exists()
