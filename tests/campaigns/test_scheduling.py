"""Pacing rules as plain dates: working hours, daily and weekly caps, random gaps, DST.

Invitations planned one after the other through the governor's ``earliest``, each from
the previous one actually placed (``plan``): what the sender's governor does when it
has invitations waiting and nothing else.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.accounts.governor import Action, Band, Caps, Done, History, Policy, earliest
from outreach.campaigns.scheduling import WorkingHours, next_day_open, next_open


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
        Band(self.gap_min, self.gap_max)


@dataclass
class Bookings:
    """Invitations already placed for the sender."""

    times: list[datetime] = field(default_factory=list)

    @classmethod
    def of(cls, times: list[datetime], _hours: WorkingHours) -> Bookings:
        return cls(list(times))


PARIS = WorkingHours("Europe/Paris")
NEW_YORK = WorkingHours("America/New_York")
EVERY_DAY = frozenset(range(7))
SUN_TO_THU = frozenset({6, 0, 1, 2, 3})
UNCAPPED = PacingLimits(daily_invitations=10_000, weekly_invitations=10_000, daily_messages=10_000)
SEEDS = range(40)


def at(zone: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """A wall-clock time in ``zone``, as an aware datetime in UTC."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def wall(moment: datetime, hours: WorkingHours) -> datetime:
    return moment.astimezone(hours.zone)


def assert_in_hours(moment: datetime, hours: WorkingHours) -> None:
    local = wall(moment, hours)
    assert local.weekday() in hours.days, f"{local} is not a working day"
    assert hours.start <= local.time() < hours.end, f"{local} is outside working hours"


def plan(
    count: int,
    not_before: datetime,
    *,
    hours: WorkingHours = PARIS,
    limits: PacingLimits = UNCAPPED,
    booked: Bookings | None = None,
    last_slot: datetime | None = None,
    seed: int = 0,
) -> list[datetime]:
    """``count`` invitations placed one after the other by the governor (``seed`` is the
    sender: its gaps are its own)."""
    policy = Policy(
        seed,
        hours,
        caps={
            Action.INVITATION: Caps(limits.daily_invitations, limits.weekly_invitations),
            Action.MESSAGE: Caps(limits.daily_messages, 10_000),
            Action.VIEW: Caps(10_000, 10_000),
        },
        gaps={action: Band(limits.gap_min, limits.gap_max) for action in Action},
        spacing=Band(timedelta(0), timedelta(0)),
    )
    booked = booked if booked is not None else Bookings()
    extra = [last_slot] if last_slot is not None and last_slot not in booked.times else []
    earlier = booked.times + extra
    history = History.of([Done(Action.INVITATION, t) for t in earlier], hours)
    if last_slot is not None:  # the last one placed, even if others came later in the list
        history.last[Action.INVITATION] = last_slot
    slots = []
    for _ in range(count):
        slot = earliest(policy, history, Action.INVITATION, not_before)
        history.add(Done(Action.INVITATION, slot))
        history.last[Action.INVITATION] = slot
        booked.times.append(slot)
        slots.append(slot)
    return slots


def by_local_day(slots: list[datetime], hours: WorkingHours) -> dict[date, list[datetime]]:
    days: dict[date, list[datetime]] = {}
    for slot in slots:
        days.setdefault(hours.local_day(slot), []).append(slot)
    return days


def assert_paced(slots: list[datetime], hours: WorkingHours, limits: PacingLimits) -> None:
    """Inside hours; gap_min..gap_max apart within a day; each later day starts near opening."""
    assert slots == sorted(slots) and len(set(slots)) == len(slots)
    for slot in slots:
        assert_in_hours(slot, hours)
    days = by_local_day(slots, hours)
    for number, (day, day_slots) in enumerate(days.items()):
        for earlier, later in itertools.pairwise(day_slots):
            assert limits.gap_min <= later - earlier <= limits.gap_max, (day, earlier, later)
        if number > 0:
            opens, _ = hours.window(day)
            assert opens <= day_slots[0] <= opens + limits.gap_min, (day, day_slots[0])


# --- the value objects ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": frozenset()},
        {"days": frozenset({0, 7})},
        {"start": time(18), "end": time(9)},
        {"start": time(9), "end": time(9)},
    ],
)
def test_working_hours_reject_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WorkingHours(**kwargs)  # type: ignore[arg-type]


def test_working_hours_reject_an_unknown_zone() -> None:
    with pytest.raises(Exception, match="Mars/Olympus_Mons"):
        WorkingHours("Mars/Olympus_Mons")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"daily_invitations": 0},
        {"weekly_invitations": 0},
        {"daily_messages": 0},
        {"gap_min": timedelta(minutes=30), "gap_max": timedelta(minutes=20)},
        {"gap_min": timedelta(minutes=-1)},
    ],
)
def test_pacing_limits_reject_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PacingLimits(**kwargs)  # type: ignore[arg-type]


def test_defaults_are_the_seeds_numbers() -> None:
    limits = PacingLimits()
    assert (limits.gap_min, limits.gap_max) == (timedelta(minutes=18), timedelta(minutes=23))
    hours = WorkingHours()
    assert (hours.start, hours.end, hours.days) == (time(9), time(18), frozenset(range(5)))


# --- working hours ----------------------------------------------------------------------


def test_next_open_inside_hours_is_the_same_moment() -> None:
    moment = at("Europe/Paris", 2026, 3, 4, 11, 17)
    assert next_open(moment, PARIS) == moment


def test_next_open_before_opening_is_the_opening_and_the_window_is_half_open() -> None:
    assert next_open(at("Europe/Paris", 2026, 3, 4, 6, 0), PARIS) == at(
        "Europe/Paris", 2026, 3, 4, 9
    )
    opening = at("Europe/Paris", 2026, 3, 4, 9)
    assert next_open(opening, PARIS) == opening
    closing = at("Europe/Paris", 2026, 3, 4, 18)
    assert next_open(closing, PARIS) == at("Europe/Paris", 2026, 3, 5, 9)


def test_next_open_accepts_any_zone_and_returns_utc() -> None:
    in_tokyo = datetime(2026, 3, 4, 15, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 07:00 in Paris
    opened = next_open(in_tokyo, PARIS)
    assert opened == at("Europe/Paris", 2026, 3, 4, 9)
    assert opened.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "friday_evening",
    [(2026, 3, 6, 18, 0), (2026, 3, 6, 23, 59), (2026, 3, 7, 12, 0), (2026, 3, 8, 23, 0)],
)
def test_friday_evening_and_the_weekend_wait_for_monday_morning(
    friday_evening: tuple[int, ...],
) -> None:
    monday = at("Europe/Paris", 2026, 3, 9, 9)
    assert next_open(at("Europe/Paris", *friday_evening), PARIS) == monday
    assert next_day_open(at("Europe/Paris", 2026, 3, 6, 10), PARIS) == monday


def test_a_sunday_to_thursday_week_skips_friday_and_saturday() -> None:
    hours = WorkingHours("Asia/Jerusalem", days=SUN_TO_THU)
    sunday = at("Asia/Jerusalem", 2026, 3, 8, 9)
    for thursday_on in [(2026, 3, 5, 18), (2026, 3, 6, 10), (2026, 3, 7, 20)]:
        assert next_open(at("Asia/Jerusalem", *thursday_on), hours) == sunday
    assert next_open(at("Asia/Jerusalem", 2026, 3, 8, 12), hours) == at(
        "Asia/Jerusalem", 2026, 3, 8, 12
    )
    assert next_day_open(at("Asia/Jerusalem", 2026, 3, 5, 10), hours) == sunday


def test_a_single_working_day_a_week_waits_a_whole_week() -> None:
    hours = WorkingHours("UTC", days=frozenset({2}))  # Wednesdays only
    assert next_open(utc(2026, 3, 4, 18), hours) == utc(2026, 3, 11, 9)


@pytest.mark.parametrize(
    ("zone", "before", "after", "before_open_utc", "after_open_utc"),
    [
        # Paris: CET (UTC+1) until Sunday 29 March 2026, CEST (UTC+2) until Sunday 25 October.
        ("Europe/Paris", date(2026, 3, 27), date(2026, 3, 30), 8, 7),
        ("Europe/Paris", date(2026, 10, 23), date(2026, 10, 26), 7, 8),
        # New York: EST (UTC-5) until Sunday 8 March 2026, EDT (UTC-4) until Sunday 1 November.
        ("America/New_York", date(2026, 3, 6), date(2026, 3, 9), 14, 13),
        ("America/New_York", date(2026, 10, 30), date(2026, 11, 2), 13, 14),
    ],
)
def test_window_bounds_in_utc_shift_by_an_hour_across_a_dst_change(
    zone: str, before: date, after: date, before_open_utc: int, after_open_utc: int
) -> None:
    hours = WorkingHours(zone)
    assert hours.window(before) == (
        datetime.combine(before, time(before_open_utc), tzinfo=UTC),
        datetime.combine(before, time(before_open_utc + 9), tzinfo=UTC),
    )
    opens, closes = hours.window(after)
    assert (opens.hour, closes - opens) == (after_open_utc, timedelta(hours=9))
    assert wall(opens, hours).time() == time(9) and wall(closes, hours).time() == time(18)
    # Friday evening before the change waits for Monday 09:00 local, whatever the offset.
    friday_evening = datetime.combine(before, time(20), tzinfo=hours.zone)
    assert next_open(friday_evening, hours) == opens


@pytest.mark.parametrize(
    ("zone", "day", "open_utc"),
    [
        ("Europe/Paris", date(2026, 3, 29), 7),
        ("Europe/Paris", date(2026, 10, 25), 8),
        ("America/New_York", date(2026, 3, 8), 13),
        ("America/New_York", date(2026, 11, 1), 14),
    ],
)
def test_next_open_on_the_dst_day_itself(zone: str, day: date, open_utc: int) -> None:
    hours = WorkingHours(zone, days=EVERY_DAY)
    opens = datetime.combine(day, time(open_utc), tzinfo=UTC)
    # From the evening before (old offset) and from the small hours of the day itself.
    evening_before = datetime.combine(day - timedelta(days=1), time(21), tzinfo=hours.zone)
    small_hours = datetime.combine(day, time(4), tzinfo=hours.zone)
    assert next_open(evening_before, hours) == opens
    assert next_open(small_hours, hours) == opens
    assert next_day_open(evening_before, hours) == opens
    assert wall(opens, hours).time() == time(9)


# --- invitation gaps --------------------------------------------------------------------


def test_consecutive_invitations_are_a_random_18_to_23_minutes_apart() -> None:
    monday = at("Europe/Paris", 2026, 3, 2, 9)
    gaps: list[timedelta] = []
    for seed in SEEDS:
        slots = plan(60, monday, seed=seed)
        assert len(slots) == 60
        assert_paced(slots, PARIS, UNCAPPED)
        assert slots[0] == monday  # inside hours: no reason to wait
        for day_slots in by_local_day(slots, PARIS).values():
            gaps += [b - a for a, b in itertools.pairwise(day_slots)]
    # Random, not a fixed step: the whole range is used.
    assert min(gaps) < timedelta(minutes=18, seconds=30)
    assert max(gaps) > timedelta(minutes=22, seconds=30)
    assert len(set(gaps)) > 100


def test_the_same_seed_gives_the_same_slots_and_another_seed_does_not() -> None:
    monday = at("Europe/Paris", 2026, 3, 2, 9)
    assert plan(30, monday, seed=7) == plan(30, monday, seed=7)
    assert plan(30, monday, seed=7) != plan(30, monday, seed=8)


def test_custom_gaps_are_respected() -> None:
    limits = PacingLimits(
        daily_invitations=1000,
        weekly_invitations=1000,
        gap_min=timedelta(minutes=5),
        gap_max=timedelta(minutes=7),
    )
    for seed in SEEDS:
        slots = plan(200, at("Europe/Paris", 2026, 3, 2, 10), limits=limits, seed=seed)
        assert_paced(slots, PARIS, limits)


def test_a_fixed_gap_gives_a_fixed_step() -> None:
    limits = PacingLimits(gap_min=timedelta(minutes=20), gap_max=timedelta(minutes=20))
    slots = plan(5, utc(2026, 3, 2, 10), hours=WorkingHours(), limits=limits)
    assert slots == [utc(2026, 3, 2, 10) + timedelta(minutes=20 * i) for i in range(5)]


def test_before_opening_the_first_slot_comes_shortly_after_opening() -> None:
    opens = at("Europe/Paris", 2026, 3, 2, 9)
    firsts = {plan(1, at("Europe/Paris", 2026, 3, 2, 6, 30), seed=seed)[0] for seed in SEEDS}
    assert all(opens <= first <= opens + timedelta(minutes=18) for first in firsts)
    assert len(firsts) > 1  # not 09:00:00 sharp for every sender


def test_never_before_not_before() -> None:
    for seed in SEEDS:
        not_before = at("Europe/Paris", 2026, 3, 2, 9) + timedelta(minutes=seed * 13)
        slots = plan(10, not_before, seed=seed)
        assert slots[0] == not_before


def test_the_first_slot_follows_the_last_one_by_a_gap() -> None:
    last = at("Europe/Paris", 2026, 3, 2, 11)
    for seed in SEEDS:
        first = plan(1, last - timedelta(hours=1), last_slot=last, seed=seed)[0]
        assert last + timedelta(minutes=18) <= first <= last + timedelta(minutes=23)
        # A `not_before` later than last slot + gap wins.
        later = last + timedelta(hours=2)
        assert plan(1, later, last_slot=last, seed=seed)[0] == later


def test_a_last_slot_at_the_end_of_friday_moves_to_monday_morning() -> None:
    last = at("Europe/Paris", 2026, 3, 6, 17, 50)
    monday = at("Europe/Paris", 2026, 3, 9, 9)
    for seed in SEEDS:
        slots = plan(3, last - timedelta(hours=3), last_slot=last, seed=seed)
        assert monday <= slots[0] <= monday + timedelta(minutes=18)
        assert_paced(slots, PARIS, UNCAPPED)


def test_a_friday_evening_launch_starts_on_monday_morning() -> None:
    monday = at("Europe/Paris", 2026, 3, 9, 9)
    for seed in SEEDS:
        slots = plan(40, at("Europe/Paris", 2026, 3, 6, 19), seed=seed)
        assert monday <= slots[0] <= monday + timedelta(minutes=18)
        assert {wall(s, PARIS).weekday() for s in slots} <= {0, 1}
        assert_paced(slots, PARIS, UNCAPPED)


def test_a_sunday_to_thursday_week_never_sends_on_friday_or_saturday() -> None:
    hours = WorkingHours("Asia/Dubai", days=SUN_TO_THU)
    for seed in SEEDS[:10]:
        slots = plan(150, at("Asia/Dubai", 2026, 3, 4, 15), hours=hours, seed=seed)
        assert_paced(slots, hours, UNCAPPED)
        weekdays = {wall(s, hours).weekday() for s in slots}
        assert weekdays.isdisjoint({4, 5}) and 6 in weekdays


def test_plan_nothing() -> None:
    booked = Bookings()
    assert plan(0, utc(2026, 3, 2, 10), booked=booked) == []
    assert booked == Bookings()


# --- caps -------------------------------------------------------------------------------


def test_never_more_than_the_daily_cap_and_the_rest_goes_to_the_next_working_day() -> None:
    limits = PacingLimits(daily_invitations=10, weekly_invitations=1000)
    for seed in SEEDS:
        slots = plan(45, at("Europe/Paris", 2026, 3, 5, 9), limits=limits, seed=seed)  # Thursday
        per_day = Counter(PARIS.local_day(s) for s in slots)
        assert per_day == {
            date(2026, 3, 5): 10,
            date(2026, 3, 6): 10,
            date(2026, 3, 9): 10,  # the weekend is skipped
            date(2026, 3, 10): 10,
            date(2026, 3, 11): 5,
        }
        assert_paced(slots, PARIS, limits)


def rolling_weeks(slots: list[datetime], hours: WorkingHours) -> dict[date, int]:
    """For each local day with a slot, the slots in the seven local days ending with it."""
    per_day = Counter(hours.local_day(s) for s in slots)
    return {day: sum(per_day[day - timedelta(days=back)] for back in range(7)) for day in per_day}


def test_never_more_than_the_weekly_cap_in_any_seven_days() -> None:
    limits = PacingLimits(daily_invitations=10, weekly_invitations=35)
    for seed in SEEDS:
        slots = plan(80, at("Europe/Paris", 2026, 3, 2, 9), limits=limits, seed=seed)
        assert max(rolling_weeks(slots, PARIS).values()) <= 35
        assert max(Counter(PARIS.local_day(s) for s in slots).values()) <= 10
        # Monday..Wednesday and half of Thursday fill the week; the next slot waits until
        # Monday's ten have left the window, on the Monday after.
        assert PARIS.local_day(slots[34]) == date(2026, 3, 5)
        assert PARIS.local_day(slots[35]) == date(2026, 3, 9)
        assert_paced(slots, PARIS, limits)


def test_the_default_caps_hold_over_a_big_launch() -> None:
    limits = PacingLimits()
    for seed in SEEDS[:10]:
        slots = plan(500, at("Europe/Paris", 2026, 3, 4, 14), limits=limits, seed=seed)
        assert max(Counter(PARIS.local_day(s) for s in slots).values()) <= 25
        assert max(rolling_weeks(slots, PARIS).values()) <= 100
        assert_paced(slots, PARIS, limits)


def test_existing_bookings_count_against_the_daily_cap() -> None:
    limits = PacingLimits(daily_invitations=10, weekly_invitations=1000)
    monday = at("Europe/Paris", 2026, 3, 2, 9)
    earlier = [monday + timedelta(minutes=20 * i) for i in range(8)]
    booked = Bookings.of(earlier, PARIS)
    slots = plan(
        5, monday + timedelta(hours=3), limits=limits, booked=booked, last_slot=earlier[-1]
    )
    assert Counter(PARIS.local_day(s) for s in slots) == {
        date(2026, 3, 2): 2,
        date(2026, 3, 3): 3,
    }
    # ``booked`` now holds the new slots too, so the next plan continues from there.
    placed = Counter(PARIS.local_day(t) for t in booked.times)
    assert placed[date(2026, 3, 2)] == 10 and placed[date(2026, 3, 3)] == 3
    assert len(booked.times) == 13
    more = plan(10, slots[-1], limits=limits, booked=booked, last_slot=slots[-1])
    assert Counter(PARIS.local_day(s) for s in more) == {date(2026, 3, 3): 7, date(2026, 3, 4): 3}


def test_a_full_day_is_skipped_even_without_a_last_slot() -> None:
    limits = PacingLimits(daily_invitations=3, weekly_invitations=1000)
    booked = Bookings.of([at("Europe/Paris", 2026, 3, 2, 9, i) for i in range(3)], PARIS)
    tuesday = at("Europe/Paris", 2026, 3, 3, 9)
    slot = plan(1, at("Europe/Paris", 2026, 3, 2, 15), limits=limits, booked=booked)[0]
    assert tuesday <= slot <= tuesday + timedelta(minutes=18)


def test_existing_bookings_count_against_the_weekly_cap() -> None:
    limits = PacingLimits(daily_invitations=10, weekly_invitations=30)
    week = [
        at("Europe/Paris", 2026, 3, day, 9, minute) for day in (2, 3, 4) for minute in range(10)
    ]
    booked = Bookings.of(week, PARIS)
    slots = plan(5, at("Europe/Paris", 2026, 3, 5, 9), limits=limits, booked=booked)
    # Thursday to the next Sunday still hold Monday..Wednesday's thirty; Monday 9 March's
    # window no longer holds Monday 2 March.
    next_monday = at("Europe/Paris", 2026, 3, 9, 9)
    assert next_monday <= slots[0] <= next_monday + timedelta(minutes=18)
    assert {PARIS.local_day(s) for s in slots} == {date(2026, 3, 9)}


def test_day_caps_follow_the_local_day_in_auckland() -> None:
    # Auckland in June is UTC+12: 09:00-18:00 local is 21:00-06:00 UTC, so one local day
    # spans two UTC days and a day's first slots fall on the previous UTC date.
    hours = WorkingHours("Pacific/Auckland")
    limits = PacingLimits(daily_invitations=12, weekly_invitations=1000)
    for seed in SEEDS:
        slots = plan(
            30, at("Pacific/Auckland", 2026, 6, 1, 9), hours=hours, limits=limits, seed=seed
        )
        per_day = Counter(hours.local_day(s) for s in slots)
        assert per_day == {date(2026, 6, 1): 12, date(2026, 6, 2): 12, date(2026, 6, 3): 6}
        monday = [s for s in slots if hours.local_day(s) == date(2026, 6, 1)]
        assert {s.date() for s in monday} == {date(2026, 5, 31), date(2026, 6, 1)}
        assert_paced(slots, hours, limits)


def test_existing_bookings_count_by_local_day_not_utc_day_in_auckland() -> None:
    hours = WorkingHours("Pacific/Auckland")
    limits = PacingLimits(daily_invitations=5, weekly_invitations=1000)
    # Tuesday 2 June is full: its morning bookings are Monday 1 June in UTC.
    tuesday = [at("Pacific/Auckland", 2026, 6, 2, 9) + timedelta(minutes=20 * i) for i in range(5)]
    assert {t.date() for t in tuesday} == {date(2026, 6, 1)}
    booked = Bookings.of(tuesday, hours)
    slot = plan(
        1, at("Pacific/Auckland", 2026, 6, 2, 12), hours=hours, limits=limits, booked=booked
    )[0]
    assert hours.local_day(slot) == date(2026, 6, 3)


def test_weekly_caps_count_local_days_in_auckland() -> None:
    hours = WorkingHours("Pacific/Auckland")
    limits = PacingLimits(daily_invitations=10, weekly_invitations=10)
    # Monday 1 June's morning is Sunday 31 May in UTC; locally it is Monday.
    monday = [at("Pacific/Auckland", 2026, 6, 1, 9, 5 * i) for i in range(10)]
    assert {t.date() for t in monday} == {date(2026, 5, 31)}
    booked = Bookings.of(monday, hours)
    slot = plan(
        1, at("Pacific/Auckland", 2026, 6, 2, 9), hours=hours, limits=limits, booked=booked
    )[0]
    # Seven local days from Monday 1 June: the next slot is Monday 8 June.
    next_monday = at("Pacific/Auckland", 2026, 6, 8, 9)
    assert next_monday <= slot <= next_monday + timedelta(minutes=18)


def test_day_caps_follow_the_local_day_in_los_angeles() -> None:
    # Los Angeles in June is UTC-7: a working day ends at 01:00 UTC the next date.
    hours = WorkingHours("America/Los_Angeles")
    limits = PacingLimits(daily_invitations=5, weekly_invitations=1000)
    # Monday's late bookings are Tuesday in UTC; Monday is still full.
    late_monday = [at("America/Los_Angeles", 2026, 6, 1, 17, 10 * i) for i in range(5)]
    assert {t.date() for t in late_monday} == {date(2026, 6, 2)}
    booked = Bookings.of(late_monday, hours)
    slot = plan(
        1, at("America/Los_Angeles", 2026, 6, 1, 10), hours=hours, limits=limits, booked=booked
    )[0]
    tuesday = at("America/Los_Angeles", 2026, 6, 2, 9)
    assert tuesday <= slot <= tuesday + timedelta(minutes=18)


# --- daylight saving time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Paris", (2026, 3, 26, 10)),
        ("Europe/Paris", (2026, 10, 22, 10)),
        ("America/New_York", (2026, 3, 5, 10)),
        ("America/New_York", (2026, 10, 29, 10)),
    ],
)
@pytest.mark.parametrize("days", [EVERY_DAY, frozenset(range(5))], ids=["every-day", "mon-fri"])
def test_slots_stay_in_local_working_hours_across_a_dst_change(
    zone: str, start: tuple[int, int, int, int], days: frozenset[int]
) -> None:
    hours = WorkingHours(zone, days=days)
    limits = PacingLimits(daily_invitations=20, weekly_invitations=1000)
    for seed in SEEDS[:10]:
        slots = plan(120, at(zone, *start), hours=hours, limits=limits, seed=seed)
        assert_paced(slots, hours, limits)
        offsets = {wall(s, hours).utcoffset() for s in slots}
        assert len(offsets) == 2, "the plan spans the change"
        first_of_day = [day_slots[0] for day_slots in by_local_day(slots, hours).values()]
        assert all(time(9) <= wall(s, hours).time() <= time(9, 18) for s in first_of_day[1:])


@pytest.mark.parametrize(
    ("day", "expected_offsets"),
    [
        (date(2026, 3, 29), {timedelta(hours=1), timedelta(hours=2)}),
        (date(2026, 10, 25), {timedelta(hours=1), timedelta(hours=2)}),
    ],
)
def test_gaps_are_real_time_when_the_wall_clock_jumps(
    day: date, expected_offsets: set[timedelta]
) -> None:
    # Working hours around the clock: the gap straddling 02:00/03:00 is still 18-23 real minutes.
    hours = WorkingHours("Europe/Paris", start=time(0), end=time(23, 59), days=EVERY_DAY)
    for seed in SEEDS:
        slots = plan(
            12, at("Europe/Paris", day.year, day.month, day.day, 0, 30), hours=hours, seed=seed
        )
        assert {wall(s, hours).utcoffset() for s in slots} == expected_offsets
        for earlier, later in itertools.pairwise(slots):
            assert timedelta(minutes=18) <= later - earlier <= timedelta(minutes=23)
