"""The journey's stages as short durable workflows.

Each stage reads its context in one transaction, performs at most one LinkedIn
action in a step that first checks the provider's state (so a step re-run after a
crash never acts twice), records the outcome and enqueues the next stage, delayed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dbos import DBOS

from outreach.campaigns.sequence import Stage, StageRef, render
from outreach.engine import enqueue, tx
from outreach.journeys import repository as repo
from outreach.journeys import transitions
from outreach.journeys.repository import Scheduled, StageContext
from outreach.journeys.transitions import InviteOutcome, MessageOutcome
from outreach.linkedin.provider import (
    AccountError,
    ChatMessage,
    Connection,
    RecipientError,
    TransientError,
)
from outreach.replies.service import Inbound, record_inbound
from outreach.runtime import current

RETRY_DELAY = timedelta(hours=1)
MAX_STAGE_ATTEMPTS = 5


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError)


STEP_RETRIES = {
    "retries_allowed": True,
    "max_attempts": 4,
    "interval_seconds": 0.2,
    "backoff_rate": 2.0,
    "should_retry": _transient,
}


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def ensure_invited(account: str, identifier: str, note: str | None) -> InviteOutcome:
    """Invite unless the provider already shows a relation or a pending invitation."""
    provider = current().provider
    profile = provider.get_profile(account, identifier)
    if profile.connection is Connection.CONNECTED:
        return InviteOutcome(profile.provider_id, True, False, None, None)
    if profile.connection is Connection.PENDING:
        return InviteOutcome(profile.provider_id, False, True, profile.invitation_id, note)
    invitation_id = provider.send_invitation(account, profile.provider_id, note)
    return InviteOutcome(profile.provider_id, False, False, invitation_id, note)


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def is_connected(account: str, identifier: str) -> bool:
    return current().provider.get_profile(account, identifier).connection is Connection.CONNECTED


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def ensure_message_sent(
    account: str, provider_id: str, text: str, since: datetime | None
) -> MessageOutcome | ChatMessage:
    """Send unless the chat shows a reply (returned instead) or this very text already sent."""
    provider = current().provider
    messages = provider.list_messages(account, provider_id, since=since)
    replies = [m for m in messages if not m.is_sender]
    if replies:
        return replies[0]
    for message in messages:
        if message.is_sender and message.text == text:
            return MessageOutcome(message.message_id, None, already_sent=True)
    sent = provider.send_message(account, provider_id, text)
    return MessageOutcome(sent.message_id, sent.chat_id, already_sent=False)


def _invite(ctx: StageContext, _: StageRef) -> Scheduled | None:
    source = ctx.templates.invitation_note
    note = render(source, ctx.variables) or None if source else None
    outcome = ensure_invited(ctx.account_external_id, ctx.identifier, note)
    return tx(transitions.invited, ctx.journey_id, outcome)


def _check_acceptance(ctx: StageContext, _: StageRef) -> Scheduled | None:
    connected = is_connected(ctx.account_external_id, ctx.identifier)
    return tx(transitions.checked, ctx.journey_id, connected=connected)


def _follow_up(ctx: StageContext, ref: StageRef) -> Scheduled | None:
    assert ctx.provider_id is not None
    text = render(ctx.templates.follow_ups[ref.number - 1], ctx.variables)
    outcome = ensure_message_sent(ctx.account_external_id, ctx.provider_id, text, ctx.invited_at)
    if isinstance(outcome, ChatMessage):  # a reply a lost webhook never told us about
        inbound = Inbound(
            ctx.account_external_id,
            outcome.sender_provider_id,
            outcome.message_id,
            outcome.text,
            outcome.at,
            "poll",
        )
        tx(record_inbound, inbound)
        return None
    return tx(transitions.followed_up, ctx.journey_id, ref.number, outcome)


STAGES = {
    Stage.INVITE: _invite,
    Stage.CHECK_ACCEPTANCE: _check_acceptance,
    Stage.FOLLOW_UP: _follow_up,
}


@DBOS.workflow()
def run_stage(journey_id: int, stage: str, seq: int) -> str:
    started = tx(repo.begin_stage, journey_id, stage, seq)
    if started is None:
        return "skipped"
    if isinstance(started, Scheduled):
        enqueue(started)
        return "rescheduled"
    ref = StageRef.parse(stage)
    nxt: Scheduled | None
    try:
        nxt = STAGES[ref.stage](started, ref)
        outcome = "done"
    except TransientError as exc:
        nxt = tx(
            repo.retry_later,
            journey_id,
            stage,
            error=str(exc),
            delay=RETRY_DELAY,
            max_attempts=MAX_STAGE_ATTEMPTS,
        )
        outcome = "retry"
    except AccountError as exc:
        nxt = tx(
            repo.account_failed,
            journey_id,
            stage,
            error=str(exc),
            code=exc.code,
            until_tomorrow=exc.until_tomorrow,
        )
        outcome = "account_error"
    except RecipientError as exc:
        tx(transitions.recipient_failed, journey_id, error=str(exc), code=exc.code)
        nxt, outcome = None, "recipient_error"
    if nxt is not None:
        enqueue(nxt)
    return outcome
