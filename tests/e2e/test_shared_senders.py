"""Two campaigns, two senders, shared people, a cap lowered mid-campaign, a sender restricted.

Through our HTTP API with compressed time (the simulator behind it). Judged from the
journeys' timelines: no cap exceeded on any day, no invitation gap below the band, nobody
contacted twice, every action inside working hours; the restricted sender stops and says
why, the other goes on.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

import httpx
import pytest

from outreach import runtime
from outreach.campaigns.scheduling import WorkingHours
from outreach.testing import wait_until
from outreach.timing import Sent, gaps_outside, invitation_gaps, outside_hours
from tests.e2e.conftest import serve_sandbox

HOURS = WorkingHours("America/New_York", clock_time(9), clock_time(18))
DAILY, LOWERED = 12, 4
TERMINAL = {"completed", "not_accepted", "replied", "failed"}


@dataclass
class Action:
    sender: int
    campaign: int
    person: str
    sent: Sent


@pytest.fixture
def app(database_url: str) -> Iterator[httpx.Client]:
    with serve_sandbox(database_url) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def sender(app: httpx.Client, name: str) -> dict[str, Any]:
    body = {
        "name": name,
        "timezone": HOURS.timezone,
        "work_start": "09:00:00",
        "work_end": "18:00:00",
        "daily_invite_cap": DAILY,
        "weekly_invite_cap": 5 * DAILY,
        "warmup_days": 0,
    }
    return dict(ok(app.post("/api/accounts", json=body), 201))


def campaign(app: httpx.Client, name: str, *senders: int) -> dict[str, Any]:
    body = {"name": name, "account_id": senders[0], "account_ids": list(senders[1:])}
    return dict(ok(app.post("/api/campaigns", json=body), 201))


def people(prefix: str, count: int) -> list[dict[str, str]]:
    return [
        {"profile_url": f"https://www.linkedin.com/in/{prefix}-{i}", "first_name": "P"}
        for i in range(count)
    ]


def actions(app: httpx.Client, campaign_id: int) -> list[Action]:
    found = []
    for journey in ok(app.get(f"/api/campaigns/{campaign_id}/journeys")):
        detail = ok(app.get(f"/api/journeys/{journey['id']}"))
        for event in detail["events"]:
            kind = {"invitation_sent": "invitation", "message_sent": "message"}.get(event["kind"])
            if kind is not None:
                at = datetime.fromisoformat(event["at"])
                sent = Sent(kind, at, journey["id"])
                found.append(
                    Action(detail["account_id"], campaign_id, journey["public_identifier"], sent)
                )
    return found


def test_two_campaigns_share_two_senders_a_cap_is_lowered_and_one_sender_is_restricted(
    app: httpx.Client,
) -> None:
    a, b = sender(app, "A"), sender(app, "B")
    shared, own = people("shared", 30), people("own", 12)
    first = campaign(app, "One", a["id"], b["id"])
    second = campaign(app, "Two", b["id"], a["id"])
    assert ok(app.post(f"/api/campaigns/{first['id']}/prospects", json=shared))["imported"] == 30
    answer = ok(app.post(f"/api/campaigns/{second['id']}/prospects", json=shared + own))
    assert answer["imported"] == 12
    assert {c["campaign_id"] for c in answer["conflicts"]} == {first["id"]}
    assert len(answer["conflicts"]) == 30
    for launched in (first, second):
        ok(app.post(f"/api/campaigns/{launched['id']}/launch"), 202)

    # A cap lowered mid-campaign: once A has sent on its second working day.
    def a_busy_on_day_two() -> dict[str, Any] | None:
        found = ok(app.get(f"/api/accounts/{a['id']}"))
        today = found["governor"]["invitations"]["today"]
        week = found["governor"]["invitations"]["this_week"]
        return found if today >= 1 and week > today else None

    before = wait_until(a_busy_on_day_two, timeout=120, what="A's second day")
    lowered = ok(app.patch(f"/api/accounts/{a['id']}", json={"daily_invite_cap": LOWERED}))
    assert lowered["governor"]["invitations"]["day_cap"] == LOWERED
    lowered_at = datetime.fromisoformat(ok(app.get("/api/health"))["sim_time"])
    sent_when_lowered = before["governor"]["invitations"]["today"]

    # One sender restricted by LinkedIn: it stops at its next action and says why.
    simulator = runtime.current().simulator
    assert simulator is not None
    simulator.restrict(b["external_id"])
    paused = wait_until(
        lambda: (found := ok(app.get(f"/api/accounts/{b['id']}")))["status"] == "paused" and found,
        timeout=120,
        what="B to be paused",
    )
    assert "restricted" in paused["status_reason"] and paused["paused_by"] == "provider"
    restricted_at = datetime.fromisoformat(ok(app.get("/api/health"))["sim_time"])

    def a_done() -> bool:
        journeys = [
            j for c in (first, second) for j in ok(app.get(f"/api/campaigns/{c['id']}/journeys"))
        ]
        mine = [j for j in journeys if j["account_id"] == a["id"]]
        theirs = [j for j in journeys if j["account_id"] == b["id"]]
        return (
            bool(mine)
            and all(j["status"] in TERMINAL for j in mine)
            and all(j["status"] in TERMINAL or j["held"] for j in theirs)
        )

    wait_until(a_done, timeout=240, what="A's journeys to end and B's to be held")

    done = actions(app, first["id"]) + actions(app, second["id"])
    # Nobody contacted twice, by either campaign or sender.
    invited = Counter(x.person for x in done if x.sent.kind == "invitation")
    assert invited and max(invited.values()) == 1
    assert len({(x.person, x.sender) for x in done}) == len({x.person for x in done})
    # Every action inside working hours; no invitation gap below the band, per sender.
    assert outside_hours([x.sent for x in done], HOURS) == []
    for sid in (a["id"], b["id"]):
        mine = [x.sent for x in done if x.sender == sid]
        gaps = invitation_gaps(mine, HOURS)
        assert gaps_outside(gaps, timedelta(minutes=18), timedelta(days=1)) == []
    # No cap exceeded on any day, the lowered one included.
    per_day: dict[tuple[int, str], int] = defaultdict(int)
    for x in done:
        if x.sent.kind == "invitation":
            per_day[x.sender, HOURS.local_day(x.sent.at).isoformat()] += 1
    lowered_day = HOURS.local_day(lowered_at).isoformat()
    for (sid, day), count in per_day.items():
        if sid == a["id"] and day > lowered_day:
            assert count <= LOWERED, (day, count)
        elif sid == a["id"] and day == lowered_day:
            assert count <= max(LOWERED, sent_when_lowered + 1), (day, count)
        else:
            assert count <= DAILY, (sid, day, count)
    # The restricted sender sent nothing after LinkedIn restricted it.
    assert not [x for x in done if x.sender == b["id"] and x.sent.at > restricted_at]
    # What LinkedIn received: each person only ever from their own sender's account.
    external = {a["id"]: a["external_id"], b["id"]: b["external_id"]}
    sender_of = {x.person: external[x.sender] for x in done}
    received = simulator.log()
    assert received
    for item in received:
        assert item["account"] == sender_of[item["public_identifier"]], item
    # A went on alone: it finished its journeys in both campaigns.
    assert {x.campaign for x in done if x.sender == a["id"]} == {first["id"], second["id"]}
