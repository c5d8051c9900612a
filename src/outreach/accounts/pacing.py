"""Booking a sender's action times: the pure planner fed with what is already booked."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.scheduling import (
    Bookings,
    PacingLimits,
    WorkingHours,
    plan_invitation_slots,
    plan_message_slot,
)
from outreach.models import Account, SenderSlot

INVITATION = "invitation"
MESSAGE = "message"


def working_hours(account: Account) -> WorkingHours:
    days = frozenset(int(d) for d in account.work_days.split(",") if d.strip())
    return WorkingHours(account.timezone, account.work_start, account.work_end, days)


def limits(account: Account) -> PacingLimits:
    return PacingLimits(
        daily_invitations=account.daily_invite_cap,
        weekly_invitations=account.weekly_invite_cap,
        daily_messages=account.daily_message_cap,
        gap_min=timedelta(seconds=account.invite_gap_min_s),
        gap_max=timedelta(seconds=account.invite_gap_max_s),
    )


def _booked(session: Session, account: Account, kind: str, since: datetime) -> list[datetime]:
    rows = session.execute(
        sa.select(SenderSlot.at).where(
            SenderSlot.account_id == account.id, SenderSlot.kind == kind, SenderSlot.at >= since
        )
    )
    return list(rows.scalars())


def _week_start(at: datetime, hours: WorkingHours) -> datetime:
    day = hours.local_day(at)
    monday = day - timedelta(days=day.weekday() + 1)  # a day of margin for zone offsets
    return datetime.combine(monday, time(0), tzinfo=hours.zone)


def book_invitations(
    session: Session, account: Account, journey_ids: list[int], *, now: datetime
) -> list[datetime]:
    """Book one invitation slot per journey, in order, after the sender's last one.

    The caller's transaction must hold the sender (``lock_sender``) so two bookings
    of one sender cannot interleave.
    """
    hours = working_hours(account)
    last = session.execute(
        sa.select(sa.func.max(SenderSlot.at)).where(
            SenderSlot.account_id == account.id, SenderSlot.kind == INVITATION
        )
    ).scalar_one_or_none()
    horizon = min(now, last) if last is not None else now
    booked = Bookings.of(_booked(session, account, INVITATION, _week_start(horizon, hours)), hours)
    slots = plan_invitation_slots(
        len(journey_ids),
        not_before=now,
        last_slot=last,
        booked=booked,
        limits=limits(account),
        hours=hours,
        rng=random.Random(),
    )
    session.execute(
        sa.insert(SenderSlot),
        [
            {"account_id": account.id, "kind": INVITATION, "at": at, "journey_id": jid}
            for jid, at in zip(journey_ids, slots, strict=True)
        ],
    )
    return slots


def book_message(session: Session, account: Account, journey_id: int, *, due: datetime) -> datetime:
    """Book the first time at or after ``due`` that fits working hours and the daily cap."""
    hours = working_hours(account)
    since = datetime.combine(hours.local_day(due) - timedelta(days=1), time(0), tzinfo=hours.zone)
    booked = Bookings.of(_booked(session, account, MESSAGE, since), hours)
    at = plan_message_slot(
        due, booked=booked, limits=limits(account), hours=hours, rng=random.Random()
    )
    session.add(SenderSlot(account_id=account.id, kind=MESSAGE, at=at, journey_id=journey_id))
    return at
