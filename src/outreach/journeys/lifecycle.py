"""Every change of a journey, in one place: created, staged, held, ended, replied.

Each function takes the session first; the ones the stage workflow runs as transactions
take ``now`` second (``engine.tx``). Locks are taken in one order, the sender's row
first (``lock_journey`` does it), then the journey's. A stage to run next is deferred
work (``uow.defer``), started once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Concatenate, ParamSpec

import sqlalchemy as sa
from sqlalchemy.orm import Session, lazyload

from outreach.accounts import pacing
from outreach.accounts import status as sender_status
from outreach.accounts.governor import Action
from outreach.accounts.pacing import working_hours
from outreach.accounts.repository import (
    keep_locked,
    lock_sender,
    lock_sender_of,
    lock_sender_unless_busy,
)
from outreach.campaigns import lifecycle as campaign_lifecycle
from outreach.campaigns.rotation import assign_senders
from outreach.campaigns.scheduling import next_day_open, next_open
from outreach.campaigns.sequence import (
    NextStep,
    SequenceSpec,
    Stage,
    StageRef,
    Templates,
    after_acceptance_check,
    after_follow_up,
    after_invitation,
    follow_up,
    waiting_for,
)
from outreach.errors import Conflict
from outreach.models import (
    TERMINAL_STATUSES,
    Account,
    AccountStatus,
    Campaign,
    CampaignStatus,
    EventKind,
    InboundMessage,
    Journey,
    JourneyEvent,
    JourneyStatus,
    PausedBy,
    ReplyIntent,
    SenderAction,
)
from outreach.prospects.dnc import blocked_prospect_ids, matches
from outreach.prospects.repository import pending_prospects, prospect_variables
from outreach.queues import ACTIONS_QUEUE
from outreach.replies.classify import Classification, classify
from outreach.uow import Work, defer

ERROR_LIMIT = 2000  # characters of a provider's error kept on the journey
P = ParamSpec("P")


# -- events and locks ---------------------------------------------------------------------


def add_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """The one writer of the timeline: rows of ``journey_id, kind, at, details``."""
    if rows:
        session.execute(
            sa.insert(JourneyEvent),
            [
                {**row, "kind": EventKind(row["kind"]), "details": row.get("details") or {}}
                for row in rows
            ],
        )


def add_event(
    session: Session, journey: Journey, kind: EventKind, at: datetime, **details: Any
) -> None:
    add_events(session, [{"journey_id": journey.id, "kind": kind, "at": at, "details": details}])


def lock_senders(session: Session, account_ids: list[int]) -> None:
    """Several senders' rows, in id order: the first locks of a campaign-wide change."""
    for account_id in sorted(set(account_ids)):
        lock_sender(session, account_id)


def lock_journey(session: Session, journey_id: int, *, sender: bool = True) -> Journey:
    """The journey, with its sender's row locked first and then its own (one global order).

    ``sender=False`` locks the journey alone, for a transaction that books nothing and
    takes no other lock after it (recording a reply), so it never waits holding the sender.
    """
    if sender:
        lock_sender_of(session, journey_id)
    query = (
        sa.select(Journey)
        .where(Journey.id == journey_id)
        .with_for_update(of=Journey, key_share=True)
    )
    return keep_locked(session, session.execute(query).unique().scalar_one())


# A stage reads its campaign's own columns only: not its senders, nor its first account.
_CAMPAIGN_ALONE = (lazyload(Campaign.senders), lazyload(Campaign.account))


def _campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id, options=_CAMPAIGN_ALONE)
    assert campaign is not None
    return campaign


def _spec(session: Session, campaign_id: int) -> SequenceSpec:
    return SequenceSpec.model_validate(_campaign(session, campaign_id).sequence)


# -- the next stage -----------------------------------------------------------------------


def stage_work(journey: Journey) -> Work:
    """The stage workflow the governor started: ``run_stage(journey, stage, seq)``, now."""
    assert journey.stage is not None
    return Work(
        "outreach.journeys.workflows:run_stage",
        (journey.id, journey.stage, journey.stage_seq),
        f"journey-{journey.id}-{journey.stage}-{journey.stage_seq}",
        queue=ACTIONS_QUEUE,
        attributes={
            "journey_id": journey.id,
            "campaign_id": journey.campaign_id,
            "sender_id": journey.account_id,
        },
    )


def schedule_stage(
    session: Session, journey: Journey, stage: StageRef, due: datetime, *, now: datetime
) -> datetime:
    """Point the journey at ``stage``, not before ``due``, and have its sender's governor
    look at it then (the governor decides when it actually runs). The transaction holds
    the sender (``lock_journey`` or ``lock_sender``)."""
    at = max(due, now, journey.not_before or now)
    journey.stage = str(stage)
    journey.next_run_at = at
    away = journey.not_before is not None and journey.not_before >= due
    journey.waiting_for = _after_return(stage) if away else waiting_for(stage)
    journey.held = False
    journey.updated_at = now
    account = session.get(Account, journey.account_id)
    assert account is not None
    pacing.wake(account, at)
    return at


def dispatch(session: Session, now: datetime, account_id: int) -> int | None:
    """The governor's turn for one sender: start the stage it chooses (the sender is busy
    until that stage ends), or note when to look again. The journey started, if any.

    A sender another transaction holds (another worker's governor, a stage ending) is
    left to it: whoever frees it looks at it again."""
    account = lock_sender_unless_busy(session, account_id)
    if account is None:
        return None
    if account.status is AccountStatus.PAUSED:
        account.next_action_at = None
        return None
    if not pacing.ready(account, now):
        return None
    later = _hold_paused_campaigns(session, account, now)
    journey = pacing.choose(session, account, now)
    if journey is None:
        if later is not None and (account.next_action_at is None or later < account.next_action_at):
            account.next_action_at = later
        return None
    journey.stage_seq += 1
    account.busy_journey_id = journey.id
    account.busy_since = now
    account.next_action_at = None
    defer(session, stage_work(journey))
    return journey.id


def _hold_paused_campaigns(session: Session, account: Account, now: datetime) -> datetime | None:
    """The sender's journeys that came due in a paused campaign are held, as they come due;
    when the next of them does."""
    due, later = pacing.paused_campaigns(session, account.id, now)
    for campaign_id in due:
        hold_all(
            session,
            now,
            why="campaign paused",
            campaign_id=campaign_id,
            account_id=account.id,
            due_by=now,
        )
    return later


def finish_stage(session: Session, now: datetime, journey_id: int, seq: int) -> None:
    """A stage workflow ended, whatever it did: its sender is free for the next one."""
    _release(session, lock_journey(session, journey_id), seq, now=now)


def _release(session: Session, journey: Journey, seq: int, *, now: datetime) -> None:
    account = session.get(Account, journey.account_id)
    assert account is not None
    if journey.stage_seq == seq:
        pacing.release(account, journey.id, now=now)


def ending_stage(
    session: Session,
    now: datetime,
    record: Callable[Concatenate[Session, datetime, int, P], object],
    journey_id: int,
    seq: int,
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> bool:
    """A stage's last transaction: ``record`` its outcome, then ``finish_stage``, in one
    transaction (and one recorded step) instead of two. True: the sender is free."""
    record(session, now, journey_id, *args, **kwargs)  # it locks the sender, then the journey
    journey = session.get(Journey, journey_id)  # as locked: no second round of locks
    assert journey is not None
    _release(session, journey, seq, now=now)
    return True


def apply_next(session: Session, journey: Journey, step: NextStep, *, now: datetime) -> None:
    if journey.status in TERMINAL_STATUSES:  # a reply ended it while this stage ran
        return
    if step.stage is None:
        end(session, journey, JourneyStatus(step.end or "completed"), now=now, reason=step.end)
        return
    assert step.due is not None
    schedule_stage(session, journey, step.stage, step.due, now=now)


def end(
    session: Session,
    journey: Journey,
    status: JourneyStatus,
    *,
    now: datetime,
    reason: str | None = None,
    **details: Any,
) -> None:
    journey.status = status
    journey.stage = None
    journey.next_run_at = None
    journey.waiting_for = None
    journey.held = False
    journey.ended_at = now
    journey.end_reason = reason
    journey.updated_at = now
    if status is not JourneyStatus.REPLIED:  # a reply is its own event, reply_received
        add_event(session, journey, EventKind(status.value), now, reason=reason, **details)
    campaign_lifecycle.maybe_complete(session, journey.campaign_id)


def stop(
    session: Session, journey_id: int, *, now: datetime, by: str, release: bool = False
) -> bool:
    """A person stops the journey: nothing more is sent; an invitation still unanswered
    is withdrawn later, as for one not accepted. Whether it was still open.

    ``release``: its stage run was cancelled, so it never frees its sender: free it here.
    """
    journey = lock_journey(session, journey_id)
    account = session.get(Account, journey.account_id)
    if release and account is not None and account.busy_journey_id == journey.id:
        pacing.release(account, journey.id, now=now)
    if journey.status in TERMINAL_STATUSES:
        return False
    unanswered = journey.status is JourneyStatus.INVITED
    end(session, journey, JourneyStatus.STOPPED, now=now, reason=f"stopped by {by}")
    if unanswered:
        _withdraw_later(session, journey, now=now)
    return True


def forget(session: Session, journey_id: int) -> None:
    """Delete a journey that never reached its prospect (nothing sent, nothing in
    flight); raises ``Conflict`` otherwise. The sender's counted actions stay counted."""
    journey = lock_journey(session, journey_id)
    account = session.get(Account, journey.account_id)
    assert account is not None
    if journey.invited_at is not None or journey.follow_ups_sent or journey.replied_at:
        raise Conflict("it was already contacted: stop it instead, its history stays")
    if account.busy_journey_id == journey.id:
        raise Conflict("its sender is working on it right now: try again in a moment")
    for table in (SenderAction, InboundMessage):
        session.execute(
            sa.update(table).where(table.journey_id == journey.id).values(journey_id=None)
        )
    session.execute(sa.delete(JourneyEvent).where(JourneyEvent.journey_id == journey.id))
    session.delete(journey)
    session.flush()


def hold(session: Session, journey: Journey, *, now: datetime, why: str) -> None:
    if not journey.held:
        add_event(session, journey, EventKind.HELD, now, reason=why)
    journey.held = True
    journey.waiting_for = why
    journey.updated_at = now


def hold_all(
    session: Session,
    now: datetime,
    *,
    why: str,
    campaign_id: int | None = None,
    account_id: int | None = None,
    due_by: datetime | None = None,
) -> int:
    """Hold every waiting journey of a campaign or a sender (due by ``due_by``, if
    given); how many. The transaction holds the sender, or holds nothing else."""
    query = sa.select(Journey.id).where(
        Journey.held.is_(False),
        Journey.status.not_in(TERMINAL_STATUSES),
        Journey.stage.is_not(None),
    )
    if campaign_id is not None:
        query = query.where(Journey.campaign_id == campaign_id)
    if account_id is not None:
        query = query.where(Journey.account_id == account_id)
    if due_by is not None:
        query = query.where(Journey.next_run_at <= due_by)
    ids = list(session.execute(query.order_by(Journey.id)).scalars())
    if not ids:
        return 0
    session.execute(
        sa.update(Journey),
        [{"id": jid, "held": True, "waiting_for": why, "updated_at": now} for jid in ids],
    )
    add_events(
        session,
        [
            {"journey_id": jid, "kind": EventKind.HELD, "at": now, "details": {"reason": why}}
            for jid in ids
        ],
    )
    return len(ids)


# -- launch and release -------------------------------------------------------------------


def create_journeys(session: Session, now: datetime, campaign_id: int) -> int:
    """Give every pending prospect of an active campaign its journey and its sender.

    Each prospect gets one of the campaign's senders for life (``assign_senders``); its
    invitation is due now, and the sender's governor decides when it goes. Idempotent: a
    prospect with a journey is never picked again, and the unique (campaign, prospect)
    constraint backs that up. Returns how many were created.
    """
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
        return 0
    senders = [lock_sender(session, sid) for sid in sorted(campaign.account_ids)]
    prospect_ids = pending_prospects(session, campaign_id)
    if not prospect_ids:
        return 0
    blocked = blocked_prospect_ids(session, prospect_ids)
    if blocked:
        _create_blocked(session, now, campaign_id, senders[0].id, blocked)
        prospect_ids = [pid for pid in prospect_ids if pid not in blocked]
        if not prospect_ids:
            campaign_lifecycle.maybe_complete(session, campaign_id)
            return len(blocked)
    assigned = assign_senders(
        len(prospect_ids), [pacing.capacity(session, a, now) for a in senders]
    )
    invite = StageRef(Stage.INVITE)
    rows = [
        {
            "campaign_id": campaign_id,
            "prospect_id": pid,
            "account_id": sender,
            "status": JourneyStatus.SCHEDULED,
            "stage": str(invite),
            "stage_seq": 0,
            "next_run_at": now,
            "waiting_for": waiting_for(invite),
            "created_at": now,
            "updated_at": now,
        }
        for pid, sender in zip(prospect_ids, assigned, strict=True)
    ]
    inserted = sa.insert(Journey).returning(Journey.id, sort_by_parameter_order=True)
    journey_ids = list(session.execute(inserted, rows).scalars())
    add_events(
        session,
        [
            {
                "journey_id": jid,
                "kind": EventKind.SCHEDULED,
                "at": now,
                "details": {"sender": sender},
            }
            for jid, sender in zip(journey_ids, assigned, strict=True)
        ],
    )
    for account in senders:
        pacing.wake(account, now)
    return len(journey_ids) + len(blocked)


def _create_blocked(
    session: Session, now: datetime, campaign_id: int, sender: int, blocked: dict[int, str]
) -> None:
    """Prospects put on the do-not-contact list after their import: each journey ends
    before it starts, the entry as its reason (so nothing waits for them)."""
    rows = [
        {
            "campaign_id": campaign_id,
            "prospect_id": pid,
            "account_id": sender,
            "status": JourneyStatus.FAILED,
            "stage_seq": 0,
            "end_reason": f"do not contact: {reason}",
            "last_error": f"do not contact: {reason}",
            "ended_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for pid, reason in sorted(blocked.items())
    ]
    inserted = sa.insert(Journey).returning(Journey.id, sort_by_parameter_order=True)
    ids = list(session.execute(inserted, rows).scalars())
    events = [
        {
            "journey_id": jid,
            "kind": EventKind.FAILED,
            "at": now,
            "details": {"reason": row["end_reason"]},
        }
        for jid, row in zip(ids, rows, strict=True)
    ]
    add_events(session, events)


def release_held(
    session: Session,
    now: datetime,
    *,
    campaign_id: int | None = None,
    account_id: int | None = None,
) -> int:
    """Reschedule held journeys (of a campaign or a sender) from now on; how many."""
    query = sa.select(Journey.account_id).where(
        Journey.held.is_(True), Journey.status.not_in(TERMINAL_STATUSES)
    )
    if campaign_id is not None:
        query = query.where(Journey.campaign_id == campaign_id)
    if account_id is not None:
        query = query.where(Journey.account_id == account_id)
    released = 0
    for sender in sorted(set(session.execute(query).scalars())):
        lock_sender(session, sender)
        held = session.execute(
            sa.select(Journey)
            .where(
                Journey.id.in_(
                    query.with_only_columns(Journey.id).where(Journey.account_id == sender)
                )
            )
            .order_by(Journey.next_run_at, Journey.id)
            .with_for_update(of=Journey, key_share=True)
        )
        for journey in held.unique().scalars():
            campaign = session.get(Campaign, journey.campaign_id)
            assert campaign is not None
            account = session.get(Account, journey.account_id)
            assert account is not None
            if campaign.status is CampaignStatus.PAUSED or account.status is AccountStatus.PAUSED:
                continue
            assert journey.stage is not None and journey.next_run_at is not None
            add_event(session, journey, EventKind.RESUMED, now)
            schedule_stage(
                session,
                journey,
                StageRef.parse(journey.stage),
                max(now, journey.next_run_at),
                now=now,
            )
            released += 1
    return released


# -- a new version of the campaign's sequence ---------------------------------------------


def follow_new_version(
    session: Session, now: datetime, campaign: Campaign, spec: SequenceSpec, *, version: int
) -> dict[str, int]:
    """Point the campaign's waiting journeys at a new sequence: a check or follow-up
    whose day moved waits for its new day; a journey waiting for a follow-up the new
    version removed ends as completed (nothing strands on a step that is gone).

    A stage running right now is left alone: it sends what its version said (a removed
    follow-up is not sent, the journey having ended) and its outcome is planned with the
    new version. The transaction holds the campaign's senders (``lock_senders``).
    """
    waiting = session.execute(
        sa.select(Journey)
        .where(
            Journey.campaign_id == campaign.id,
            Journey.status.in_([JourneyStatus.INVITED, JourneyStatus.CONNECTED]),
            Journey.stage.is_not(None),
        )
        .order_by(Journey.id)
        .with_for_update(of=Journey, key_share=True)
    )
    busy = set(
        session.scalars(
            sa.select(Account.busy_journey_id).where(Account.id.in_(campaign.account_ids))
        )
    )
    counts = {"replanned": 0, "ended": 0}
    for journey in waiting.unique().scalars():
        outcome = _follow_version(
            session, journey, spec, now=now, running=journey.id in busy, version=version
        )
        if outcome:
            counts[outcome] += 1
    return counts


def _follow_version(
    session: Session,
    journey: Journey,
    spec: SequenceSpec,
    *,
    now: datetime,
    running: bool,
    version: int,
) -> str | None:
    assert journey.stage is not None and journey.invited_at is not None
    ref = StageRef.parse(journey.stage)
    if ref.stage is Stage.FOLLOW_UP and ref.number > len(spec.follow_up_days):
        reason = f"follow-up {ref.number} removed from the sequence"
        end(session, journey, JourneyStatus.COMPLETED, now=now, reason=reason, version=version)
        return "ended"
    if running:
        return None  # its outcome is planned with the new version
    if ref.stage is Stage.CHECK_ACCEPTANCE:
        step = after_invitation(spec, invited_at=journey.invited_at)
    elif ref.stage is Stage.FOLLOW_UP:
        step = follow_up(spec, ref.number, invited_at=journey.invited_at, now=now)
    else:
        return None
    assert step.stage is not None and step.due is not None
    due = max(step.due, now)
    if due == journey.next_run_at:
        return None
    before = journey.next_run_at
    if journey.held:  # still held: released on its new day (``release_held``)
        journey.next_run_at, journey.updated_at = due, now
    else:
        schedule_stage(session, journey, step.stage, due, now=now)
    add_event(
        session,
        journey,
        EventKind.REPLANNED,
        now,
        stage=str(step.stage),
        was=before.isoformat() if before else None,
        until=due.isoformat(),
        why=f"the campaign's sequence changed (version {version})",
        version=version,
    )
    return "replanned"


# -- running a stage ----------------------------------------------------------------------


@dataclass(frozen=True)
class StageContext:
    """Everything a stage needs, read in one transaction when it starts."""

    journey_id: int
    campaign_id: int
    stage: str
    seq: int
    account_external_id: str
    identifier: str
    provider_id: str | None
    variables: dict[str, Any]
    sequence: SequenceSpec
    templates: Templates
    invited_at: datetime | None
    due: datetime  # when the stage was scheduled for; it runs at or a little after it
    version: int = 1  # the campaign's version whose texts this stage sends
    account_id: int | None = None  # its sender (None in contexts recorded before it was kept)
    # The provider ids of the replies recorded already (an out-of-office notice the
    # sequence waited out): the chat's check before a follow-up looks past them.
    replies_seen: tuple[str, ...] = ()


def is_current(journey: Journey, stage: str, seq: int) -> bool:
    """Whether ``stage``/``seq`` is still what the journey waits for (an ended journey
    waits only for the withdrawal of its unanswered invitation)."""
    open_ = journey.status not in TERMINAL_STATUSES or stage == str(StageRef(Stage.WITHDRAW))
    return open_ and journey.stage == stage and journey.stage_seq == seq


def begin_stage(
    session: Session, now: datetime, journey_id: int, stage: str, seq: int
) -> StageContext | None:
    """Start a stage, or say why not (``None``).

    Not at all: stale (the journey ended, moved on, or this is an older dispatch).
    Not now: campaign or sender paused (the journey is held); sender backing off, or
    outside working hours because the stage started late (the governor, which looks at
    the sender again when this stage ends, picks the journey again when it may).
    """
    journey = lock_journey(session, journey_id)
    if not is_current(journey, stage, seq):
        return None
    campaign = _campaign(session, journey.campaign_id)
    account = session.get(Account, journey.account_id)  # its own sender, not the campaign's first
    assert account is not None
    withdrawal = journey.stage == str(StageRef(Stage.WITHDRAW))
    if withdrawal and account.status is not AccountStatus.ACTIVE:
        return None  # housekeeping of an ended journey waits for its sender, unheld
    if campaign.status is CampaignStatus.PAUSED and not withdrawal:
        hold(session, journey, now=now, why="campaign paused")
        return None
    if account.status is AccountStatus.PAUSED:
        hold(session, journey, now=now, why=sender_status.why_paused(account))
        return None
    if not sender_status.lift_backoff_if_over(account, now):
        return None
    if next_open(now, working_hours(account)) != now:
        return None
    prospect = journey.prospect
    blocked = None if withdrawal else matches(session, [prospect])[0]
    if blocked is not None:
        reason = f"do not contact: {blocked.sentence()}"
        end(session, journey, JourneyStatus.FAILED, now=now, reason=reason)
        return None
    return StageContext(
        journey_id=journey.id,
        campaign_id=campaign.id,
        stage=stage,
        seq=seq,
        account_external_id=account.external_id,
        identifier=prospect.provider_id or prospect.public_identifier,
        provider_id=prospect.provider_id,
        variables=prospect_variables(prospect),
        sequence=SequenceSpec.model_validate(campaign.sequence),
        templates=Templates.model_validate(campaign.templates),
        invited_at=journey.invited_at,
        due=journey.next_run_at or now,
        version=campaign.version,
        account_id=account.id,
        replies_seen=tuple(
            session.scalars(
                sa.select(InboundMessage.message_id).where(InboundMessage.journey_id == journey.id)
            )
        )
        if journey.replied_at is not None
        else (),
    )


@dataclass(frozen=True)
class InviteOutcome:
    provider_id: str
    at: datetime  # when LinkedIn took the invitation (or showed the relation)
    connected: bool  # already a first-degree relation: no invitation needed
    already_pending: bool
    invitation_id: str | None
    note: str | None


@dataclass(frozen=True)
class MessageOutcome:
    message_id: str | None
    chat_id: str | None
    at: datetime  # when LinkedIn took the message (or when it was found in the chat)
    already_sent: bool  # found in the chat: a retry after a crash, not a second send


def invited(
    session: Session,
    now: datetime,
    journey_id: int,
    outcome: InviteOutcome,
    *,
    due: datetime,
    version: int | None = None,
) -> None:
    journey = lock_journey(session, journey_id)
    spec = _spec(session, journey.campaign_id)
    journey.prospect.provider_id = outcome.provider_id
    journey.invited_at = outcome.at
    journey.attempts = 0
    journey.last_error = None
    pacing.record(
        session, journey, Action.VIEW if outcome.connected else Action.INVITATION, outcome.at
    )
    if outcome.connected:
        journey.status = JourneyStatus.CONNECTED
        journey.accepted_at = outcome.at
        add_event(session, journey, EventKind.ALREADY_CONNECTED, outcome.at)
        step = follow_up(spec, 1, invited_at=outcome.at, now=now)
        return apply_next(session, journey, step, now=now)
    journey.status = JourneyStatus.INVITED
    add_event(
        session,
        journey,
        EventKind.INVITATION_SENT,
        outcome.at,
        due=due.isoformat(),
        note=outcome.note,
        version=version,
        invitation_id=outcome.invitation_id,
        already_pending=outcome.already_pending,
    )
    apply_next(session, journey, after_invitation(spec, invited_at=outcome.at), now=now)


def checked(session: Session, now: datetime, journey_id: int, *, connected: bool) -> None:
    journey = lock_journey(session, journey_id)
    spec = _spec(session, journey.campaign_id)
    assert journey.invited_at is not None
    pacing.record(session, journey, Action.VIEW, now)
    if connected and journey.accepted_at is None:
        journey.accepted_at = now
        journey.status = JourneyStatus.CONNECTED
        add_event(session, journey, EventKind.INVITATION_ACCEPTED, now, seen_by="acceptance check")
    journey.attempts = 0
    journey.last_error = None
    step = after_acceptance_check(spec, accepted=connected, invited_at=journey.invited_at, now=now)
    apply_next(session, journey, step, now=now)
    if journey.status is JourneyStatus.NOT_ACCEPTED:
        _withdraw_later(session, journey, now=now)


def _withdraw_later(session: Session, journey: Journey, *, now: datetime) -> None:
    """An ended journey's invitation, still pending, is withdrawn after the sender's
    ``withdraw_after_days``: its last stage, run by the governor like any other."""
    account = session.get(Account, journey.account_id)
    assert account is not None and journey.invited_at is not None
    if account.withdraw_after_days <= 0:
        return
    due = max(now, journey.invited_at + timedelta(days=account.withdraw_after_days))
    withdraw = StageRef(Stage.WITHDRAW)
    journey.stage, journey.next_run_at = str(withdraw), due
    journey.waiting_for = waiting_for(withdraw)
    pacing.wake(account, due)


def withdrawn(
    session: Session, now: datetime, journey_id: int, *, at: datetime, accepted: bool
) -> None:
    """The unanswered invitation was withdrawn (or, read first, had been accepted late)."""
    journey = lock_journey(session, journey_id)
    if journey.stage != str(StageRef(Stage.WITHDRAW)):
        return
    if accepted:
        pacing.record(session, journey, Action.VIEW, at)
        add_event(session, journey, EventKind.INVITATION_ACCEPTED, at, seen_by="withdrawal check")
        journey.accepted_at = journey.accepted_at or at
    else:
        pacing.record(session, journey, Action.WITHDRAWAL, at)
        add_event(session, journey, EventKind.INVITATION_WITHDRAWN, at)
    journey.stage = None
    journey.next_run_at = None
    journey.waiting_for = None
    journey.updated_at = now


def followed_up(
    session: Session,
    now: datetime,
    journey_id: int,
    number: int,
    outcome: MessageOutcome,
    *,
    due: datetime,
    text: str | None = None,
    version: int | None = None,
) -> None:
    """Follow-up ``number`` went out (``text``, from the campaign's ``version``)."""
    journey = lock_journey(session, journey_id)
    spec = _spec(session, journey.campaign_id)
    assert journey.invited_at is not None
    pacing.record(session, journey, Action.MESSAGE, outcome.at)
    journey.follow_ups_sent = max(journey.follow_ups_sent, number)
    journey.attempts = 0
    journey.last_error = None
    add_event(
        session,
        journey,
        EventKind.MESSAGE_SENT,
        outcome.at,
        follow_up=number,
        text=text,
        version=version,
        due=due.isoformat(),
        message_id=outcome.message_id,
        chat_id=outcome.chat_id,
        found_after_retry=outcome.already_sent,
    )
    apply_next(
        session,
        journey,
        after_follow_up(spec, number, invited_at=journey.invited_at, now=now),
        now=now,
    )


def recipient_failed(
    session: Session, now: datetime, journey_id: int, *, error: str, code: str | None
) -> None:
    journey = lock_journey(session, journey_id)
    journey.last_error = error[:ERROR_LIMIT]
    end(session, journey, JourneyStatus.FAILED, now=now, reason=error[:ERROR_LIMIT], code=code)


def stage_failed(
    session: Session,
    now: datetime,
    journey_id: int,
    stage: str,
    seq: int,
    *,
    error: str,
    delay: timedelta,
    max_attempts: int,
    transient: bool,
) -> None:
    """A stage failed (a transient error outlived its retries, or an unexpected one): try
    it again after ``delay`` (doubling with each attempt), or fail the journey visibly."""
    journey = lock_journey(session, journey_id)
    if not is_current(journey, stage, seq):
        return
    error = error[:ERROR_LIMIT]
    journey.attempts += 1
    journey.last_error = error
    add_event(
        session,
        journey,
        EventKind.ERROR,
        now,
        error=error,
        attempt=journey.attempts,
        transient=transient,
    )
    if journey.attempts >= max_attempts:
        reason = f"gave up after {journey.attempts} attempts: {error}"
        end(session, journey, JourneyStatus.FAILED, now=now, reason=reason)
        return
    backoff = delay * (2 ** (journey.attempts - 1))
    schedule_stage(session, journey, StageRef.parse(stage), now + backoff, now=now)


def account_failed(
    session: Session,
    now: datetime,
    journey_id: int,
    stage: str,
    seq: int,
    *,
    error: str,
    code: str | None,
    until_tomorrow: bool,
) -> None:
    """The sender cannot act: pause it (or back off until tomorrow) and hold the journey."""
    journey = lock_journey(session, journey_id)
    if not is_current(journey, stage, seq):
        return
    account = session.get(Account, journey.account_id)
    assert account is not None
    error = error[:ERROR_LIMIT]
    journey.last_error = error
    add_event(session, journey, EventKind.ERROR, now, error=error, code=code, account_level=True)
    if until_tomorrow:  # today's budget is spent; the account warms up again from tomorrow
        until = next_day_open(now, working_hours(account))
        sender_status.back_off(
            account, until=until, reason=sender_status.plain_reason(code or "limit_exceeded", error)
        )
        pacing.restart_warmup(account, working_hours(account).local_day(until))
        schedule_stage(session, journey, StageRef.parse(stage), until, now=now)
        return
    sender_status.pause(
        account, by=PausedBy.PROVIDER, reason=sender_status.plain_reason(code, error)
    )
    hold_all(session, now, why=sender_status.why_paused(account), account_id=account.id)


def wake_sender(session: Session, now: datetime, account_id: int) -> int:
    """Have the governor look at a sender now (the doctor found it forgotten)."""
    account = lock_sender(session, account_id)
    pacing.wake(account, now)
    return 1


# -- what LinkedIn tells us ---------------------------------------------------------------


def reply_received(
    session: Session,
    journey: Journey,
    *,
    now: datetime,
    text: str,
    message_id: str,
    source: str,
    inbound_id: int | None = None,
) -> None:
    """A reply ends the journey (a completed one too: the answer is the outcome that counts).

    The built-in classifier reads it (as data): its intent is on the event, and becomes the
    journey's ``reply_intent`` unless one was said already (a person's mark stands). After
    the commit the reply agent drafts an answer to the stored message ``inbound_id``."""
    read = classify(text, today=now.date())
    add_event(
        session,
        journey,
        EventKind.REPLY_RECEIVED,
        now,
        text=text,
        message_id=message_id,
        source=source,
        intent=read.intent.value,
        confidence=read.confidence,
        classifier=read.classifier,
        return_date=read.return_date.isoformat() if read.return_date else None,
        referral=read.referral,
    )
    if journey.reply_intent is None:
        journey.reply_intent = read.intent
    if read.intent is ReplyIntent.UNSUBSCRIBE or read.matched == (
        ReplyIntent.NOT_INTERESTED.value,
    ):
        # "Stop", or a plain no (nothing else in it): never contacted again, anywhere.
        # After this commit, in its own transaction (it locks other senders' journeys).
        said = read.intent.value.replace("_", " ")
        defer(
            session,
            Work(
                "outreach.replies.workflows:stop_contacting",
                (journey.prospect.public_identifier, f"replied “{said}” ({read.classifier})"),
                workflow_id=f"reply-dnc-{journey.id}-{message_id}"[:200],
            ),
        )
    if inbound_id is not None:
        from outreach.replies.agent import agent_work  # the agent reads journeys' lifecycle

        defer(session, agent_work(inbound_id))
    if _waits_for_return(session, journey, read, now):
        return
    if journey.status not in TERMINAL_STATUSES:
        journey.replied_at = now
        end(session, journey, JourneyStatus.REPLIED, now=now, reason="prospect replied")
    elif journey.status is JourneyStatus.COMPLETED:
        journey.replied_at = now
        end(session, journey, JourneyStatus.REPLIED, now=now, reason="replied after the sequence")


def _after_return(stage: StageRef) -> str:
    return f"{waiting_for(stage)}, after the prospect's return"


AWAY_AT_MOST = timedelta(days=90)  # a later return date: the reply ends the sequence


def _waits_for_return(
    session: Session, journey: Journey, read: Classification, now: datetime
) -> bool:
    """An out-of-office reply with a return date, in a campaign that resumes after one:
    the sequence waits until the day after (nothing runs before ``not_before``) instead of
    ending. Whether it does.

    The journey's next stage only moves later, so its sender's governor needs no word
    (it finds nothing due when it looks, and looks again at the next due): this
    transaction holds the journey alone, as a reply's does.
    """
    back = read.return_date
    if (
        read.intent is not ReplyIntent.OUT_OF_OFFICE
        or back is None
        or journey.status not in (JourneyStatus.INVITED, JourneyStatus.CONNECTED)
        or journey.stage is None
    ):
        return False
    resume = datetime.combine(back + timedelta(days=1), time(0), tzinfo=UTC)
    if not now < resume <= now + AWAY_AT_MOST:
        return False
    if not _spec(session, journey.campaign_id).resume_after_out_of_office:
        return False
    journey.replied_at = now  # they answered: the inbox shows the conversation
    journey.not_before = resume
    if journey.next_run_at is None or journey.next_run_at < resume:
        journey.next_run_at = resume
        journey.waiting_for = _after_return(StageRef.parse(journey.stage))
    journey.updated_at = now
    add_event(
        session,
        journey,
        EventKind.WAITING_FOR_RETURN,
        now,
        back=back.isoformat(),
        until=journey.next_run_at.isoformat(),
        stage=journey.stage,
    )
    return True


def acceptance_seen(session: Session, journey: Journey, *, now: datetime, seen_by: str) -> bool:
    """The invitation was accepted; with ``follow_up_on_acceptance`` follow-up 1 goes now.

    Whether it was news (the journey was waiting for the acceptance).
    """
    if journey.status is not JourneyStatus.INVITED:
        return False
    spec = _spec(session, journey.campaign_id)
    journey.status = JourneyStatus.CONNECTED
    journey.accepted_at = now
    add_event(session, journey, EventKind.INVITATION_ACCEPTED, now, seen_by=seen_by)
    if spec.follow_up_on_acceptance and not journey.held:
        apply_next(session, journey, NextStep(StageRef(Stage.FOLLOW_UP, 1), now), now=now)
    return True


# -- repair -------------------------------------------------------------------------------


def repair(
    session: Session,
    now: datetime,
    journey_id: int,
    stage: str,
    seq: int,
    *,
    problem: str,
    max_attempts: int,
) -> bool:
    """Free the sender of a stage that has no live workflow (lost, or ended in error) and
    have the governor run it again, or fail the journey visibly once it has been tried
    too often."""
    journey = lock_journey(session, journey_id)
    if not is_current(journey, stage, seq) or journey.held:
        return False
    account = session.get(Account, journey.account_id)
    assert account is not None
    pacing.release(account, journey.id, now=now)
    journey.attempts += 1
    journey.last_error = problem[:ERROR_LIMIT]
    add_event(
        session,
        journey,
        EventKind.REPAIRED,
        now,
        stage=stage,
        problem=problem,
        attempt=journey.attempts,
    )
    if journey.attempts >= max_attempts:
        end(
            session,
            journey,
            JourneyStatus.FAILED,
            now=now,
            reason=f"gave up after {journey.attempts} attempts: {problem}",
        )
        return True
    due = journey.next_run_at or now  # its day, as planned: a repair never brings it forward
    schedule_stage(session, journey, StageRef.parse(stage), due, now=now)
    return True
