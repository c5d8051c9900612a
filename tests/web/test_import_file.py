"""Importing a file in a real browser: CSV and XLSX, a mapping step with the first rows
shown, columns sent where the person chooses, good rows kept, bad rows reported with
the sheet's row numbers; markup in a cell stays text."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from outreach.testing import browser_login, ensure_user
from tests.web.conftest import KEY, shot

pytestmark = pytest.mark.browser

MARKUP = "<img src=x id=injected>"
CSV = (
    "LinkedIn;Prénom;Société;Notes\n"
    "https://www.linkedin.com/in/ada-l/;Ada;Analytical Engines;met at a fair\n"
    "not a profile;Bob;Nowhere;\n"
    f"https://www.linkedin.com/in/grace-h/;{MARKUP};US Navy;\n"
    "https://www.linkedin.com/in/ada-l/;Ada again;Analytical Engines;\n"
    ";;;\n"
    "https://www.linkedin.com/in/alan-t/;Alan;Bletchley;x\n"
)


def _campaign(url: str) -> int:
    with httpx.Client(base_url=url, headers=KEY, timeout=30) as api:
        account = api.post("/api/accounts", json={"name": "Sam"}).json()
        campaign = api.post("/api/campaigns", json={"name": "Files", "account_id": account["id"]})
        return int(campaign.json()["id"])


def test_a_csv_through_the_mapping_step(serve: Any, browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    campaign_id = _campaign(server.url)
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    page.goto(f"{server.url}/campaigns/{campaign_id}")

    page.locator("#import-file").set_input_files(str(path))
    mapping = page.locator("#mapping")
    expect(mapping.locator("tbody tr")).to_have_count(5)
    expect(page.locator("#import-preview")).to_contain_text("5 rows read from the CSV file")
    targets = page.locator("#mapping select[name=target]")
    expect(targets.nth(0)).to_have_value("profile_url")  # "LinkedIn" is recognised
    expect(targets.nth(1)).to_have_value("")  # "Prénom": an extra field unless chosen
    assert page.locator("#injected").count() == 0
    expect(mapping).to_contain_text(MARKUP)
    targets.nth(1).select_option("first_name")
    targets.nth(2).select_option("company")
    targets.nth(3).select_option("-")
    shot(page, "import-mapping")
    page.locator("#import-go").click()
    report = page.locator("#import-preview")
    expect(report.locator(".notice-ok")).to_contain_text("3 imported, 1 duplicates skipped")
    expect(report.locator("#row-errors")).to_contain_text("not a profile")
    expect(report.locator("#row-errors td").first).to_have_text("3")  # the sheet's row 3
    shot(page, "import-report")

    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        people = api.get(f"/api/campaigns/{campaign_id}/prospects").json()
    by_slug = {p["public_identifier"]: p for p in people}
    assert set(by_slug) == {"ada-l", "grace-h", "alan-t"}
    assert (by_slug["ada-l"]["first_name"], by_slug["ada-l"]["company"]) == (
        "Ada",
        "Analytical Engines",
    )
    assert by_slug["grace-h"]["first_name"] == MARKUP
    expect(page.locator("#journeys-table tbody tr")).to_have_count(3)


def test_an_xlsx_file_and_a_bad_file(serve: Any, browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    server = serve()
    ensure_user(server.runtime)
    campaign_id = _campaign(server.url)
    book = Workbook()
    sheet = book.active
    sheet.append(["profile_url", "first_name", "company", "employees"])
    sheet.append(["https://www.linkedin.com/in/xl-one/", "One", '=HYPERLINK("x")', 12.0])
    sheet.append(["https://www.linkedin.com/in/xl-two/", "Two", "Acme", 3])
    sheet.append(["nope", "Three", "Acme", 1])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = tmp_path / "people.xlsx"
    xlsx.write_bytes(buffer.getvalue())
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    browser_login(page, server.url)
    page.goto(f"{server.url}/campaigns/{campaign_id}")

    page.locator("#import-file").set_input_files(str(xlsx))
    expect(page.locator("#import-preview")).to_contain_text("3 rows read from the XLSX file")
    expect(page.locator("#mapping tbody tr").first).to_contain_text("12")
    page.locator("#import-go").click()
    expect(page.locator("#import-preview .notice-ok")).to_contain_text("2 imported")
    expect(page.locator("#row-errors td").first).to_have_text("4")

    junk = tmp_path / "people.ods"
    junk.write_bytes(b"PK\x03\x04 not a workbook")
    page.locator("#import-file").set_input_files(str(junk))
    expect(page.locator("#import-preview .notice-error")).to_contain_text(
        "save the sheet as XLSX or CSV"
    )
    with httpx.Client(base_url=server.url, headers=KEY, timeout=30) as api:
        people = api.get(f"/api/campaigns/{campaign_id}/prospects").json()
        assert {p["public_identifier"] for p in people} == {"xl-one", "xl-two"}
        one = next(p for p in people if p["public_identifier"] == "xl-one")
        # A formula is never taken as text, nor run: its last computed value (none here,
        # openpyxl computes nothing) is what is read.
        assert one["company"] is None
        export = api.get(f"/api/campaigns/{campaign_id}/prospects.csv").text
        assert "HYPERLINK" not in export and ",12" in export  # 12.0 read as a whole number
