"""The governor's inputs and its one output, read and written in the database.

A sender's policy comes from its account row, its history from ``sender_actions`` (what
it actually did), its candidates from the journeys waiting for it: per campaign and
kind of step, the one due first. ``dispatch`` asks the governor (``governor.decide``)
and either starts one stage now (the sender is then busy until the stage ends) or
notes when to look at the sender again (``next_action_at``). Every transaction here
holds the sender's row (``lock_sender``), the first lock of the global order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.accounts import status as sender_status
from outreach.accounts.governor import (
    DEFAULT_CAPS,
    DEFAULT_GAPS,
    Action,
    Band,
    Candidate,
    Caps,
    Done,
    History,
    Policy,
    Ramp,
    Step,
    decide,
    history_since,
)
from outreach.accounts.schemas import Governor, Usage
from outreach.campaigns.rotation import SenderLoad
from outreach.campaigns.scheduling import WorkingHours
from outreach.journeys import tallies
from outreach.models import (
    TERMINAL_STATUSES,
    Account,
    AccountStatus,
    Campaign,
    CampaignStatus,
    Journey,
    JourneyStatus,
    SenderAction,
)

_STEP_OF_STAGE = sa.case(
    (Journey.stage == "invite", int(Step.INVITE)),
    (Journey.stage == "check_acceptance", int(Step.CHECK)),
    (Journey.stage == "withdraw", int(Step.WITHDRAW)),
    else_=int(Step.FOLLOW_UP),
)
# A journey waits for its sender while it runs in an active campaign, or when it ended
# with an invitation left to withdraw (whatever its campaign's state).
_WAITING = sa.or_(
    sa.and_(Journey.status.not_in(TERMINAL_STATUSES), Campaign.status == CampaignStatus.ACTIVE),
    Journey.stage == "withdraw",
)


def working_hours(account: Account) -> WorkingHours:
    days = frozenset(int(d) for d in account.work_days.split(",") if d.strip())
    return WorkingHours(account.timezone, account.work_start, account.work_end, days)


def policy(account: Account) -> Policy:
    ramp = None
    if account.warmup_days > 0 and account.warmup_since is not None:
        ramp = Ramp(account.warmup_since, account.warmup_start, account.warmup_days)
    return Policy(
        sender=account.id,
        hours=working_hours(account),
        caps={
            Action.INVITATION: Caps(account.daily_invite_cap, account.weekly_invite_cap),
            Action.MESSAGE: Caps(account.daily_message_cap, account.weekly_message_cap),
            Action.VIEW: Caps(account.daily_view_cap, account.weekly_view_cap),
            Action.WITHDRAWAL: DEFAULT_CAPS[Action.WITHDRAWAL],
        },
        gaps={
            Action.INVITATION: _band(account.invite_gap_min_s, account.invite_gap_max_s),
            Action.MESSAGE: _band(account.message_gap_min_s, account.message_gap_max_s),
            Action.VIEW: DEFAULT_GAPS[Action.VIEW],
            Action.WITHDRAWAL: DEFAULT_GAPS[Action.WITHDRAWAL],
        },
        ramp=ramp,
    )


def _band(low_s: int, high_s: int) -> Band:
    return Band(timedelta(seconds=low_s), timedelta(seconds=high_s))


def history(
    session: Session, account: Account, now: datetime, *, count_pending: bool = True
) -> History:
    """What the sender did in the days the caps look at, and its last actions; with
    ``count_pending``, how many of its invitations wait for an answer.

    No gap is longer than a day (the accounts' schemas), so an action older than the
    days read can never delay the next one: the last of a kind is looked for among them.
    """
    hours = working_hours(account)
    since = history_since(now)
    rows = session.execute(
        sa.select(SenderAction.kind, SenderAction.at, SenderAction.campaign_id).where(
            SenderAction.account_id == account.id, SenderAction.at >= since
        )
    )
    done = [Done(Action(kind), at, campaign) for kind, at, campaign in rows]
    found = History.of(done, hours)
    if count_pending:
        found.pending_invitations = pending_invitations(session, account.id)
    return found


def pending_invitations(session: Session, account_id: int) -> int:
    """The sender's invitations out and unanswered: waiting for the check (its journeys
    ``invited``, from the tallies), or to be withdrawn (a small partial index)."""
    invited = tallies.by_sender(session, [account_id]).get(account_id)
    withdrawing = sa.select(sa.func.count()).where(
        Journey.account_id == account_id,
        Journey.stage == "withdraw",
        Journey.status != JourneyStatus.INVITED,
    )
    waiting = invited.per_status.get(JourneyStatus.INVITED, 0) if invited else 0
    return waiting + int(session.execute(withdrawing).scalar_one())


def _waiting(account_id: int) -> sa.Select[int, int, datetime]:
    return (
        sa.select(Journey.campaign_id, _STEP_OF_STAGE, sa.func.min(Journey.next_run_at))
        .join(Campaign, Campaign.id == Journey.campaign_id)
        .where(Journey.account_id == account_id, Journey.held.is_(False))
        .where(Journey.stage.is_not(None), Journey.next_run_at.is_not(None), _WAITING)
        .group_by(Journey.campaign_id, _STEP_OF_STAGE)
    )


def candidates(session: Session, account_id: int) -> list[Candidate]:
    """Per campaign and kind of step, the waiting journey due first (its id left 0: which
    one is picked once the governor has chosen, ``pick``)."""
    return [
        Candidate(0, campaign_id, Step(step), due)
        for campaign_id, step, due in session.execute(_waiting(account_id))
    ]


def pick(session: Session, account_id: int, chosen: Candidate) -> Journey:
    """The journey the governor chose: the campaign's first due of that kind of step."""
    stage = {
        Step.INVITE: Journey.stage == "invite",
        Step.CHECK: Journey.stage == "check_acceptance",
        Step.WITHDRAW: Journey.stage == "withdraw",
    }.get(chosen.step, Journey.stage.like("follow_up:%"))
    query = (
        sa.select(Journey)
        .join(Campaign, Campaign.id == Journey.campaign_id)
        .where(Journey.account_id == account_id, Journey.campaign_id == chosen.campaign)
        .where(Journey.held.is_(False), _WAITING, stage)
        .where(Journey.next_run_at <= chosen.due)
        .order_by(Journey.next_run_at, Journey.id)
        .limit(1)
        .with_for_update(of=Journey, key_share=True)
    )
    return session.execute(query).unique().scalar_one()


def wake(account: Account, at: datetime) -> None:
    """Have the governor look at the sender by ``at`` (a journey of it is due then)."""
    if account.busy_journey_id is not None:
        return  # it looks again when the running stage ends
    if account.next_action_at is None or at < account.next_action_at:
        account.next_action_at = at


def record(session: Session, journey: Journey, action: Action, at: datetime) -> None:
    """An action the sender performed for the journey: the governor counts from it."""
    session.add(
        SenderAction(
            account_id=journey.account_id,
            kind=action.value,
            at=at,
            journey_id=journey.id,
            campaign_id=journey.campaign_id,
        )
    )


def release(account: Account, journey_id: int, *, now: datetime) -> None:
    """The sender's running stage ended (whatever its outcome): look at it again now."""
    if account.busy_journey_id == journey_id:
        account.busy_journey_id = None
        account.busy_since = None
        account.next_action_at = now


def restart_warmup(account: Account, today: date) -> None:
    """A restricted or limited account comes back on a ramp, as a new one does."""
    account.warmup_since = today
    if account.warmup_days <= 0:
        account.warmup_days = 14


def ready(account: Account, now: datetime) -> bool:
    """Whether the governor may start something for the sender now (not paused, not
    backing off any more, not busy); a back-off that ran out is lifted here."""
    if account.busy_journey_id is not None:
        return False
    if not sender_status.lift_backoff_if_over(account, now):
        account.next_action_at = (
            account.paused_until if account.status is AccountStatus.BACKOFF else None
        )
        return False
    return True


def choose(session: Session, account: Account, now: datetime) -> Journey | None:
    """Ask the governor; the journey to run now, or ``None`` with ``next_action_at`` set."""
    found = candidates(session, account.id)
    if not found:  # nothing waits for it: the governor has nothing to weigh
        account.next_action_at = None
        return None
    # The pending invitations hold back new ones only: counted when one is a candidate.
    inviting = any(c.step is Step.INVITE for c in found)
    done = history(session, account, now, count_pending=inviting)
    decision = decide(policy(account), done, found, now)
    if decision.run is None:
        account.next_action_at = decision.wake
        return None
    return pick(session, account.id, decision.run)


def capacity(session: Session, account: Account, now: datetime) -> SenderLoad:
    """What the rotation needs of a sender: its weekly capacity and its queue."""
    queued = session.execute(
        sa.select(sa.func.count(Journey.id)).where(
            Journey.account_id == account.id,
            Journey.stage == "invite",
            Journey.status.not_in(TERMINAL_STATUSES),
        )
    ).scalar_one()
    today = working_hours(account).local_day(now)
    weekly = policy(account).cap(Action.INVITATION, today).week
    return SenderLoad(account.id, weekly, queued, account.status is not AccountStatus.PAUSED)


def _paused_campaigns(account_id: int) -> sa.Select[int]:
    return (
        sa.select(Journey.campaign_id)
        .join(Campaign, Campaign.id == Journey.campaign_id)
        .where(Journey.account_id == account_id, Journey.held.is_(False))
        .where(Journey.status.not_in(TERMINAL_STATUSES), Journey.stage.is_not(None))
        .where(Campaign.status == CampaignStatus.PAUSED)
    )


def paused_campaigns(
    session: Session, account_id: int, now: datetime
) -> tuple[list[int], datetime | None]:
    """The sender's journeys in paused campaigns, in one query: the campaigns with some
    come due (to be held now), and when the next of the others comes due (held then)."""
    later = sa.func.min(Journey.next_run_at).filter(Journey.next_run_at > now)
    query = _paused_campaigns(account_id).add_columns(
        sa.func.min(Journey.next_run_at) <= now, later
    )
    due: list[int] = []
    next_at: datetime | None = None
    for campaign_id, has_due, at in session.execute(query.group_by(Journey.campaign_id)):
        if has_due:
            due.append(campaign_id)
        if at is not None and (next_at is None or at < next_at):
            next_at = at
    return due, next_at


def local_midnight(hours: WorkingHours, day: date) -> datetime:
    """When the sender's local ``day`` begins, in UTC."""
    return datetime.combine(day, time.min, tzinfo=hours.zone).astimezone(UTC)


def counts_today_and_week(
    session: Session, account: Account, now: datetime
) -> dict[Action, tuple[int, int]]:
    """Per kind of action, how many the sender did on its local day and in the seven
    local days ending with it (``History.in_week``): counted in the database, from the
    index on (sender, kind, time), not read row by row."""
    hours = working_hours(account)
    day = hours.local_day(now)
    today = local_midnight(hours, day)
    week = local_midnight(hours, day - timedelta(days=6))
    tomorrow = local_midnight(hours, day + timedelta(days=1))
    rows = session.execute(
        sa.select(
            SenderAction.kind,
            sa.func.count().filter(SenderAction.at >= today),
            sa.func.count(),
        )
        # Each kind named: one index range per kind, not the sender's whole history.
        .where(SenderAction.account_id == account.id, SenderAction.kind.in_(list(Action)))
        .where(SenderAction.at >= week, SenderAction.at < tomorrow)
        .group_by(SenderAction.kind)
    )
    return {Action(kind): (on_day, in_week) for kind, on_day, in_week in rows}


def usage(session: Session, account: Account, now: datetime) -> Governor:
    """The governor's view of a sender now, for people: usage against caps, what's next."""
    pol = policy(account)
    day = pol.hours.local_day(now)
    counts = counts_today_and_week(session, account, now)

    def of(action: Action) -> Usage:
        caps = pol.cap(action, day)
        today, this_week = counts.get(action, (0, 0))
        return Usage(today=today, day_cap=caps.day, this_week=this_week, week_cap=caps.week)

    full = account.daily_invite_cap
    return Governor(
        invitations=of(Action.INVITATION),
        messages=of(Action.MESSAGE),
        views=of(Action.VIEW),
        warming_up=pol.cap(Action.INVITATION, day).day < full,
        pending_invitations=pending_invitations(session, account.id),
        pending_limit=pol.pending_limit,
        next_action_at=account.next_action_at,
        busy=account.busy_journey_id is not None,
    )
