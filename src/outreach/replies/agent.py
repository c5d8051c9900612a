"""The reply agent: each reply drafted an answer, a person decides, the answer goes once.

``reply_agent`` starts after the commit that recorded a reply (one workflow per reply,
its id the reply's): it reads the reply, drafts an answer, stores the draft as a row that
waits for a person (no workflow waits), and announces it. A person's approval
(``commands.approve``) starts ``send_answer`` after its commit, under the draft's id, so
an approval clicked twice, or by two people at once, sends one message. The send step
looks at the chat first when it may be a second try (a worker killed mid-send), and right
before it sends checks that no newer reply arrived: a reply between approval and send
supersedes the draft, and nothing goes out until a person has seen it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from dbos import DBOS
from dbos import error as dbos_error
from sqlalchemy.orm import Session

from outreach import logs
from outreach.accounts import pacing
from outreach.accounts.governor import Action
from outreach.campaigns.sequence import Templates
from outreach.clock import wall_now
from outreach.engine import tx
from outreach.journeys import lifecycle
from outreach.journeys.workflows import STEP_RETRIES, acting_again, describe
from outreach.linkedin.provider import ChatMessage
from outreach.models import (
    Account,
    Campaign,
    DraftStatus,
    EventKind,
    InboundMessage,
    Journey,
    ReplyDraft,
    ReplyIntent,
)
from outreach.prospects.dnc import blocked_reason
from outreach.prospects.repository import prospect_variables
from outreach.queues import ACTIONS_QUEUE
from outreach.replies import drafts, model, notify
from outreach.replies.classify import Classification, classify
from outreach.replies.service import Inbound, record_inbound
from outreach.runtime import current
from outreach.uow import Work, defer

log = logs.get("outreach.replies")


# -- drafting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """A reply to answer, and what drafting it reads."""

    inbound_id: int
    journey_id: int
    text: str
    at: datetime
    variables: dict[str, Any]
    templates: dict[str, Any]
    auto_out_of_office: bool = False  # the campaign sends its acknowledgement unasked


@DBOS.workflow()
def reply_agent(inbound_id: int) -> str:
    """Draft an answer to one reply and put it before a person. What became of it."""
    with logs.bound(inbound_id=inbound_id, workflow_id=DBOS.workflow_id):
        turn = tx(_turn, inbound_id)
        if turn is None:
            return "no journey"
        proposal = draft_answer(turn)
        stored = tx(_store, turn, proposal)
        # Recorded by an earlier version (the application version is pinned, so a run
        # recovered after an upgrade replays its steps' outputs): the draft's id alone.
        draft_id, outcome = (
            stored if isinstance(stored, tuple) else (stored, "drafted" if stored else "no draft")
        )
        if draft_id is None:
            return outcome
        if current().settings.notify_webhook_url is not None:
            announce(draft_id)
        log.info("draft ready", draft_id=draft_id)
        return outcome


def _turn(session: Session, now: datetime, inbound_id: int) -> Turn | None:
    message = session.get(InboundMessage, inbound_id)
    if message is None or message.journey_id is None:
        return None
    journey = session.get(Journey, message.journey_id)
    assert journey is not None
    templates, sequence = session.execute(
        sa.select(Campaign.templates, Campaign.sequence).where(Campaign.id == journey.campaign_id)
    ).one()
    return Turn(
        inbound_id=message.id,
        journey_id=journey.id,
        text=message.text,
        at=message.at,
        variables=prospect_variables(journey.prospect),
        templates=templates,
        auto_out_of_office=bool(sequence.get("auto_approve_out_of_office")),
    )


@DBOS.step()
def draft_answer(turn: Turn) -> drafts.Proposal | None:
    """The answer to a reply (``None``: this reply gets none): the model's when one is
    configured and answers, the built-in drafter's otherwise, with the reason why."""
    read = classify(turn.text, today=turn.at.date())
    templates = Templates.model_validate(turn.templates)
    if turn.auto_out_of_office and read.intent is ReplyIntent.OUT_OF_OFFICE:
        # Sent unasked: only the campaign's own acknowledgement, never a model's words.
        proposal = drafts.draft(templates, turn.variables, read)
        assert proposal is not None
        return replace(proposal, provenance=proposal.provenance | {"auto_approve": True})
    if current().settings.llm_provider is None:
        return drafts.draft(templates, turn.variables, read)
    try:
        return _model_answer(turn, read)
    except model.ModelFailed as failed:
        log.warning("model draft failed; drafting with the built-in drafter", reason=failed.reason)
        proposal = drafts.draft(templates, turn.variables, read)
        if proposal is None:
            return None
        fallback = model.provenance(current().settings) | {"fallback": failed.reason}
        return replace(proposal, provenance=proposal.provenance | fallback)


def _model_answer(turn: Turn, read: Classification) -> drafts.Proposal | None:
    """The model's reading and answer, within the day's budget, each call recorded."""
    rt = current()
    settings = rt.settings
    reading, usage, cost = model.ask_within_budget(
        rt.sessions, settings, turn.text, turn.variables, turn.at.date(), turn.inbound_id
    )
    if not model.answers(reading):
        return None
    return drafts.Proposal(
        reading.answer.strip(),
        reading.intent,
        model.provenance(settings)
        | {
            "drafter": "model",
            "classifier": f"{settings.llm_provider}:{settings.llm_model}",
            "confidence": reading.confidence,
            "cost_usd": round(cost, 6),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "rules_intent": read.intent.value,
        },
    )


def newer_reply(session: Session, journey_id: int, inbound_id: int) -> int | None:
    """The id of a reply to this journey that came after ``inbound_id``, if any."""
    return session.execute(
        sa.select(InboundMessage.id)
        .where(InboundMessage.journey_id == journey_id, InboundMessage.id > inbound_id)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    ).scalar()


def _store(
    session: Session, now: datetime, turn: Turn, proposal: drafts.Proposal | None
) -> tuple[int | None, str]:
    """Store the draft (once per reply) and supersede the open drafts of earlier replies.

    A draft whose reply is no longer the newest is stored superseded: the newer reply's
    own agent drafts the answer that waits. The draft's id when one now waits for a
    person, and what became of the reply.
    """
    journey = lifecycle.lock_journey(session, turn.journey_id, sender=False)
    older = session.scalars(
        sa.select(ReplyDraft).where(
            ReplyDraft.journey_id == journey.id,
            ReplyDraft.inbound_id < turn.inbound_id,
            ReplyDraft.status.in_([DraftStatus.PENDING, DraftStatus.APPROVED]),
        )
    ).all()
    for stale in older:
        supersede(session, stale, journey, now=now)
    if proposal is None:
        return None, "no answer"
    # One run per reply (its workflow id), and a replay returns this step's recorded
    # output: the reply has no draft yet (and ``inbound_id`` is unique besides).
    newer = newer_reply(session, journey.id, turn.inbound_id)
    draft = ReplyDraft(
        journey_id=journey.id,
        account_id=journey.account_id,
        inbound_id=turn.inbound_id,
        intent=proposal.intent,
        text=proposal.text,
        status=DraftStatus.PENDING if newer is None else DraftStatus.SUPERSEDED,
        provenance=proposal.provenance,
        created_at=now,
        expires_at=wall_now() + timedelta(hours=current().settings.draft_timeout_hours),
        error=None if newer is None else "a newer reply came before it was drafted",
    )
    session.add(draft)
    session.flush()
    if newer is not None:
        return None, "superseded"
    lifecycle.add_event(
        session,
        journey,
        EventKind.DRAFT_READY,
        now,
        draft_id=draft.id,
        intent=proposal.intent.value,
        drafter=proposal.provenance.get("drafter"),
    )
    if proposal.provenance.get("auto_approve") and not current().settings.draft_only:
        approve_in(session, draft, journey, draft.text, by=AUTO_APPROVER, now=now)
        return None, "auto-approved"  # nobody needs telling: it goes
    return draft.id, "drafted"


AUTO_APPROVER = "the campaign's out-of-office rule"


def decide(draft: ReplyDraft, status: DraftStatus, *, by: str, now: datetime) -> None:
    """A person's (or a campaign rule's) decision on a locked, pending draft."""
    draft.status = status
    draft.decided_at = now
    draft.decided_by = by


def approve_in(
    session: Session, draft: ReplyDraft, journey: Journey, answer: str, *, by: str, now: datetime
) -> None:
    """Approve ``draft`` (locked, pending) with ``answer``: it is sent once, after this
    transaction commits, under the draft's id."""
    decide(draft, DraftStatus.APPROVED, by=by, now=now)
    draft.answer = answer
    lifecycle.add_event(
        session,
        journey,
        EventKind.ANSWER_APPROVED,
        now,
        draft_id=draft.id,
        by=by,
        edited=answer != draft.text,
    )
    defer(
        session,
        # On the actions queue: a worker sends it (a web process runs no sends).
        Work(
            "outreach.replies.agent:send_answer",
            (draft.id,),
            workflow_id=f"answer-{draft.id}",
            queue=ACTIONS_QUEUE,
        ),
    )


def supersede(session: Session, draft: ReplyDraft, journey: Journey, *, now: datetime) -> None:
    """A newer reply came before ``draft`` went out: it never will (a person sees both)."""
    was = draft.status
    draft.status = DraftStatus.SUPERSEDED
    draft.error = (
        "a newer reply came after it was approved, before it was sent"
        if was is DraftStatus.APPROVED
        else "a newer reply came before anyone decided"
    )
    lifecycle.add_event(
        session, journey, EventKind.DRAFT_SUPERSEDED, now, draft_id=draft.id, was=was.value
    )


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=1.0, backoff_rate=3.0)
def _post(url: str, body: dict[str, Any]) -> None:
    notify.post(url, body)


def announce(draft_id: int) -> None:
    """Tell the configured webhook a draft waits (a failure is recorded, never fatal)."""
    settings = current().settings
    assert settings.notify_webhook_url is not None
    body = tx(_announcement, draft_id)
    error = None
    try:
        _post(settings.notify_webhook_url.get_secret_value(), body)
    except Exception as exc:  # the draft waits all the same; the dashboard shows it
        cause = (
            exc.errors[-1]
            if isinstance(exc, dbos_error.DBOSMaxStepRetriesExceeded) and exc.errors
            else exc
        )
        # Our own words only: another error's text might carry the (secret) address.
        error = str(cause) if isinstance(cause, notify.AnnouncementFailed) else type(cause).__name__
        log.warning("announcement failed", draft_id=draft_id, error=error)
    tx(_announced, draft_id, error)


def _announcement(session: Session, now: datetime, draft_id: int) -> dict[str, Any]:
    draft = session.get(ReplyDraft, draft_id)
    assert draft is not None
    journey = session.get(Journey, draft.journey_id)
    reply = session.get(InboundMessage, draft.inbound_id)
    assert journey is not None and reply is not None
    settings = current().settings
    return notify.body(settings.notify_format, draft, journey, reply, settings.public_url)


def _announced(session: Session, now: datetime, draft_id: int, error: str | None) -> None:
    draft = session.get(ReplyDraft, draft_id, with_for_update=True)
    assert draft is not None
    draft.notified_at = None if error else now
    draft.notify_error = error


LOST_WINDOW = timedelta(days=3)  # simulated: how far back the sweep looks for lost agents
LOST_BATCH = 500


def restart_lost(session: Session, now: datetime) -> int:
    """The sweep's repair: each recent reply with no draft gets its agent started again
    (a crash between a reply's commit and its agent's start). A reply whose agent ran
    (and drafted nothing: "stop") is a no-op, as its workflow id exists. How many asked."""
    replies = session.scalars(
        sa.select(InboundMessage.id)
        .outerjoin(ReplyDraft, ReplyDraft.inbound_id == InboundMessage.id)
        .where(
            InboundMessage.journey_id.is_not(None),
            InboundMessage.at >= now - LOST_WINDOW,
            ReplyDraft.id.is_(None),
        )
        .order_by(InboundMessage.id)
        .limit(LOST_BATCH)
    ).all()
    for inbound_id in replies:
        defer(session, agent_work(inbound_id))
    return len(replies)


def agent_work(inbound_id: int) -> Work:
    """The reply agent's run for one stored reply, under the reply's business key."""
    return Work("outreach.replies.agent:reply_agent", (inbound_id,), f"reply-agent-{inbound_id}")


# -- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """An approved answer to send, and the reply it answers."""

    draft_id: int
    journey_id: int
    account_external_id: str
    provider_id: str
    text: str
    reply_message_id: str  # the provider's id of the reply answered
    reply_at: datetime


@dataclass(frozen=True)
class SendOutcome:
    message_id: str | None  # None: not sent (a newer reply, or the draft moved on)
    at: datetime
    found_after_retry: bool = False
    newer: ChatMessage | None = None  # a reply the chat shows that we had not recorded


@DBOS.workflow()
def send_answer(draft_id: int) -> str:
    """Send one approved answer, once. What became of it."""
    with logs.bound(draft_id=draft_id, workflow_id=DBOS.workflow_id):
        answer = tx(_begin_send, draft_id)
        if answer is None:
            return "not sent"
        try:
            outcome = ensure_answer_sent(answer)
        except Exception as exc:
            if isinstance(exc, dbos_error.DBOSException) and not isinstance(
                exc, dbos_error.DBOSMaxStepRetriesExceeded
            ):
                raise  # DBOS's own control flow (cancellation, a conflicting execution)
            tx(_send_failed, draft_id, describe(exc))
            return "failed"
        if outcome.newer is not None:  # a reply no webhook told us of yet: it supersedes
            tx(record_inbound, Inbound.polled(answer.account_external_id, outcome.newer))
        if outcome.message_id is None:
            return "not sent"
        tx(_answer_sent, draft_id, outcome)
        log.info("answer sent", draft_id=draft_id)
        return "sent"


def lock_draft(session: Session, draft_id: int) -> tuple[ReplyDraft, Journey] | None:
    """The draft and its journey, locked in the global order (the journey, then the draft)."""
    journey_id = session.execute(
        sa.select(ReplyDraft.journey_id).where(ReplyDraft.id == draft_id)
    ).scalar()
    if journey_id is None:
        return None
    journey = lifecycle.lock_journey(session, journey_id, sender=False)
    draft = session.get(ReplyDraft, draft_id, with_for_update=True, populate_existing=True)
    assert draft is not None
    return draft, journey


def _begin_send(session: Session, now: datetime, draft_id: int) -> Answer | None:
    found = lock_draft(session, draft_id)
    if found is None or found[0].status is not DraftStatus.APPROVED:
        return None
    draft, journey = found
    if newer_reply(session, journey.id, draft.inbound_id) is not None:
        supersede(session, draft, journey, now=now)
        return None
    prospect = journey.prospect
    blocked = blocked_reason(session, prospect)
    if blocked or prospect.provider_id is None:
        _fail(session, draft, journey, now, blocked or "the prospect has no LinkedIn id yet")
        return None
    reply = session.get(InboundMessage, draft.inbound_id)
    assert reply is not None and draft.answer is not None
    return Answer(
        draft_id=draft.id,
        journey_id=journey.id,
        account_external_id=session.execute(
            sa.select(Account.external_id).where(Account.id == journey.account_id)
        ).scalar_one(),
        provider_id=prospect.provider_id,
        text=draft.answer,
        reply_message_id=reply.message_id,
        reply_at=reply.at,
    )


def _still_approved(draft_id: int, journey_id: int) -> bool:
    """Read just before the send: the draft is still approved and no newer reply is known."""
    with current().sessions() as session:
        status, inbound_id = session.execute(
            sa.select(ReplyDraft.status, ReplyDraft.inbound_id).where(ReplyDraft.id == draft_id)
        ).one()
        return (
            status is DraftStatus.APPROVED and newer_reply(session, journey_id, inbound_id) is None
        )


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def ensure_answer_sent(answer: Answer) -> SendOutcome:
    """Send unless the chat shows this very text sent after the reply (a try before a
    crash) or a newer reply from the prospect, or the draft stopped being approved."""
    rt = current()
    account = answer.account_external_id
    messages = rt.provider.list_messages(account, answer.provider_id, since=answer.reply_at)
    later = [m for m in messages if m.message_id != answer.reply_message_id]
    newer = next((m for m in later if not m.is_sender), None)
    if acting_again():
        for message in later:
            if message.is_sender and message.text == answer.text:
                return SendOutcome(message.message_id, message.at, True, newer)
    if newer is not None or not _still_approved(answer.draft_id, answer.journey_id):
        return SendOutcome(None, rt.clock.now(), newer=newer)
    sent = rt.provider.send_message(account, answer.provider_id, answer.text)
    return SendOutcome(sent.message_id, rt.clock.now())


def _answer_sent(session: Session, now: datetime, draft_id: int, outcome: SendOutcome) -> None:
    found = lock_draft(session, draft_id)
    assert found is not None
    draft, journey = found
    if draft.status is DraftStatus.SENT:
        return
    draft.status = DraftStatus.SENT
    draft.sent_at = outcome.at
    draft.sent_message_id = outcome.message_id
    draft.error = None
    pacing.record(session, journey, Action.MESSAGE, outcome.at)
    lifecycle.add_event(
        session,
        journey,
        EventKind.ANSWER_SENT,
        outcome.at,
        draft_id=draft.id,
        text=draft.answer,
        message_id=outcome.message_id,
        found_after_retry=outcome.found_after_retry,
    )


def _fail(session: Session, draft: ReplyDraft, journey: Journey, now: datetime, error: str) -> None:
    draft.status = DraftStatus.FAILED
    draft.error = error
    lifecycle.add_event(
        session, journey, EventKind.ANSWER_FAILED, now, draft_id=draft.id, error=error
    )


def _send_failed(session: Session, now: datetime, draft_id: int, error: str) -> None:
    found = lock_draft(session, draft_id)
    assert found is not None
    draft, journey = found
    if draft.status is DraftStatus.APPROVED:
        _fail(session, draft, journey, now, error)
