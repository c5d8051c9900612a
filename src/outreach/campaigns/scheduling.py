"""Pure scheduling: when may a sender act next? Plain values in, datetimes out.

No clock reads, no database, no I/O: randomness comes in as a ``random.Random``.
All datetimes are aware; comparisons are made in UTC so DST changes cannot fool them
(Python compares two datetimes of the same zone by wall time).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Week = tuple[int, int]  # ISO (year, week) in the sender's time zone


@dataclass(frozen=True)
class WorkingHours:
    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(18, 0)
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("working days must be a non-empty subset of 0..6 (Monday = 0)")
        if self.start >= self.end:
            raise ValueError("working hours must start before they end")
        ZoneInfo(self.timezone)  # raises on an unknown zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The UTC bounds of ``day``'s working window (whether or not ``day`` is a working day)."""
        zone = self.zone
        opens = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
        return opens, closes

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def week(self, at: datetime) -> Week:
        year, week, _ = self.local_day(at).isocalendar()
        return year, week


@dataclass(frozen=True)
class PacingLimits:
    daily_invitations: int = 25
    weekly_invitations: int = 100
    daily_messages: int = 80
    gap_min: timedelta = timedelta(minutes=18)
    gap_max: timedelta = timedelta(minutes=23)

    def __post_init__(self) -> None:
        if min(self.daily_invitations, self.weekly_invitations, self.daily_messages) < 1:
            raise ValueError("caps must be at least 1")
        if not timedelta(0) <= self.gap_min <= self.gap_max:
            raise ValueError("need 0 <= gap_min <= gap_max")


@dataclass
class Bookings:
    """What a sender already has booked, per local day and ISO week."""

    per_day: Counter[date] = field(default_factory=Counter)
    per_week: Counter[Week] = field(default_factory=Counter)

    @classmethod
    def of(cls, times: list[datetime], hours: WorkingHours) -> Bookings:
        booked = cls()
        for at in times:
            booked.add(at, hours)
        return booked

    def add(self, at: datetime, hours: WorkingHours) -> None:
        self.per_day[hours.local_day(at)] += 1
        self.per_week[hours.week(at)] += 1


def next_open(at: datetime, hours: WorkingHours) -> datetime:
    """``at`` if it falls inside working hours, else the next moment they open."""
    at = at.astimezone(UTC)
    day = hours.local_day(at)
    for offset in range(8):
        current = day + timedelta(days=offset)
        if current.weekday() not in hours.days:
            continue
        opens, closes = hours.window(current)
        if at < opens:
            return opens
        if at < closes:
            return at
    raise AssertionError("unreachable: a working day occurs within any 8 days")


def next_day_open(at: datetime, hours: WorkingHours) -> datetime:
    """When working hours open on the working day after ``at``'s local day."""
    tomorrow = hours.local_day(at) + timedelta(days=1)
    midnight = datetime.combine(tomorrow, time(0), tzinfo=hours.zone).astimezone(UTC)
    return next_open(midnight, hours)


def _next_week_open(at: datetime, hours: WorkingHours) -> datetime:
    day = hours.local_day(at)
    monday = day + timedelta(days=7 - day.weekday())
    midnight = datetime.combine(monday, time(0), tzinfo=hours.zone).astimezone(UTC)
    return next_open(midnight, hours)


def _random_gap(limits: PacingLimits, rng: random.Random) -> timedelta:
    low, high = limits.gap_min.total_seconds(), limits.gap_max.total_seconds()
    return timedelta(seconds=round(rng.uniform(low, high)))


def plan_invitation_slots(
    count: int,
    *,
    not_before: datetime,
    last_slot: datetime | None,
    booked: Bookings,
    limits: PacingLimits,
    hours: WorkingHours,
    rng: random.Random,
) -> list[datetime]:
    """Times for the next ``count`` invitations of one sender.

    Consecutive invitations are a random gap apart (``gap_min``..``gap_max``), inside
    working hours, and never above the daily or weekly cap; what does not fit today
    goes to the next working day. ``booked`` is updated with the new slots.
    """
    slots: list[datetime] = []
    cursor = not_before.astimezone(UTC)
    if last_slot is not None:
        cursor = max(cursor, last_slot.astimezone(UTC) + _random_gap(limits, rng))
    for _ in range(count):
        fitted = _fit_invitation(cursor, booked=booked, limits=limits, hours=hours)
        if fitted != cursor:  # moved to a later window: start a little after it opens
            late = fitted + timedelta(seconds=round(rng.uniform(0, limits.gap_min.total_seconds())))
            fitted = _fit_invitation(late, booked=booked, limits=limits, hours=hours)
        cursor = fitted
        slots.append(cursor)
        booked.add(cursor, hours)
        cursor = cursor + _random_gap(limits, rng)
    return slots


def _fit_invitation(
    at: datetime, *, booked: Bookings, limits: PacingLimits, hours: WorkingHours
) -> datetime:
    while True:
        at = next_open(at, hours)
        if booked.per_week[hours.week(at)] >= limits.weekly_invitations:
            at = _next_week_open(at, hours)
        elif booked.per_day[hours.local_day(at)] >= limits.daily_invitations:
            at = next_day_open(at, hours)
        else:
            return at


def plan_message_slot(
    due: datetime,
    *,
    booked: Bookings,
    limits: PacingLimits,
    hours: WorkingHours,
    rng: random.Random,
) -> datetime:
    """When a message due at ``due`` goes out: inside working hours, under the daily cap.

    A message pushed to the opening of a later window gets a random offset into it, so a
    night's worth of follow-ups does not leave at 09:00:00 sharp.
    """
    due = due.astimezone(UTC)
    at = due
    while True:
        at = next_open(at, hours)
        if booked.per_day[hours.local_day(at)] < limits.daily_messages:
            break
        at = next_day_open(at, hours)
    if at != due:
        _, closes = hours.window(hours.local_day(at))
        spread = min(timedelta(minutes=45), (closes - at) / 2)
        at = at + timedelta(seconds=round(rng.uniform(0, spread.total_seconds())))
    booked.add(at, hours)
    return at
