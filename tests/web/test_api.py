"""The JSON API over real HTTP: auth, bad input, import, launch, pause/resume, a reply."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from outreach.config import Settings
from outreach.testing import wait_until
from outreach.web.app import create_app
from tests.loopback import serve

KEY = "test-api-key-" + uuid.uuid4().hex


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        api_key=KEY,
        time_scale=172_800,
        sandbox_error_rate=0,
        executor_id=f"api-{uuid.uuid4().hex[:8]}",
    )
    with (
        serve(create_app(settings), lifespan="on") as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as c,
    ):
        yield c


def test_the_api_needs_the_key(api: httpx.Client) -> None:
    anonymous = httpx.get(str(api.base_url.join("/api/campaigns")))
    assert anonymous.status_code == 401
    wrong = httpx.get(
        str(api.base_url.join("/api/campaigns")), headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    assert KEY not in wrong.text
    assert api.get("/api/campaigns").json() == []


def _account(api: httpx.Client) -> int:
    made = api.post("/api/accounts", json={"name": "Me", "timezone": "Europe/Paris"})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_bad_input_gets_a_clear_error_and_changes_nothing(api: httpx.Client) -> None:
    bad_zone = api.post("/api/accounts", json={"name": "Me", "timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 422
    assert "unknown time zone" in bad_zone.text
    assert api.get("/api/accounts").json() == []
    unipile = api.post(
        "/api/accounts", json={"name": "U", "provider": "unipile", "external_id": "x"}
    )
    assert unipile.status_code == 422
    assert "drives LinkedIn through sandbox" in unipile.json()["error"]["message"]

    account_id = _account(api)
    broken = api.post(
        "/api/campaigns",
        json={"name": "Q4", "account_id": account_id, "templates": {"invitation_note": "Hi {{ x"}},
    )
    assert broken.status_code == 422
    assert any("invitation_note" in d for d in broken.json()["error"]["details"])
    too_long = api.post(
        "/api/campaigns",
        json={"name": "Q4", "account_id": account_id, "templates": {"invitation_note": "x" * 301}},
    )
    assert too_long.status_code == 422
    assert "300" in str(too_long.json()["error"]["details"])
    assert api.get("/api/campaigns").json() == []
    assert api.get("/api/campaigns/999").status_code == 404
    assert api.post("/api/campaigns/linkedin/execute", json={"campaign_id": "x"}).status_code == 422


def test_import_launch_pause_resume_and_a_reply(api: httpx.Client) -> None:
    account_id = _account(api)
    campaign = api.post("/api/campaigns", json={"name": "Q4", "account_id": account_id}).json()
    cid = campaign["id"]
    assert campaign["status"] == "draft"

    csv = (
        "First Name;Last Name;LinkedIn URL;Company\n"
        "Ada;Lovelace;https://www.linkedin.com/in/api-ada/;Engines\n"
        "Bad;Row;https://example.com/in/nope;Nowhere\n"
        "Alan;Turing;linkedin.com/in/api-alan;Bletchley\n"
    )
    imported = api.post(
        f"/api/campaigns/{cid}/prospects", content=csv, headers={"content-type": "text/csv"}
    ).json()
    assert imported["imported"] == 2
    assert [e["row"] for e in imported["errors"]] == [3]  # the header is row 1
    as_json = api.post(
        f"/api/campaigns/{cid}/prospects",
        json=[{"public_identifier": "api-grace", "first_name": "Grace"}, {"first_name": "nobody"}],
    ).json()
    assert as_json["imported"] == 1
    assert as_json["errors"][0]["row"] == 2
    again = api.post(f"/api/campaigns/{cid}/prospects", json=[{"public_identifier": "api-grace"}])
    assert again.json()["duplicates"] == 1

    launched = api.post("/api/campaigns/linkedin/execute", json={"campaign_id": cid})
    assert launched.status_code == 202
    assert launched.json()["status"] == "active"
    summary = wait_until(
        lambda: (s := api.get(f"/api/campaigns/{cid}").json())["pending_prospects"] == 0 and s,
        what="journeys for every prospect",
    )
    assert sum(summary["journeys"].values()) == 3

    assert api.post(f"/api/campaigns/{cid}/resume").status_code == 409
    assert api.post(f"/api/campaigns/{cid}/pause").json()["status"] == "paused"
    assert api.post("/api/campaigns/linkedin/execute", json={"campaign_id": cid}).status_code == 409
    assert api.post(f"/api/campaigns/{cid}/resume").status_code == 202

    assert api.get(f"/api/campaigns/{cid}/journeys", params={"status": "bogus"}).status_code == 422
    first = api.get(f"/api/campaigns/{cid}/journeys").json()[0]
    wait_until(
        lambda: api.get(f"/api/journeys/{first['id']}").json()["invited_at"],
        what="the first invitation",
    )
    reply = api.post(
        f"/api/sandbox/journeys/{first['id']}/reply", json={"text": "Sure, let's talk"}
    )
    assert reply.status_code == 202
    journey = wait_until(
        lambda: (j := api.get(f"/api/journeys/{first['id']}").json())["status"] == "replied" and j,
        what="the reply to stop the journey",
    )
    # The stages' last word is the reply (the reply agent's draft may follow it).
    [received] = [e for e in journey["events"] if e["kind"] == "reply_received"]
    stages = [e for e in journey["events"] if not e["kind"].startswith(("draft_", "answer_"))]
    assert stages[-1] == received
    assert received["details"]["text"] == "Sure, let's talk"
    assert journey["next_run_at"] is None


def test_liveness_needs_no_key(api: httpx.Client) -> None:
    anonymous = httpx.get(str(api.base_url.join("/healthz")))
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok"}


def test_an_empty_api_key_is_refused_not_taken_as_no_key() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="set but empty"):
        Settings(api_key="")
    with pytest.raises(ValidationError, match="set but empty"):
        Settings(api_key="  ")


def test_campaign_versions_preview_and_bad_edits(api: httpx.Client) -> None:
    account = _account(api)
    made = api.post("/api/campaigns", json={"name": "V", "account_id": account}).json()
    cid = made["id"]
    assert made["version"] == 1
    imported = api.post(
        f"/api/campaigns/{cid}/prospects",
        json=[{"profile_url": "https://www.linkedin.com/in/ada/", "first_name": "Ada"}],
    )
    assert imported.json()["imported"] == 1

    preview = api.post(
        f"/api/campaigns/{cid}/preview",
        json={"templates": {"invitation_note": "Hi {{ first_name }}", "follow_ups": ["a"] * 5}},
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["prospect"] == "Ada"
    assert body["steps"][0] == {
        "name": "invitation_note",
        "day": 0,
        "text": "Hi Ada",
        "characters": 6,
        "limit": 300,
        "problems": [],
    }
    assert [s["limit"] for s in body["steps"][1:]] == [8000] * 5
    assert api.post(f"/api/campaigns/{cid}/preview", json={"prospect_id": 999}).status_code == 404

    broken = api.patch(f"/api/campaigns/{cid}", json={"templates": {"follow_ups": ["{{ oops"] * 5}})
    assert broken.status_code == 422
    assert broken.json()["error"]["details"]
    mismatched = api.patch(f"/api/campaigns/{cid}", json={"sequence": {"follow_up_days": [2, 7]}})
    assert mismatched.status_code == 422, "two days for five texts"
    assert api.patch("/api/campaigns/999999", json={"name": "x"}).status_code == 404

    renamed = api.patch(f"/api/campaigns/{cid}", json={"name": "Renamed"})
    assert renamed.status_code == 200
    assert renamed.json()["new_version"] is False
    assert renamed.json()["campaign"]["name"] == "Renamed"
    edited = api.patch(
        f"/api/campaigns/{cid}",
        json={
            "sequence": {"follow_up_days": [2, 9]},
            "templates": {"invitation_note": None, "follow_ups": ["one", "two"]},
        },
    ).json()
    assert (edited["new_version"], edited["campaign"]["version"]) == (True, 2)
    versions = api.get(f"/api/campaigns/{cid}/versions").json()
    assert [(v["version"], v["saved_by"]) for v in versions] == [(2, "bootstrap key"), (1, None)]
    assert versions[0]["templates"] == {
        "invitation_note": None,
        "follow_ups": ["one", "two"],
        "answers": {},
    }
