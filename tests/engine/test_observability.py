"""Operators' view: /metrics in Prometheus format over real HTTP, and structured logs
that carry the journey's ids but never a secret or a message text. Both databases."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from outreach import logs
from outreach.metrics import exposition
from outreach.testing import (
    API_KEY,
    accepts_silently,
    api_client,
    find_people,
    journeys,
    launch,
    new_campaign,
    started,
    test_settings,
    wait_until,
)
from outreach.web.app import create_app
from tests.loopback import serve

NOTE = "Hello {{ first_name }}, a note only LinkedIn may read"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def test_metrics_count_what_the_provider_received(database_url: str) -> None:
    settings = test_settings(database_url)
    app = create_app(settings)
    with serve(app, lifespan="on") as url, api_client(url) as api:
        assert httpx.get(f"{url}/metrics").status_code == 401
        account = api.post(
            "/api/accounts",
            json={
                "name": "Sam",
                "work_start": "00:00",
                "work_end": "23:59",
                "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "warmup_days": 0,
            },
        ).json()
        campaign = api.post(
            "/api/campaigns",
            json={"name": "M", "account_id": account["id"]},
        ).json()
        rows = [{"profile_url": f"https://www.linkedin.com/in/metric-{i}/"} for i in range(3)]
        assert api.post(f"/api/campaigns/{campaign['id']}/prospects", json=rows).status_code == 200
        assert api.post(f"/api/campaigns/{campaign['id']}/launch").status_code == 202

        def ended() -> bool:
            found = api.get(f"/api/campaigns/{campaign['id']}/journeys").json()
            return len(found) == 3 and all(j["ended_at"] for j in found)

        def idle() -> bool:
            # A journey's end commits inside its last stage; the sender is freed when that
            # stage's workflow ends, a moment later: until then the stage counts as running.
            return (
                _value(_samples(api.get("/metrics").text), "outreach_stages", state="running") == 0
            )

        wait_until(ended, timeout=90, what="the campaign's end")
        wait_until(idle, timeout=30, what="the last stage's end")
        log = app.state.runtime.simulator.log()  # what the simulated LinkedIn received
        answer = api.get("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        samples = _samples(answer.text)
        for kind in ("invitation", "message"):
            sent = sum(1 for e in log if e["kind"] == kind)
            got = _value(samples, "outreach_sender_actions_total", kind=kind, sender="Sam")
            assert got == sent, (kind, got, sent)
        assert _value(samples, "outreach_stages_run_total") >= 3
        assert _value(samples, "outreach_stages", state="due") == 0
        total = sum(
            _value(samples, "outreach_journeys", status=s)
            for s in ("replied", "completed", "not_accepted", "failed")
        )
        assert total == 3


def test_late_stages_are_counted_when_no_worker_takes_them(database_url: str) -> None:
    settings = test_settings(database_url, late_after_minutes=15)
    with started(settings, workers=False) as rt:
        people = find_people(rt, 4, accepts_silently)
        campaign_id = new_campaign(rt, people)
        launch(rt, campaign_id)
        # No worker: the four invitations come due and nobody starts them. At the test
        # scale, 15 simulated minutes pass in a few milliseconds.
        due = min(j.next_run_at for j in journeys(rt, campaign_id) if j.next_run_at)
        wait_until(lambda: rt.clock.now() > due + timedelta(minutes=20), what="20 minutes")
        samples = _samples(exposition(rt).decode())
        assert _value(samples, "outreach_stages", state="late") == 4
        assert _value(samples, "outreach_stages", state="due") == 4
        assert _value(samples, "outreach_journeys", status="scheduled") == 4


def test_logs_carry_ids_and_never_a_secret_or_a_text(database_url: str) -> None:
    out = io.StringIO()
    handler = logs.configure("INFO", json=True, stream=out, secrets=[API_KEY])
    try:
        with started(test_settings(database_url)) as rt:
            people = find_people(rt, 2, accepts_silently)
            campaign_id = new_campaign(rt, people, templates={"invitation_note": NOTE})
            launch(rt, campaign_id)
            wait_until(
                lambda: all(j.invited_at for j in journeys(rt, campaign_id)),
                what="both invitations",
            )
            # A careless call: a field named like a text, a secret inside the message.
            logs.get("outreach.test").warning(f"key is {API_KEY}", text="Hi Ada", note="x")
            logging.getLogger("outreach.test").warning("stdlib with %s", API_KEY)
    finally:
        logging.getLogger("outreach").removeHandler(handler)
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    started_lines = [line for line in lines if line.get("event") == "stage started"]
    assert len(started_lines) >= 2
    first = started_lines[0]
    assert {"journey_id", "campaign_id", "sender_id", "workflow_id", "stage"} <= set(first)
    assert first["campaign_id"] == campaign_id
    everything = out.getvalue()
    assert API_KEY not in everything
    assert "a note only LinkedIn may read" not in everything
    assert "Hi Ada" not in everything
    careless = [line for line in lines if line.get("logger") == "outreach.test"]
    assert [line["event"] for line in careless] == ["key is [secret]", "stdlib with [secret]"]
    assert "text" not in careless[0] and "note" not in careless[0]
