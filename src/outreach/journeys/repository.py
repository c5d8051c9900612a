"""Journey queries and the transactions the stage workflows run (each takes a Session first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.accounts.pacing import book_invitations, book_message, lock_account, working_hours
from outreach.campaigns.scheduling import next_day_open, next_open
from outreach.campaigns.sequence import (
    NextStep,
    SequenceSpec,
    Stage,
    StageRef,
    Templates,
    waiting_for,
)
from outreach.models import (
    TERMINAL_STATUSES,
    Account,
    AccountStatus,
    Campaign,
    CampaignStatus,
    Journey,
    JourneyEvent,
    JourneyStatus,
    Prospect,
)

# Starts the reason of a pause LinkedIn caused, which LinkedIn's "account OK" lifts again.
PROVIDER_PAUSE = "provider:"


@dataclass(frozen=True)
class Scheduled:
    """A stage to enqueue: its workflow is ``run_stage(journey_id, stage, seq)`` at ``at``."""

    journey_id: int
    account_id: int
    stage: str
    seq: int
    at: datetime


def add_event(session: Session, journey: Journey, kind: str, at: datetime, **details: Any) -> None:
    session.add(JourneyEvent(journey_id=journey.id, at=at, kind=kind, details=details))


def get_journey(session: Session, journey_id: int, *, lock: bool = False) -> Journey:
    query = sa.select(Journey).where(Journey.id == journey_id)
    if lock:
        query = query.with_for_update(of=Journey)
    return session.execute(query).unique().scalar_one()


def set_next(
    session: Session, journey: Journey, stage: StageRef, at: datetime, *, now: datetime
) -> Scheduled:
    """Point the journey at its next stage, with a fresh workflow sequence number."""
    journey.stage = str(stage)
    journey.stage_seq += 1
    journey.next_run_at = at
    journey.waiting_for = waiting_for(stage)
    journey.held = False
    journey.updated_at = now
    return Scheduled(journey.id, journey.account_id, journey.stage, journey.stage_seq, at)


def schedule_stage(
    session: Session, journey: Journey, stage: StageRef, due: datetime, *, now: datetime
) -> Scheduled:
    """Book the sender's slot for ``stage`` (due at ``due``) and point the journey at it."""
    account = lock_account(session, journey.account_id)
    if stage.stage is Stage.INVITE:
        at = book_invitations(session, account, [journey.id], now=max(due, now))[0]
    elif stage.stage is Stage.FOLLOW_UP:
        at = book_message(session, account, journey.id, due=max(due, now))
    else:  # a check reads, it sends nothing: no slot, no cap
        at = max(due, now)
    return set_next(session, journey, stage, at, now=now)


def apply_next(
    session: Session, journey: Journey, step: NextStep, *, now: datetime
) -> Scheduled | None:
    if journey.status in TERMINAL_STATUSES:  # a reply ended it while this stage ran
        return None
    if step.stage is None:
        end(session, journey, JourneyStatus(step.end or "completed"), now=now, reason=step.end)
        return None
    assert step.due is not None
    return schedule_stage(session, journey, step.stage, step.due, now=now)


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
        add_event(session, journey, status.value, now, reason=reason, **details)
    maybe_complete_campaign(session, journey.campaign_id)


def maybe_complete_campaign(session: Session, campaign_id: int) -> None:
    """A campaign is completed once every prospect's journey has ended."""
    open_journeys = session.execute(
        sa.select(sa.func.count())
        .select_from(Journey)
        .where(Journey.campaign_id == campaign_id, Journey.status.not_in(TERMINAL_STATUSES))
    ).scalar_one()
    if open_journeys:
        return
    if pending_prospects(session, campaign_id, limit=1):
        return
    campaign = session.get(Campaign, campaign_id)
    if campaign is not None and campaign.status is CampaignStatus.ACTIVE:
        campaign.status = CampaignStatus.COMPLETED


def pending_prospects(session: Session, campaign_id: int, *, limit: int | None = None) -> list[int]:
    """Prospects of the campaign that have no journey yet, oldest first."""
    query = (
        sa.select(Prospect.id)
        .outerjoin(
            Journey, sa.and_(Journey.prospect_id == Prospect.id, Journey.campaign_id == campaign_id)
        )
        .where(Prospect.campaign_id == campaign_id, Journey.id.is_(None))
        .order_by(Prospect.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def create_journeys(session: Session, now: datetime, campaign_id: int) -> list[Scheduled]:
    """Give every pending prospect of an active campaign its journey and invitation slot.

    Idempotent: a prospect with a journey is never picked again, and the unique
    (campaign, prospect) constraint backs that up.
    """
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
        return []
    account = lock_account(session, campaign.account_id)
    prospect_ids = pending_prospects(session, campaign_id)
    if not prospect_ids:
        return []
    rows = [
        {
            "campaign_id": campaign_id,
            "prospect_id": pid,
            "account_id": account.id,
            "status": JourneyStatus.SCHEDULED,
            "stage": str(StageRef(Stage.INVITE)),
            "stage_seq": 1,
            "waiting_for": waiting_for(StageRef(Stage.INVITE)),
            "created_at": now,
            "updated_at": now,
        }
        for pid in prospect_ids
    ]
    inserted = sa.insert(Journey).returning(Journey.id, sort_by_parameter_order=True)
    journey_ids = list(session.execute(inserted, rows).scalars())
    not_before = (
        now if account.status is AccountStatus.ACTIVE else max(now, account.paused_until or now)
    )
    slots = book_invitations(session, account, journey_ids, now=not_before)
    session.execute(
        sa.update(Journey),
        [{"id": jid, "next_run_at": at} for jid, at in zip(journey_ids, slots, strict=True)],
    )
    session.execute(
        sa.insert(JourneyEvent),
        [
            {
                "journey_id": jid,
                "at": now,
                "kind": "scheduled",
                "details": {"invite_at": at.isoformat()},
            }
            for jid, at in zip(journey_ids, slots, strict=True)
        ],
    )
    return [
        Scheduled(jid, account.id, "invite", 1, at)
        for jid, at in zip(journey_ids, slots, strict=True)
    ]


@dataclass(frozen=True)
class StageContext:
    """Everything a stage needs, read in one transaction when it starts."""

    journey_id: int
    campaign_id: int
    account_external_id: str
    identifier: str
    provider_id: str | None
    variables: dict[str, Any]
    sequence: SequenceSpec
    templates: Templates
    invited_at: datetime | None
    due: datetime  # when the stage was scheduled for; it runs at or a little after it


def begin_stage(
    session: Session, now: datetime, journey_id: int, stage: str, seq: int
) -> StageContext | Scheduled | None:
    """Start a stage, or say why not.

    ``None``: stale (the journey ended, moved on, or this is an older scheduling).
    ``Scheduled``: not now (paused, backed off, outside working hours): run this instead.
    """
    journey = get_journey(session, journey_id, lock=True)
    if journey.status in TERMINAL_STATUSES or journey.stage != stage or journey.stage_seq != seq:
        return None
    campaign = session.get(Campaign, journey.campaign_id)
    assert campaign is not None
    account = campaign.account
    ref = StageRef.parse(stage)
    if campaign.status is CampaignStatus.PAUSED or account.status is AccountStatus.PAUSED:
        hold(
            session,
            journey,
            now=now,
            why="campaign paused"
            if campaign.status is CampaignStatus.PAUSED
            else f"sender paused: {account.status_reason or 'by a person'}",
        )
        return None
    if account.status is AccountStatus.BACKOFF:
        if account.paused_until and account.paused_until > now:
            return schedule_stage(session, journey, ref, account.paused_until, now=now)
        lift_backoff(account)
    if ref.stage is not Stage.CHECK_ACCEPTANCE and next_open(now, working_hours(account)) != now:
        # It ran late (a worker was down): keep to working hours and re-book.
        return schedule_stage(session, journey, ref, now, now=now)
    prospect = journey.prospect
    return StageContext(
        journey_id=journey.id,
        campaign_id=campaign.id,
        account_external_id=account.external_id,
        identifier=prospect.provider_id or prospect.public_identifier,
        provider_id=prospect.provider_id,
        variables=prospect_variables(prospect),
        sequence=SequenceSpec.model_validate(campaign.sequence),
        templates=Templates.model_validate(campaign.templates),
        invited_at=journey.invited_at,
        due=journey.next_run_at or now,
    )


def waiting_stages(session: Session, due_before: datetime | None = None) -> list[Scheduled]:
    """Every journey's next stage, as it was enqueued (held journeys have none waiting).

    With ``due_before``, only the stages that should have run by then.
    """
    query = (
        sa.select(
            Journey.id, Journey.account_id, Journey.stage, Journey.stage_seq, Journey.next_run_at
        )
        .where(Journey.status.not_in(TERMINAL_STATUSES), Journey.held.is_(False))
        .where(Journey.stage.is_not(None), Journey.next_run_at.is_not(None))
    )
    if due_before is not None:
        query = query.where(Journey.next_run_at < due_before)
    rows = session.execute(query)
    return [
        Scheduled(jid, aid, stage, seq, at)
        for jid, aid, stage, seq, at in rows
        if stage is not None and at is not None  # the query's filter, for the type checker
    ]


def lift_backoff(account: Account) -> None:
    """A provider limit's back-off has run out: the sender is active again."""
    account.status = AccountStatus.ACTIVE
    account.status_reason = None
    account.paused_until = None


def prospect_variables(prospect: Prospect) -> dict[str, Any]:
    names = [n for n in (prospect.first_name, prospect.last_name) if n]
    standard = {
        "first_name": prospect.first_name,
        "last_name": prospect.last_name,
        "full_name": " ".join(names) or None,
        "company": prospect.company,
        "title": prospect.title,
    }
    return dict(prospect.fields or {}) | {k: v for k, v in standard.items() if v}


def hold(session: Session, journey: Journey, *, now: datetime, why: str) -> None:
    if not journey.held:
        add_event(session, journey, "held", now, reason=why)
    journey.held = True
    journey.waiting_for = why
    journey.updated_at = now


def release_held(
    session: Session,
    now: datetime,
    *,
    campaign_id: int | None = None,
    account_id: int | None = None,
) -> list[Scheduled]:
    """Reschedule held journeys (of a campaign or a sender) from now on."""
    query = sa.select(Journey).where(
        Journey.held.is_(True), Journey.status.not_in(TERMINAL_STATUSES)
    )
    if campaign_id is not None:
        query = query.where(Journey.campaign_id == campaign_id)
    if account_id is not None:
        query = query.where(Journey.account_id == account_id)
    scheduled = []
    for journey in (
        session.execute(query.order_by(Journey.next_run_at, Journey.id)).unique().scalars()
    ):
        campaign = session.get(Campaign, journey.campaign_id)
        assert campaign is not None
        if (
            campaign.status is CampaignStatus.PAUSED
            or campaign.account.status is AccountStatus.PAUSED
        ):
            continue
        assert journey.stage is not None and journey.next_run_at is not None
        add_event(session, journey, "resumed", now)
        ref = StageRef.parse(journey.stage)
        scheduled.append(
            schedule_stage(session, journey, ref, max(now, journey.next_run_at), now=now)
        )
    return scheduled


def retry_later(
    session: Session,
    now: datetime,
    journey_id: int,
    stage: str,
    *,
    error: str,
    delay: timedelta,
    max_attempts: int,
) -> Scheduled | None:
    """A transient failure outlived the step's retries: try the stage again later, or fail."""
    journey = get_journey(session, journey_id, lock=True)
    journey.attempts += 1
    journey.last_error = error
    add_event(session, journey, "error", now, error=error, attempt=journey.attempts, transient=True)
    if journey.attempts >= max_attempts:
        end(
            session,
            journey,
            JourneyStatus.FAILED,
            now=now,
            reason=f"gave up after {journey.attempts} attempts: {error}",
        )
        return None
    return schedule_stage(session, journey, StageRef.parse(stage), now + delay, now=now)


def account_failed(
    session: Session,
    now: datetime,
    journey_id: int,
    stage: str,
    *,
    error: str,
    code: str | None,
    until_tomorrow: bool,
) -> Scheduled | None:
    """The sender cannot act: pause it (or back off until tomorrow) and hold the journey."""
    journey = get_journey(session, journey_id, lock=True)
    account = lock_account(session, journey.account_id)
    add_event(session, journey, "error", now, error=error, code=code, account_level=True)
    if until_tomorrow:
        account.status = AccountStatus.BACKOFF
        account.paused_until = next_day_open(now, working_hours(account))
        account.status_reason = f"{PROVIDER_PAUSE} {code or 'limit'}: {error}"
        return schedule_stage(
            session, journey, StageRef.parse(stage), account.paused_until, now=now
        )
    account.status = AccountStatus.PAUSED
    account.status_reason = f"{PROVIDER_PAUSE} {code or 'account error'}: {error}"
    hold(session, journey, now=now, why=f"sender paused: {account.status_reason}")
    return None
