"""A sender's working hours and the moments they open: pure, plain values in.

No clock reads, no database, no I/O.
All datetimes are aware; comparisons are made in UTC so DST changes cannot fool them
(Python compares two datetimes of the same zone by wall time).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def next_week_open(at: datetime, hours: WorkingHours) -> datetime:
    day = hours.local_day(at)
    monday = day + timedelta(days=7 - day.weekday())
    midnight = datetime.combine(monday, time(0), tzinfo=hours.zone).astimezone(UTC)
    return next_open(midnight, hours)
