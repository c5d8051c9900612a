"""An answer leaves only after its write is committed, on both databases, over HTTP.

A client that gets its 201 and uses the id at once must find it; a double click on
Launch is one launch; a launch with nothing to launch is a clear 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from dbos import DBOS

from outreach.campaigns.workflows import schedule_campaign
from outreach.testing import TEST_SCALE, api_client, test_settings
from outreach.web.app import create_app
from tests.loopback import serve


@pytest.fixture
def api(database_url: str) -> Iterator[httpx.Client]:
    settings = test_settings(database_url, executor_id=f"rw-{uuid.uuid4().hex[:8]}")
    assert settings.time_scale == TEST_SCALE
    with (
        serve(create_app(settings), lifespan="on") as url,
        api_client(url) as client,
    ):
        yield client


def test_what_was_created_is_there_at_once(api: httpx.Client) -> None:
    account = api.post("/api/accounts", json={"name": "Me"})
    assert account.status_code == 201, account.text
    account_id = account.json()["id"]
    for i in range(200):
        made = api.post("/api/campaigns", json={"name": f"C{i}", "account_id": account_id})
        assert made.status_code == 201, made.text
        read = api.get(f"/api/campaigns/{made.json()['id']}")
        assert read.status_code == 200, (i, read.text)
        paused = api.post(f"/api/accounts/{account_id}/{'pause' if i % 2 == 0 else 'resume'}")
        assert paused.status_code == 200, paused.text
        status = api.get(f"/api/accounts/{account_id}").json()["status"]
        assert status == ("paused" if i % 2 == 0 else "active"), (i, status)


def test_a_double_launch_is_one_launch_and_nothing_to_launch_is_a_409(api: httpx.Client) -> None:
    account_id = api.post("/api/accounts", json={"name": "Me"}).json()["id"]
    empty = api.post("/api/campaigns", json={"name": "Empty", "account_id": account_id}).json()
    refused = api.post(f"/api/campaigns/{empty['id']}/launch")
    assert refused.status_code == 409, refused.text
    assert "no prospects" in refused.json()["error"]["message"]

    campaign = api.post("/api/campaigns", json={"name": "C", "account_id": account_id}).json()
    rows = [{"public_identifier": f"double-{i}", "first_name": "Ada"} for i in range(5)]
    assert api.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows).status_code == 200
    with ThreadPoolExecutor(2) as pool:
        clicks = list(
            pool.map(lambda _: api.post(f"/api/campaigns/{campaign['id']}/launch"), range(2))
        )
    assert [c.status_code for c in clicks] == [202, 202], [c.text for c in clicks]
    assert len({c.json()["workflow_id"] for c in clicks}) == 1
    assert sorted(c.json()["started"] for c in clicks) == [False, True]
    runs = DBOS.list_workflows(name=schedule_campaign.__qualname__)
    assert len(runs) == 1, runs
