"""The reply agent on the simulator, on both databases: a reply is drafted an answer that
waits for a person as a row; approved, it reaches the simulator exactly once (counted in
the simulator's own log), however the approval is clicked; rejected, edited, expired,
superseded by a second reply, or in draft-only mode, it does what it says."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from outreach.errors import Conflict
from outreach.models import DraftStatus, Journey
from outreach.replies import commands
from outreach.runtime import Runtime
from outreach.testing import (
    events,
    find_people,
    launch,
    new_campaign,
    started,
    test_settings,
    wait_until,
)
from tests.replies.helpers import (
    account_of,
    drafts_of,
    messages_to,
    replied,
)


def _kinds(rt: Runtime, journey_id: int) -> list[str]:
    return [e.kind.value for e in events(rt, journey_id)]


def test_a_reply_is_drafted_and_the_approved_answer_goes_once(database_url: str) -> None:
    with replied(database_url) as (rt, journey_id, draft):
        assert draft.intent.value == "interested"
        assert draft.provenance["drafter"] == "templates-v1"
        assert draft.provenance["classifier"] == "rules-v1"
        assert "call" in draft.text
        before = messages_to(rt, journey_id)
        assert draft.text not in before  # nothing goes without approval
        approved = commands.approve(rt, draft.id, None, by="ana")
        assert approved.status is DraftStatus.APPROVED
        with pytest.raises(Conflict, match="approved by ana"):
            commands.approve(rt, draft.id, None, by="bo")
        wait_until(
            lambda: drafts_of(rt, journey_id)[-1].status is DraftStatus.SENT,
            timeout=30,
            what="the answer sent",
        )
        after = messages_to(rt, journey_id)
        assert after.count(draft.text) == 1 and len(after) == len(before) + 1
        kinds = _kinds(rt, journey_id)
        assert kinds.index("draft_ready") < kinds.index("answer_approved")
        assert kinds.index("answer_approved") < kinds.index("answer_sent")


def test_two_people_approving_at_once_send_one_answer(database_url: str) -> None:
    with replied(database_url) as (rt, journey_id, draft):
        before = len(messages_to(rt, journey_id))
        outcomes: list[str] = []
        gate = threading.Barrier(4)

        def click(who: str) -> None:
            gate.wait()
            try:
                commands.approve(rt, draft.id, f"Edited by {who}: let's talk Tuesday.", by=who)
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=click, args=(f"p{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
        sent = wait_until(
            lambda: next(
                (d for d in drafts_of(rt, journey_id) if d.status is DraftStatus.SENT), None
            ),
            timeout=30,
            what="the answer sent",
        )
        texts = messages_to(rt, journey_id)
        assert len(texts) == before + 1 and texts[-1] == sent.answer
        assert sent.answer is not None and sent.answer.startswith("Edited by")


def test_rejected_and_expired_drafts_send_nothing(database_url: str) -> None:
    # 1.8 wall-clock seconds to decide; the first draft is rejected before that.
    with replied(database_url, draft_timeout_hours=0.0005) as (rt, journey_id, draft):
        count = len(messages_to(rt, journey_id))
        rejected = commands.reject(rt, draft.id, "not our market", by="ana")
        assert rejected.status is DraftStatus.REJECTED
        with pytest.raises(Conflict, match="rejected"):
            commands.approve(rt, draft.id, None, by="ana")
        # A second reply: drafted anew, then nobody decides.
        assert rt.simulator is not None
        with rt.sessions() as session:
            journey = session.get(Journey, journey_id)
            assert journey is not None
            target = (journey.prospect.provider_id, journey.account_id)
        account = account_of(rt, target[1])
        rt.simulator.reply(account, target[0], "Actually, what does it cost?")
        expired = wait_until(
            lambda: next(
                (d for d in drafts_of(rt, journey_id) if d.status is DraftStatus.EXPIRED), None
            ),
            timeout=60,
            what="the second draft expired",
        )
        assert expired.intent.value == "question"
        assert "nobody decided" in (expired.error or "")
        with pytest.raises(Conflict):
            commands.approve(rt, expired.id, None, by="ana")
        assert len(messages_to(rt, journey_id)) == count
        assert "draft_expired" in _kinds(rt, journey_id)


def test_a_second_reply_supersedes_the_waiting_draft(database_url: str) -> None:
    with replied(database_url) as (rt, journey_id, draft):
        assert rt.simulator is not None
        with rt.sessions() as session:
            journey = session.get(Journey, journey_id)
            assert journey is not None
            provider_id, account_id = journey.prospect.provider_id, journey.account_id
        assert provider_id is not None
        rt.simulator.reply(
            account_of(rt, account_id), provider_id, "I'm out of office until 2027-01-04."
        )
        newer = wait_until(
            lambda: next((d for d in drafts_of(rt, journey_id) if d.id != draft.id), None),
            timeout=30,
            what="the second draft",
        )
        first = drafts_of(rt, journey_id)[0]
        assert first.status is DraftStatus.SUPERSEDED
        assert newer.status is DraftStatus.PENDING and newer.intent.value == "out_of_office"
        assert "after Monday 4 January" in newer.text
        with pytest.raises(Conflict, match="superseded"):
            commands.approve(rt, draft.id, None, by="ana")
        assert "draft_superseded" in _kinds(rt, journey_id)


def test_draft_only_mode_sends_nothing_through_the_provider(database_url: str) -> None:
    with replied(database_url, draft_only=True) as (rt, journey_id, draft):
        count = len(messages_to(rt, journey_id))
        with pytest.raises(Conflict, match="draft-only"):
            commands.approve(rt, draft.id, None, by="ana")
        marked = commands.mark_sent(rt, draft.id, "Typed it myself.", by="ana")
        assert marked.status is DraftStatus.MARKED_SENT and marked.answer == "Typed it myself."
        assert len(messages_to(rt, journey_id)) == count
        sent = [e for e in events(rt, journey_id) if e.kind.value == "answer_sent"]
        assert sent and sent[-1].details["by_hand"] is True


def test_a_reply_asking_to_stop_gets_no_draft(database_url: str) -> None:
    with started(test_settings(database_url)) as rt:
        stop = find_people(
            rt,
            1,
            lambda p: (
                p.accepts and p.replies_after == 1 and p.reply_text.startswith("Please remove me")
            ),
        )
        campaign_id = new_campaign(rt, stop)
        launch(rt, campaign_id)
        with rt.sessions() as session:
            journey_id = session.execute(
                sa.select(Journey.id).where(Journey.campaign_id == campaign_id)
            ).scalar_one()
        wait_until(lambda: "reply_received" in _kinds(rt, journey_id), timeout=90, what="the reply")
        wait_until(lambda: _workflow_done("reply-agent-"), timeout=30, what="the agent's run")
        assert drafts_of(rt, journey_id) == []


def _workflow_done(prefix: str) -> bool:
    from dbos import DBOS

    found = DBOS.list_workflows(workflow_id_prefix=prefix)
    return bool(found) and all(w.status == "SUCCESS" for w in found)


def test_the_sweep_starts_an_agent_lost_between_commit_and_start(database_url: str) -> None:
    """A reply committed, then the process died before its agent started: the sweep's
    repair starts it (and starting it again is a no-op)."""
    from outreach.replies.agent import restart_lost
    from outreach.replies.service import Inbound, record_inbound
    from outreach.uow import take_deferred, transaction

    with replied(database_url) as (rt, journey_id, draft):
        with rt.sessions() as session:
            journey = session.get(Journey, journey_id)
            assert journey is not None and journey.prospect.provider_id is not None
            provider_id = journey.prospect.provider_id
        inbound = Inbound(
            account_of(rt, draft.account_id),
            provider_id,
            "lost-1",
            "Who else uses it?",
            rt.clock.now(),
            "webhook",
        )
        with rt.sessions() as session, session.begin():
            assert record_inbound(session, rt.clock.now(), inbound) == "processed"
            lost = take_deferred(session)  # the crash: committed, never started
        assert [w.workflow for w in lost] == ["outreach.replies.agent:reply_agent"]
        with transaction(rt) as session:
            assert restart_lost(session, rt.clock.now()) >= 1
        with transaction(rt) as session:  # again (its agent may have drafted already): no-op
            restart_lost(session, rt.clock.now())
        newer = wait_until(
            lambda: next((d for d in drafts_of(rt, journey_id) if d.id != draft.id), None),
            timeout=30,
            what="the lost reply's draft",
        )
        assert newer.intent.value == "question" and newer.status is DraftStatus.PENDING
        assert drafts_of(rt, journey_id)[0].status is DraftStatus.SUPERSEDED
        assert len(drafts_of(rt, journey_id)) == 2


# -- a campaign's own answers; announcements ------------------------------------------------


def test_a_campaigns_own_answer_text_is_the_draft(database_url: str) -> None:
    from outreach.campaigns.sequence import Templates

    texts = Templates(answers={"interested": "Lovely, {{ first_name | default('friend') }}!"})
    with replied(database_url, {"templates": texts}) as (_rt, _journey_id, draft):
        assert draft.text.startswith("Lovely, ") and draft.provenance["template"] == "campaign"


def test_an_answer_text_for_an_intent_never_answered_is_refused() -> None:
    from pydantic import ValidationError

    from outreach.campaigns.sequence import Templates

    with pytest.raises(ValidationError, match="answers only"):
        Templates(answers={"unsubscribe": "Sorry to see you go"})


@contextmanager
def hook(status: int = 200) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server standing in for the notification webhook (Slack or another)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from tests.loopback import serve

    received: list[dict[str, Any]] = []

    async def take(request: Request) -> Response:
        received.append(await request.json())
        return Response(status_code=status)

    with serve(Starlette(routes=[Route("/hook", take, methods=["POST"])])) as url:
        yield f"{url}/hook", received


def test_a_new_draft_is_announced_in_slacks_format_with_the_reply_as_text(
    database_url: str,
) -> None:
    from pydantic import SecretStr

    with (
        hook() as (url, received),
        replied(
            database_url,
            notify_webhook_url=SecretStr(url),
            notify_format="slack",
            public_url="https://outreach.example/",
        ) as (rt, journey_id, draft),
    ):
        wait_until(lambda: drafts_of(rt, journey_id)[0].notified_at, what="the announcement")
        [body] = received
        text = body["blocks"][0]["text"]["text"]
        assert "waits for your approval" in body["text"]
        assert draft.text in text
        assert f"<https://outreach.example/journeys/{journey_id}|Open it in Outreach>" in text
        assert drafts_of(rt, journey_id)[0].notify_error is None


def test_a_failing_announcement_is_recorded_and_the_draft_still_waits(database_url: str) -> None:
    from pydantic import SecretStr

    with (
        hook(status=500) as (url, received),
        replied(database_url, notify_webhook_url=SecretStr(url)) as (rt, journey_id, draft),
    ):
        failed = wait_until(
            lambda: drafts_of(rt, journey_id)[0].notify_error, timeout=30, what="the failure"
        )
        assert failed == "the notification webhook answered 500"
        assert len(received) == 3  # the step's attempts
        assert received[0]["event"] == "draft.ready" and received[0]["draft_id"] == draft.id
        assert received[0]["reply"].startswith("Sure, let's talk")
        assert drafts_of(rt, journey_id)[0].status is DraftStatus.PENDING
        assert url not in failed  # the address is a secret
