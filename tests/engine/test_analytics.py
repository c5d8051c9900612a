"""Funnels and daily activity, judged against what the simulated LinkedIn received."""

from __future__ import annotations

from collections import Counter

from outreach.campaigns import analytics
from outreach.testing import (
    accepts_silently,
    all_ended,
    api_client,
    find_people,
    journeys,
    launch,
    never_accepts,
    new_campaign,
    started,
    test_settings,
    wait_until,
)
from outreach.web.app import create_app
from tests.loopback import serve


def test_the_funnel_and_the_days_match_what_was_sent(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        accepting = find_people(rt, 3, accepts_silently)
        refusing = find_people(rt, 2, never_accepts, prefix="n")
        campaign_id = new_campaign(rt, accepting + refusing)
        other = new_campaign(rt, find_people(rt, 1, accepts_silently, prefix="o"))
        launch(rt, campaign_id)
        wait_until(lambda: all_ended(rt, campaign_id), timeout=90, what="the campaign's end")
        now = rt.clock.now()  # read once: the compressed clock may pass midnight meanwhile
        with rt.sessions() as session:
            funnel = analytics.funnel(session, campaign_id=campaign_id)
            daily = analytics.daily(session, now=now, campaign_id=campaign_id, days=60)
            compared = {c.id: c for c in analytics.compare(session)}
        log = rt.simulator.log()
        sent = Counter(e["kind"] for e in log)
        assert (funnel.journeys, funnel.invited, funnel.accepted, funnel.replied) == (5, 5, 3, 0)
        assert funnel.acceptance_rate == 0.6 and funnel.reply_rate == 0.0
        assert sum(daily.invitations) == sent["invitation"] == 5
        assert sum(daily.messages) == sent["message"] == 3 * 5
        assert len(daily.days) == 60 and daily.days[-1] == now.date()
        by_day = Counter(e["at"].date().isoformat() for e in log if e["kind"] == "invitation")
        assert {
            d.isoformat(): n for d, n in zip(daily.days, daily.invitations, strict=True) if n
        } == dict(by_day)
        assert compared[campaign_id].funnel == funnel
        assert compared[other].funnel.journeys == 0  # not launched


def test_a_reply_marked_interested_is_the_funnels_positive_step(database_url: str) -> None:
    """Over HTTP: marking needs a reply (409 before), takes only the known intents (422),
    is on the timeline with who marked it, and moves the positive count both ways."""
    settings = test_settings(database_url)
    app = create_app(settings)
    with serve(app, lifespan="on") as url, api_client(url) as api:
        rt = app.state.runtime
        replying = find_people(rt, 2, lambda p: p.accepts and p.replies_after == 1)
        silent = find_people(rt, 1, accepts_silently, prefix="s")
        campaign_id = new_campaign(rt, replying + silent)
        launch(rt, campaign_id)
        wait_until(lambda: all_ended(rt, campaign_id), timeout=90, what="the campaign's end")
        by_status = {j.status.value: j.id for j in journeys(rt, campaign_id)}
        replied = [j.id for j in journeys(rt, campaign_id) if j.replied_at is not None]
        assert len(replied) == 2
        mark = f"/api/journeys/{replied[0]}/reply-intent"

        def funnel() -> dict[str, object]:
            answer = api.get(f"/api/campaigns/{campaign_id}/analytics")
            assert answer.status_code == 200
            return answer.json()["funnel"]  # type: ignore[no-any-return]

        # On arrival each reply was read by the built-in classifier: its intent is the
        # journey's until a person says otherwise.
        found = api.get(f"/api/campaigns/{campaign_id}/journeys").json()
        intents = {j["id"]: j["reply_intent"] for j in found if j["replied_at"]}
        assert None not in intents.values()
        assert funnel()["positive"] == sum(v == "interested" for v in intents.values())
        received = [
            e
            for e in api.get(f"/api/journeys/{replied[0]}").json()["events"]
            if e["kind"] == "reply_received"
        ]
        assert received[-1]["details"]["intent"] == intents[replied[0]]
        assert received[-1]["details"]["classifier"] == "rules-v1"
        quiet = api.post(
            f"/api/journeys/{by_status['completed']}/reply-intent", json={"intent": "interested"}
        )
        assert quiet.status_code == 409, quiet.text
        assert api.post(mark, json={"intent": "thrilled"}).status_code == 422
        assert (
            api.post("/api/journeys/999999/reply-intent", json={"intent": None}).status_code == 404
        )
        answer = api.post(mark, json={"intent": "interested"})
        assert answer.status_code == 200 and answer.json()["reply_intent"] == "interested"
        assert (
            api.post(
                f"/api/journeys/{replied[1]}/reply-intent", json={"intent": "question"}
            ).status_code
            == 200
        )
        # The tallies are the database's own: no wait for a fold to see the new counts.
        got = funnel()
        assert (got["replied"], got["positive"], got["positive_rate"]) == (2, 1, 0.5)
        timeline = api.get(f"/api/journeys/{replied[0]}").json()["events"]
        marked = [e for e in timeline if e["kind"] == "reply_marked"]
        assert marked and marked[-1]["details"]["intent"] == "interested"
        assert marked[-1]["details"]["by"]
        assert api.post(mark, json={"intent": None}).status_code == 200
        assert funnel()["positive"] == 0
        # "unsubscribe", said by a person, puts the prospect on the do-not-contact list.
        gone = api.post(f"/api/journeys/{replied[1]}/reply-intent", json={"intent": "unsubscribe"})
        assert gone.status_code == 200

        def listed() -> list[dict[str, object]]:
            entries = api.get("/api/do-not-contact").json()
            return [e for e in entries if e["value"] == gone.json()["public_identifier"]]

        entry = wait_until(listed, what="the do-not-contact entry")[0]
        assert entry["source"] == "person" and "unsubscribe" in str(entry["reason"])
