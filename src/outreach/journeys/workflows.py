"""The journey's stages as short durable workflows.

Each stage reads its context in one transaction, performs at most one LinkedIn
action in a step that first checks the provider's state (so a step re-run after a
crash never acts twice), and records the outcome, which defers the next stage. Every
way a stage can fail ends in a recorded transition (``HANDLING``, ending in a
catch-all): a journey is never left waiting on a workflow that has stopped.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec

import sqlalchemy as sa
from dbos import DBOS
from dbos import error as dbos_error
from sqlalchemy.orm import Session

from outreach import logs
from outreach.campaigns.sequence import Stage, StageRef, render
from outreach.engine import named_tx, transient_db_error, tx
from outreach.journeys import lifecycle
from outreach.journeys.lifecycle import InviteOutcome, MessageOutcome, StageContext
from outreach.linkedin.provider import (
    AccountError,
    ChatMessage,
    Connection,
    Profile,
    RecipientError,
    TransientError,
)
from outreach.metrics import PROVIDER_ERRORS, STAGES_RUN
from outreach.models import Journey
from outreach.replies.service import Inbound, record_inbound
from outreach.runtime import current
from outreach.workers import was_taken_over

log = logs.get("outreach.stages")
RETRY_DELAY = timedelta(hours=1)  # doubled with each attempt
MAX_STAGE_ATTEMPTS = 5
MAX_UNEXPECTED_ATTEMPTS = 3
P = ParamSpec("P")


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError) or transient_db_error(exc)


STEP_RETRIES = {
    "retries_allowed": True,
    "max_attempts": 4,
    "interval_seconds": 0.2,
    "backoff_rate": 2.0,
    "should_retry": _transient,
}


class Handling(enum.Enum):
    RETRY = "retry"  # try the stage again later, a bounded number of times
    ACCOUNT = "account"  # pause the sender (or back off) and hold the journey
    RECIPIENT = "recipient"  # this prospect cannot be reached: the journey fails
    UNEXPECTED = "unexpected"  # a bug or an answer we cannot read: retried, then failed


def handling(exc: BaseException) -> Handling:
    """What a stage's failure means, from its kind (the last error of exhausted retries)."""
    if isinstance(exc, dbos_error.DBOSMaxStepRetriesExceeded) and exc.errors:
        exc = exc.errors[-1]
    if isinstance(exc, TransientError) or transient_db_error(exc):
        return Handling.RETRY
    if isinstance(exc, AccountError):
        return Handling.ACCOUNT
    if isinstance(exc, RecipientError):
        return Handling.RECIPIENT
    return Handling.UNEXPECTED


def describe(exc: BaseException) -> str:
    if isinstance(exc, dbos_error.DBOSMaxStepRetriesExceeded) and exc.errors:
        exc = exc.errors[-1]
    text = str(exc)
    return (
        text
        if isinstance(exc, TransientError | AccountError | RecipientError)
        else f"{type(exc).__name__}: {text}"
    )


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def read_profile(account: str, identifier: str) -> tuple[Profile, datetime]:
    """The prospect as LinkedIn shows them to this sender, and when it was seen."""
    rt = current()
    profile = rt.provider.get_profile(account, identifier)
    return profile, rt.clock.now()


def acting_again() -> bool:
    """Whether this step may have acted before: a retry, its workflow recovered after a
    crash, or resumed by another worker for one that stopped (``outreach.workers``)."""
    step = DBOS.step_status
    if step is not None and step.current_attempt:
        return True
    workflow_id = DBOS.workflow_id
    if workflow_id is None:
        return False
    status = DBOS.get_workflow_status(workflow_id)
    if status is not None and (status.recovery_attempts or 0) > 1:
        return True
    return was_taken_over(current(), workflow_id)


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def send_invitation(
    account: str, provider_id: str, note: str | None
) -> tuple[str | None, datetime]:
    """Invite; when this may be a second try, first look whether the first one went through.

    Providers also answer an invitation already pending or accepted as done, so even a
    blind second send never makes a second invitation. Returns the invitation id and the
    moment LinkedIn took it.
    """
    rt = current()
    if acting_again():
        profile = rt.provider.get_profile(account, provider_id)
        if profile.connection is not Connection.NONE:
            return profile.invitation_id, rt.clock.now()
    invitation_id = rt.provider.send_invitation(account, provider_id, note)
    return invitation_id, rt.clock.now()


@contextmanager
def send_guard(journey_id: int, stage: str, seq: int) -> Iterator[bool]:
    """Whether the journey still waits for this stage, checked immediately before a send.

    On PostgreSQL the journey's row stays locked until the send returns, so a reply
    recorded by any path either came first (and nothing is sent) or waits for the send.
    SQLite has one writer for the whole file, which must not wait on LinkedIn: there the
    check is a read just before the send.
    """
    rt = current()
    query = sa.select(Journey).where(Journey.id == journey_id)
    if rt.settings.is_sqlite:
        with rt.sessions() as session:
            journey = session.execute(query).unique().scalar_one()
            ok = lifecycle.is_current(journey, stage, seq)
        yield ok
        return
    with rt.sessions() as session, session.begin():
        locked = query.with_for_update(of=Journey, key_share=True)
        yield lifecycle.is_current(session.execute(locked).unique().scalar_one(), stage, seq)


@dataclass(frozen=True)
class FollowUpOutcome:
    """What a follow-up step found and did: the message (sent now, or found sent by an
    earlier try), and the prospect's reply if the chat shows one."""

    sent: MessageOutcome | None
    reply: ChatMessage | None


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def ensure_message_sent(ctx: StageContext, provider_id: str, text: str) -> FollowUpOutcome:
    """Send unless this very text was sent already (a try before a crash), the chat shows
    a reply, or the journey stopped waiting for this stage.

    Our own message is looked for first: a send that went through just before a crash
    is recorded even if the prospect has replied since.
    """
    rt = current()
    account = ctx.account_external_id
    messages = rt.provider.list_messages(account, provider_id, since=ctx.invited_at)
    seen = set(ctx.replies_seen)  # an out-of-office notice the sequence waited out
    reply = next((m for m in messages if not m.is_sender and m.message_id not in seen), None)
    for message in messages:
        if message.is_sender and message.text == text:
            found = MessageOutcome(message.message_id, None, message.at, already_sent=True)
            return FollowUpOutcome(found, reply)
    if reply is not None:
        return FollowUpOutcome(None, reply)
    with send_guard(ctx.journey_id, ctx.stage, ctx.seq) as still_waiting:
        if not still_waiting:
            return FollowUpOutcome(None, None)
        sent = rt.provider.send_message(account, provider_id, text)
        at = rt.clock.now()
    return FollowUpOutcome(MessageOutcome(sent.message_id, sent.chat_id, at, False), None)


def record(
    ctx: StageContext,
    outcome: Callable[Concatenate[Session, datetime, int, P], object],
    *args: P.args,
    **kwargs: P.kwargs,
) -> bool:
    """Record the stage's ``outcome`` and free its sender in one transaction, a step named
    after ``outcome``; whether the sender is free. (A run recorded when these were two
    steps replays ``outcome``'s own result, None: then ``run_stage`` frees it after.)"""
    name = getattr(outcome, "__name__", "record")
    ending = lifecycle.ending_stage
    return named_tx(name, ending, outcome, ctx.journey_id, ctx.seq, *args, **kwargs) is True


def _invite(ctx: StageContext, _: StageRef) -> bool:
    """Invite unless the profile, read (and recorded) first, shows a relation or an invitation.

    The read is a step of its own: what it saw before any invitation went out is what the
    timeline says, even if the send is re-run after a crash and the prospect accepted.
    """
    source = ctx.templates.invitation_note
    note = render(source, ctx.variables) or None if source else None
    profile, seen_at = read_profile(ctx.account_external_id, ctx.identifier)
    pid = profile.provider_id
    if profile.connection is Connection.CONNECTED:
        outcome = InviteOutcome(pid, seen_at, True, False, None, None)
    elif profile.connection is Connection.PENDING:
        outcome = InviteOutcome(pid, seen_at, False, True, profile.invitation_id, note)
    else:
        invitation_id, sent_at = send_invitation(ctx.account_external_id, pid, note)
        outcome = InviteOutcome(pid, sent_at, False, False, invitation_id, note)
    return record(ctx, lifecycle.invited, outcome, due=ctx.due, version=ctx.version)


def _check_acceptance(ctx: StageContext, _: StageRef) -> bool:
    profile, _seen = read_profile(ctx.account_external_id, ctx.identifier)
    connected = profile.connection is Connection.CONNECTED
    return record(ctx, lifecycle.checked, connected=connected)


def _follow_up(ctx: StageContext, ref: StageRef) -> bool:
    assert ctx.provider_id is not None
    text = render(ctx.templates.follow_ups[ref.number - 1], ctx.variables)
    outcome = ensure_message_sent(ctx, ctx.provider_id, text)
    freed = False
    if outcome.sent is not None:
        freed = record(
            ctx,
            lifecycle.followed_up,
            ref.number,
            outcome.sent,
            due=ctx.due,
            text=text,
            version=ctx.version,
        )
    if outcome.reply is not None:  # perhaps one a lost webhook never told us of
        tx(record_inbound, Inbound.polled(ctx.account_external_id, outcome.reply))
    return freed


@DBOS.step(**STEP_RETRIES)  # type: ignore[arg-type]
def withdraw_invitation(account: str, provider_id: str, invitation_id: str | None) -> datetime:
    """Withdraw; withdrawing one already gone (accepted, withdrawn) counts as done.

    A profile does not always carry its invitation's id (Unipile's does not): then it is
    looked up among the account's sent invitations.
    """
    rt = current()
    if invitation_id is None:
        sent = rt.provider.list_sent_invitations(account)
        invitation_id = next((s.invitation_id for s in sent if s.provider_id == provider_id), None)
    if invitation_id is not None:
        rt.provider.withdraw_invitation(account, invitation_id)
    return rt.clock.now()


def _withdraw(ctx: StageContext, _: StageRef) -> bool:
    """Take back an invitation still unanswered; read first, it may have been accepted."""
    profile, seen_at = read_profile(ctx.account_external_id, ctx.identifier)
    if profile.connection is Connection.CONNECTED:
        return record(ctx, lifecycle.withdrawn, at=seen_at, accepted=True)
    at = seen_at
    if profile.connection is Connection.PENDING:
        invitation = profile.invitation_id
        at = withdraw_invitation(ctx.account_external_id, profile.provider_id, invitation)
    return record(ctx, lifecycle.withdrawn, at=at, accepted=False)


STAGES: dict[Stage, Callable[[StageContext, StageRef], bool]] = {
    Stage.INVITE: _invite,
    Stage.CHECK_ACCEPTANCE: _check_acceptance,
    Stage.FOLLOW_UP: _follow_up,
    Stage.WITHDRAW: _withdraw,
}


@DBOS.workflow()
def run_stage(journey_id: int, stage: str, seq: int) -> str:
    """One stage the governor started; its sender is free again once it has ended."""
    with logs.bound(journey_id=journey_id, workflow_id=DBOS.workflow_id, stage=stage):
        outcome, freed = _run(journey_id, stage, seq)
        if not freed:
            tx(lifecycle.finish_stage, journey_id, seq)
        STAGES_RUN.labels(stage=stage.split(":", 1)[0], outcome=outcome).inc()
        log.info("stage ended", outcome=outcome)
    wanted()
    return outcome


def wanted() -> None:
    """The governor's turn at once: a sender is free (unless the runtime is stopping)."""
    with suppress(RuntimeError):
        current().governor_wanted.set()


def _run(journey_id: int, stage: str, seq: int) -> tuple[str, bool]:
    """What the stage did, and whether its last transaction freed its sender already."""
    ctx = tx(lifecycle.begin_stage, journey_id, stage, seq)
    if ctx is None:
        return "not run", False
    ref = StageRef.parse(stage)
    with logs.bound(campaign_id=ctx.campaign_id, sender_id=ctx.account_id):
        log.info("stage started", due=ctx.due.isoformat(), version=ctx.version)
        return _perform(ctx, ref)


def _perform(ctx: StageContext, ref: StageRef) -> tuple[str, bool]:
    try:
        freed = STAGES[ref.stage](ctx, ref)
    except dbos_error.DBOSException as exc:
        if not isinstance(exc, dbos_error.DBOSMaxStepRetriesExceeded):
            raise  # DBOS's own control flow (cancellation, a conflicting execution)
        return _failed(ctx, exc)
    except Exception as exc:
        return _failed(ctx, exc)
    return "done", freed


def _failed(ctx: StageContext, exc: BaseException) -> tuple[str, bool]:
    """Record what the failure means for the journey (``HANDLING``): the outcome's name,
    and whether the sender is free."""
    kind = handling(exc)
    error = describe(exc)
    cause = (
        exc.errors[-1]
        if isinstance(exc, dbos_error.DBOSMaxStepRetriesExceeded) and exc.errors
        else exc
    )
    code = getattr(cause, "code", None) or type(cause).__name__
    PROVIDER_ERRORS.labels(handling=kind.value, code=code).inc()
    log.warning("stage failed", handling=kind.value, code=code, error=error)
    if kind is Handling.ACCOUNT:
        assert isinstance(cause, AccountError)
        freed = record(
            ctx,
            lifecycle.account_failed,
            ctx.stage,
            ctx.seq,
            error=error,
            code=cause.code,
            until_tomorrow=cause.until_tomorrow,
        )
    elif kind is Handling.RECIPIENT:
        assert isinstance(cause, RecipientError)
        freed = record(ctx, lifecycle.recipient_failed, error=error, code=cause.code)
    else:
        freed = record(
            ctx,
            lifecycle.stage_failed,
            ctx.stage,
            ctx.seq,
            error=error,
            delay=RETRY_DELAY,
            max_attempts=MAX_STAGE_ATTEMPTS if kind is Handling.RETRY else MAX_UNEXPECTED_ATTEMPTS,
            transient=kind is Handling.RETRY,
        )
    return kind.value, freed
