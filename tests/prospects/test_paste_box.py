"""The dashboard's paste box reads what the API reads: a quote left open is one row
error, JSON pasted is read as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from outreach.testing import Dashboard, api_client, ensure_user, test_settings
from outreach.web.app import create_app
from tests.loopback import serve


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    settings = test_settings(f"sqlite:///{tmp_path / 'paste.db'}")
    app = create_app(settings, workers=False)
    with serve(app, lifespan="on") as url:
        ensure_user(app.state.runtime)
        with api_client(url) as api:
            assert api.post("/api/accounts", json={"name": "Me"}).status_code == 201
        with Dashboard(url) as client:
            yield client


def test_the_paste_box_reports_a_quote_left_open_and_reads_json(dashboard: Dashboard) -> None:
    assert dashboard.post("/setup/campaign", data={"name": "Q", "account_id": "1"}).is_success
    pasted = (
        "First Name,Company,LinkedIn URL\n"
        'Jane,"Acme, Inc.,https://www.linkedin.com/in/jane/\n'
        "Bob,Foo,https://www.linkedin.com/in/bob/\n"
    )
    page = dashboard.post("/setup/prospects", data={"campaign_id": "1", "csv": pasted})
    assert page.status_code == 200, page.text
    assert "1 imported, 0 duplicates skipped, 1 rejected." in page.text
    assert "a quote opened in row 2 is not closed" in page.text
    as_json = json.dumps([{"slug": "ann-x"}])
    page = dashboard.post("/setup/prospects", data={"campaign_id": "1", "csv": as_json})
    assert "1 imported, 0 duplicates skipped, 0 rejected." in page.text
