"""``POST /api/events``: the seed's Inngest events over real HTTP, doing what they mean."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from outreach.config import Settings
from outreach.testing import wait_until
from outreach.web.app import create_app
from tests.loopback import serve

KEY = "test-api-key-" + uuid.uuid4().hex


def test_seed_events_launch_and_stop_on_a_reply(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'events.db'}",
        api_key=KEY,
        time_scale=172_800,
        sandbox_error_rate=0,
        sandbox_reply_rate=0,
        sandbox_accept_rate=1,
        executor_id=f"events-{uuid.uuid4().hex[:8]}",
    )
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {KEY}"}
    with serve(app, lifespan="on") as url, httpx.Client(base_url=url, headers=headers) as api:
        account = api.post(
            "/api/accounts",
            json={
                "name": "Me",
                "work_start": "00:00",
                "work_end": "23:59",
                "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            },
        ).json()["id"]
        campaign = api.post(
            "/api/campaigns",
            json={
                "name": "Seed",
                "account_id": account,
                "sequence": {"follow_up_days": [2, 300]},
                "templates": {"follow_ups": ["one", "two"]},
            },
        ).json()["id"]
        row = {"profile_url": "https://www.linkedin.com/in/seed-sam/", "first_name": "Sam"}
        assert api.post(f"/api/campaigns/{campaign}/prospects", json=[row]).json()["imported"] == 1

        launch = {"name": "campaign/connector/execute", "data": {"campaign_id": campaign}}
        first = api.post("/api/events", json=launch)
        assert first.status_code == 200, first.text
        assert first.json()[0]["outcome"] == "launched"
        assert api.post("/api/events", json=[launch]).json()[0]["outcome"] == "already_launched"

        journey = wait_until(
            lambda: (
                (found := api.get(f"/api/campaigns/{campaign}/journeys").json())
                and found[0]["follow_ups_sent"] == 1
                and found[0]
            ),
            what="follow-up 1",
        )
        provider_id = app.state.runtime.simulator.person("seed-sam").provider_id
        reply = {
            "name": "prospect/reply/received",
            "data": {
                "account_id": account,
                "provider_id": provider_id,
                "message_id": "seed-msg-1",
                "text": "Sounds good, <b>call me</b>",
            },
        }
        answers = api.post("/api/events", json=[reply, reply]).json()
        assert [a["outcome"] for a in answers] == ["processed", "duplicate"]
        detail = api.get(f"/api/journeys/{journey['id']}").json()
        assert detail["status"] == "replied"
        replies = [e for e in detail["events"] if e["kind"] == "reply_received"]
        assert [e["details"]["text"] for e in replies] == ["Sounds good, <b>call me</b>"]

        unknown = api.post("/api/events", json={"name": "campaign/unknown", "data": {}})
        assert unknown.status_code == 422
        missing = api.post(
            "/api/events", json={"name": "campaign/connector/execute", "data": {"campaign_id": 999}}
        )
        assert missing.status_code == 404
        nobody = dict(reply, data=reply["data"] | {"account_id": 999, "message_id": "m2"})
        assert api.post("/api/events", json=nobody).status_code == 404
        too_many = api.post("/api/events", json=[launch] * 101)
        assert too_many.status_code == 422
