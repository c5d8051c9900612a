"""The send governor: when may a sender act next, and on what? Pure, plain values in.

One governor per LinkedIn account decides for every campaign that uses it, just in
time, from what the account actually did (``History``), never from slots booked ahead:

- caps per local day and per week (the seven local days ending with the day: a rolling
  week, as LinkedIn counts) for invitations, messages and profile views, the invitation
  cap ramping up while the account warms up (``Ramp``);
- a random gap after the previous action of the same kind, measured from when it was
  actually sent, and a shorter spacing after any send (``Band``);
- the sender's working hours and days, in its time zone;
- priorities: an approved reply first, then due follow-ups, acceptance checks, and new
  invitations last; between campaigns sharing the sender, the one served least today;
- an invitation keeps its moment: nothing else goes out in the spacing just before an
  invitation that is ready, so invitation gaps stay inside their band (a follow-up waits
  a minute or two, and goes before the next invitation).

Each gap is drawn from a seed made of the sender and the previous action's time, so a
decision taken again (another worker, a retry, the forecast) draws the same gap.
No clock reads, no database, no I/O. All datetimes are aware; comparisons are in UTC.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from outreach.campaigns.scheduling import WorkingHours, next_day_open, next_open


class Action(enum.StrEnum):
    """What LinkedIn counts: each kind has its own caps and gap."""

    INVITATION = "invitation"
    MESSAGE = "message"
    VIEW = "view"  # a profile read: the acceptance check
    WITHDRAWAL = "withdrawal"  # an unanswered invitation taken back


class Step(enum.IntEnum):
    """What a journey asks its sender to do, in order of priority (lowest first)."""

    REPLY = 0  # a reply a person approved
    FOLLOW_UP = 1
    CHECK = 2
    INVITE = 3
    WITHDRAW = 4  # housekeeping comes last

    @property
    def action(self) -> Action:
        return _ACTION_OF_STEP[self]


_ACTION_OF_STEP = {
    Step.REPLY: Action.MESSAGE,
    Step.FOLLOW_UP: Action.MESSAGE,
    Step.CHECK: Action.VIEW,
    Step.INVITE: Action.INVITATION,
    Step.WITHDRAW: Action.WITHDRAWAL,
}


@dataclass(frozen=True)
class Band:
    """A random duration between ``low`` and ``high``."""

    low: timedelta
    high: timedelta

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.low <= self.high:
            raise ValueError("need 0 <= low <= high")

    @classmethod
    def minutes(cls, low: float, high: float) -> Band:
        return cls(timedelta(minutes=low), timedelta(minutes=high))

    def draw(self, *seed: object) -> timedelta:
        """The same duration for the same seed: a decision taken twice agrees with itself."""
        return self.low + (self.high - self.low) * _unit(repr(seed))


@functools.lru_cache(maxsize=65_536)
def _unit(seed: str) -> float:
    """A number uniform in [0, 1), fixed by ``seed`` (a decision re-taken draws it again)."""
    digest = hashlib.blake2b(seed.encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big")).random()


@dataclass(frozen=True)
class Caps:
    day: int
    week: int

    def __post_init__(self) -> None:
        if self.day < 0 or self.week < 0:
            raise ValueError("caps cannot be negative")


@dataclass(frozen=True)
class Ramp:
    """Warm-up: the invitation cap starts at ``start`` a day on ``since`` and rises
    linearly to the full cap over ``days`` days (lemlist and LinkedGrow style)."""

    since: date
    start: int = 5
    days: int = 14

    def cap(self, full: int, day: date) -> int:
        elapsed = (day - self.since).days
        if self.days <= 0 or elapsed >= self.days or full <= self.start:
            return full
        return max(1, min(full, self.start + (full - self.start) * max(0, elapsed) // self.days))


DEFAULT_CAPS = {
    Action.INVITATION: Caps(day=25, week=100),
    Action.MESSAGE: Caps(day=80, week=400),
    Action.VIEW: Caps(day=150, week=700),
    Action.WITHDRAWAL: Caps(day=40, week=200),
}
DEFAULT_GAPS = {
    Action.INVITATION: Band.minutes(18, 23),
    Action.MESSAGE: Band.minutes(3, 7),
    Action.VIEW: Band.minutes(1, 3),
    Action.WITHDRAWAL: Band.minutes(1, 3),
}
# Invitations pending at once: LinkedIn restricts accounts with too many.
PENDING_INVITATIONS_LIMIT = 500
# After a send (an invitation or a message), nothing else goes out for a moment; a profile
# read is no send (reading a profile, then inviting, is what a person does).
DEFAULT_SPACING = Band(timedelta(seconds=45), timedelta(seconds=90))
SENDS = frozenset({Action.INVITATION, Action.MESSAGE})
# The first action of a day comes up to this long after the window opens.
OPENING_SPREAD = timedelta(minutes=15)


@dataclass(frozen=True)
class Policy:
    """How one sender may act."""

    sender: int
    hours: WorkingHours = field(default_factory=WorkingHours)
    caps: dict[Action, Caps] = field(default_factory=lambda: dict(DEFAULT_CAPS))
    gaps: dict[Action, Band] = field(default_factory=lambda: dict(DEFAULT_GAPS))
    spacing: Band = DEFAULT_SPACING  # after any send, whatever comes next
    ramp: Ramp | None = None
    pending_limit: int = PENDING_INVITATIONS_LIMIT  # no new invitation at or above it

    def cap(self, action: Action, day: date) -> Caps:
        caps = self.caps[action]
        if action is Action.INVITATION and self.ramp is not None:
            day_cap = self.ramp.cap(caps.day, day)
            return Caps(day=day_cap, week=min(caps.week, caps.week * day_cap // max(1, caps.day)))
        return caps


@dataclass(frozen=True)
class Done:
    """An action the sender performed, for a campaign."""

    action: Action
    at: datetime
    campaign: int | None = None


@dataclass
class History:
    """What a sender did: the last action of each kind, counts per local day (a week is
    the seven local days ending with a day: LinkedIn's weekly limits roll)."""

    hours: WorkingHours
    last: dict[Action, datetime] = field(default_factory=dict)
    last_send: datetime | None = None  # the last invitation or message: spacing counts from it
    per_day: Counter[tuple[Action, date]] = field(default_factory=Counter)
    served: Counter[tuple[int, date]] = field(default_factory=Counter)  # campaign, day
    pending_invitations: int = 0  # sent, neither accepted nor withdrawn yet

    def in_week(self, action: Action, day: date) -> int:
        """How many ``action`` in the seven local days ending with ``day``."""
        return sum(self.per_day[action, day - timedelta(days=back)] for back in range(7))

    @classmethod
    def of(cls, done: Iterable[Done], hours: WorkingHours) -> History:
        history = cls(hours)
        for item in sorted(done, key=lambda d: d.at):
            history.add(item)
        return history

    def add(self, done: Done) -> None:
        at = done.at.astimezone(UTC)
        if done.action not in self.last or self.last[done.action] < at:
            self.last[done.action] = at
        if done.action in SENDS and (self.last_send is None or self.last_send < at):
            self.last_send = at
        day = self.hours.local_day(at)
        self.per_day[done.action, day] += 1
        if done.campaign is not None:
            self.served[done.campaign, day] += 1


@dataclass(frozen=True)
class Candidate:
    """A journey's next step, waiting for its sender: not before ``due``."""

    journey: int
    campaign: int
    step: Step
    due: datetime


@dataclass(frozen=True)
class Decision:
    """Run ``run`` now, or nothing before ``wake`` (``None``: nothing to do at all)."""

    run: Candidate | None
    wake: datetime | None


def earliest(policy: Policy, history: History, action: Action, not_before: datetime) -> datetime:
    """The first moment from ``not_before`` on at which the sender may perform ``action``."""
    at = not_before.astimezone(UTC)
    last = history.last.get(action)
    if last is not None:
        at = max(at, last + policy.gaps[action].draw(policy.sender, action.value, last))
    if history.last_send is not None:
        at = max(at, history.last_send + policy.spacing.draw(policy.sender, history.last_send))
    hours = policy.hours
    opened = False  # moved to a window's opening: start a little after it, not on the dot
    for _ in range(400):  # at most a year of closed days, full days and full weeks
        moved = next_open(at, hours)
        if moved != at:
            at, opened = moved, True
        day = hours.local_day(at)
        caps = policy.cap(action, day)
        if caps.week == 0 and caps.day == 0:
            raise ValueError(f"the {action.value} caps are zero: the sender can never act")
        if history.per_day[action, day] >= caps.day or history.in_week(action, day) >= caps.week:
            at, opened = next_day_open(at, hours), True
        elif opened:
            late = Band(timedelta(0), min(policy.gaps[action].low, OPENING_SPREAD))
            at, opened = at + late.draw(policy.sender, action.value, day), False
        else:
            return at
    raise ValueError(f"no moment within a year where the sender may perform a {action.value}")


def decide(
    policy: Policy, history: History, candidates: Sequence[Candidate], now: datetime
) -> Decision:
    """What the sender does now, if anything, and otherwise when to look again.

    ``candidates`` are the sender's waiting steps, due or not yet due; only the first
    few of each kind (by due time) matter.
    """
    now = now.astimezone(UTC)
    if history.pending_invitations >= policy.pending_limit:  # they wait for room
        candidates = [c for c in candidates if c.step is not Step.INVITE]
    if not candidates:
        return Decision(None, None)
    ready_at: dict[Action, datetime] = {}
    for action in Action:
        dues = [c.due for c in candidates if c.step.action is action]
        if dues:
            ready_at[action] = earliest(policy, history, action, max(min(dues), now))
    invitation = ready_at.get(Action.INVITATION)
    if invitation is not None:  # nothing takes the moments just before a due invitation
        keep_clear = policy.spacing.high
        for action, at in ready_at.items():
            crowds = max(at, now) > invitation - keep_clear and at <= invitation
            if action is not Action.INVITATION and crowds:
                ready_at[action] = earliest(policy, history, action, invitation + keep_clear)
    ready = [a for a, at in ready_at.items() if at <= now]
    if not ready:
        return Decision(None, min(ready_at.values()))
    today = policy.hours.local_day(now)
    eligible = [c for c in candidates if c.step.action in ready and c.due <= now]
    best = min(
        eligible,
        key=lambda c: (c.step, history.served[c.campaign, today], c.due, c.journey),
    )
    return Decision(best, now)


def history_since(at: datetime) -> datetime:
    """How far back a sender's history must be read to decide at ``at``: the week's caps
    look at seven local days, with a day of margin for zone offsets."""
    return at - timedelta(days=8)
