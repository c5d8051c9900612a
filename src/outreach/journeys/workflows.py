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
    Profile,
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
def read_profile(account: str, identifier: str) -> Profile:
    """The prospect as LinkedIn shows them to this sender, connection state included."""
    return current().provider.get_profile(account, identifier)


def _acting_again() -> bool:
    """Whether this step may have acted before: a retry, or its workflow recovered after a crash."""
    step = DBOS.step_status
    if step is not None and step.current_attempt:
        return True
    workflow_id = DBOS.workflow_id
    status = DBOS.get_workflow_status(workflow_id) if workflow_id else None
    return status is not None and (status.recovery_attempts or 0) > 1


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def send_invitation(account: str, provider_id: str, note: str | None) -> str | None:
    """Invite; when this may be a second try, first look whether the first one went through.

    Providers also answer an invitation already pending or accepted as done, so even a
    blind second send never makes a second invitation.
    """
    provider = current().provider
    if _acting_again():
        profile = provider.get_profile(account, provider_id)
        if profile.connection is not Connection.NONE:
            return profile.invitation_id
    return provider.send_invitation(account, provider_id, note)


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
    """Invite unless the profile, read (and recorded) first, shows a relation or an invitation.

    The read is a step of its own: what it saw before any invitation went out is what the
    timeline says, even if the send is re-run after a crash and the prospect accepted.
    """
    source = ctx.templates.invitation_note
    note = render(source, ctx.variables) or None if source else None
    profile = read_profile(ctx.account_external_id, ctx.identifier)
    pid = profile.provider_id
    if profile.connection is Connection.CONNECTED:
        outcome = InviteOutcome(
            pid, connected=True, already_pending=False, invitation_id=None, note=None
        )
    elif profile.connection is Connection.PENDING:
        outcome = InviteOutcome(
            pid, False, already_pending=True, invitation_id=profile.invitation_id, note=note
        )
    else:
        invitation_id = send_invitation(ctx.account_external_id, pid, note)
        outcome = InviteOutcome(
            pid, False, already_pending=False, invitation_id=invitation_id, note=note
        )
    return tx(transitions.invited, ctx.journey_id, outcome, due=ctx.due)


def _check_acceptance(ctx: StageContext, _: StageRef) -> Scheduled | None:
    profile = read_profile(ctx.account_external_id, ctx.identifier)
    connected = profile.connection is Connection.CONNECTED
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
    return tx(transitions.followed_up, ctx.journey_id, ref.number, outcome, due=ctx.due)


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
