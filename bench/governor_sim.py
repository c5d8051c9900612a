"""Benchmark: the send governor's dry run, a thousand accounts over ninety days.

Builds a seeded, reproducible mix of sender accounts (time zones, working days and hours,
caps, warm-up ramps), overlapping campaigns, prospects who accept and reply, injected
LinkedIn limit errors (429) and paused senders, runs ``outreach.accounts.simulate`` over
all of it at once, and checks what came out:

- cap violations per local day and ISO week (goal 0), three ways: against the full caps,
  against the ramped caps of the accounts that never faulted, and against the caps in
  force at each action (the ramp restarted after each fault, the way the simulator does);
- actions outside working hours (goal 0);
- invitation gaps within a local day against each account's band: the pooled normalised
  gaps tested against U(0, 1) (Kolmogorov-Smirnov) and the fraction inside the band;
- follow-up lateness, wall time and decisions per second.

Run it as

    .venv/bin/python bench/governor_sim.py [--accounts 1000] [--days 90] [--seed 1]
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import importlib
import itertools
import math
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from types import ModuleType, TracebackType
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from outreach.accounts import simulate as simulation
from outreach.accounts.governor import (
    DEFAULT_GAPS,
    Action,
    Band,
    Candidate,
    Caps,
    Decision,
    History,
    Policy,
    Ramp,
    decide,
)
from outreach.accounts.simulate import Fault, Happened, Path, simulate
from outreach.campaigns.scheduling import WorkingHours, next_day_open
from outreach.campaigns.sequence import SequenceSpec, Stage, StageRef

START = datetime(2026, 2, 16, tzinfo=UTC)  # a Monday; 90 days cross DST on three continents
ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Paris",
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Asia/Jerusalem",
    "Australia/Sydney",
)
MON_FRI = frozenset(range(5))
SUN_THU = frozenset({6, 0, 1, 2, 3})
SHIFTS = ((time(9), time(18), MON_FRI), (time(9), time(18), SUN_THU), (time(8), time(16), MON_FRI))
FAULT_RATE = 0.003  # of invitation attempts
ACCEPT_RATE = 0.6
REPLY_RATE = 0.2  # of all prospects; only those who accept reply
SPEC = SequenceSpec()


def _unit(*seed: object) -> float:
    """A number in [0, 1) that depends on ``seed`` only."""
    digest = hashlib.blake2b(repr(seed).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class Scenario:
    """Everything ``simulate`` is given, and how the prospects and LinkedIn behave."""

    seed: int
    days: int
    policies: dict[int, Policy]
    paths: dict[int, Path]
    campaigns: int
    accepted: set[int]
    reply_delay: dict[int, timedelta]  # after the invitation
    pauses: dict[int, tuple[datetime, datetime]]
    faults: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))

    def accepts(self, key: int) -> bool:
        return key in self.accepted

    def replies_at(self, key: int) -> datetime | None:
        # simulate() advances the Path objects it was given, so the invitation time is known.
        delay, invited = self.reply_delay.get(key), self.paths[key].invited_at
        return None if delay is None or invited is None else invited + delay

    def fault(self, sender: int, action: Action, at: datetime) -> Fault | None:
        if action is not Action.INVITATION:
            return None
        if _unit(self.seed, "429", sender, at.timestamp()) >= FAULT_RATE:
            return None
        self.faults[sender].append(at)
        return Fault()

    def paused(self, sender: int, at: datetime) -> bool:
        window = self.pauses.get(sender)
        return window is not None and window[0] <= at < window[1]


def _policy(sender: int, rng: random.Random) -> Policy:
    opens, closes, weekdays = rng.choice(SHIFTS)
    hours = WorkingHours(rng.choice(ZONES), opens, closes, weekdays)
    invitations = rng.randint(10, 40)
    messages = rng.randint(50, 150)
    views = rng.randint(60, 150)
    caps = {
        Action.INVITATION: Caps(invitations, min(200, rng.randint(3, 5) * invitations)),
        Action.MESSAGE: Caps(messages, rng.randint(3, 5) * messages),
        Action.VIEW: Caps(views, rng.randint(3, 5) * views),
    }
    low = rng.randint(12 * 60, 20 * 60)  # whole seconds, like the gaps the band draws
    gaps = dict(DEFAULT_GAPS)
    gaps[Action.INVITATION] = Band(
        timedelta(seconds=low), timedelta(seconds=low + 60 * rng.randint(3, 8))
    )
    ramp = None
    if (draw := rng.random()) < 0.3:
        ramp = Ramp(START.date())
    elif draw < 0.5:
        ramp = Ramp(START.date() + timedelta(days=rng.randint(7, 45)))
    return Policy(sender, hours, caps, gaps, ramp=ramp)


def build(accounts: int, days: int, seed: int) -> Scenario:
    """The seeded mix: each account runs 1-5 campaigns of 20-300 prospects each."""
    rng = random.Random(seed)
    policies = {sender: _policy(sender, rng) for sender in range(1, accounts + 1)}
    scenario = Scenario(seed, days, policies, {}, 0, set(), {}, {})
    for sender in policies:
        for _ in range(rng.randint(1, 5)):
            scenario.campaigns += 1
            launch = START + timedelta(
                days=rng.randrange(min(60, days)), seconds=rng.randrange(86_400)
            )
            for _ in range(rng.randint(20, 300)):
                _add_prospect(scenario, rng, sender=sender, launch=launch)
    for sender in rng.sample(sorted(policies), k=min(2, accounts)):
        begins = START + timedelta(days=rng.randint(5, max(5, days // 2)), hours=rng.randrange(24))
        scenario.pauses[sender] = (begins, begins + timedelta(days=rng.randint(3, 5)))
    return scenario


def _add_prospect(scenario: Scenario, rng: random.Random, *, sender: int, launch: datetime) -> None:
    key = len(scenario.paths) + 1
    scenario.paths[key] = Path(key, scenario.campaigns, sender, StageRef(Stage.INVITE), launch)
    if rng.random() < ACCEPT_RATE:
        scenario.accepted.add(key)
        if rng.random() < REPLY_RATE / ACCEPT_RATE:
            scenario.reply_delay[key] = timedelta(seconds=rng.uniform(3_600, 30 * 86_400))


class DecisionCounter:
    """Counts ``decide`` calls inside ``simulate``, which keeps no count of its own: the
    name ``decide`` that ``simulate`` looks up is swapped for a counting one meanwhile."""

    def __init__(self) -> None:
        self.calls = 0
        self._decide = decide

    def _counted(
        self, policy: Policy, history: History, candidates: Sequence[Candidate], now: datetime
    ) -> Decision:
        self.calls += 1
        return self._decide(policy, history, candidates, now)

    def __enter__(self) -> DecisionCounter:
        vars(simulation)["decide"] = self._counted
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        vars(simulation)["decide"] = self._decide


def run(scenario: Scenario) -> tuple[list[Happened], int, float]:
    """What happened, how many decisions it took, and the wall seconds of ``simulate``."""
    specs = dict.fromkeys(range(1, scenario.campaigns + 1), SPEC)
    with DecisionCounter() as counter:
        started = perf_counter()
        happened = simulate(
            scenario.policies,
            scenario.paths.values(),
            specs,
            start=START,
            until=START + timedelta(days=scenario.days),
            accepts=scenario.accepts,
            replies_at=scenario.replies_at,
            fault=scenario.fault,
            paused=scenario.paused,
        )
        wall = perf_counter() - started
    return happened, counter.calls, wall


def in_force(policy: Policy, faults: Sequence[datetime]) -> tuple[list[datetime], list[Policy]]:
    """The policy ``simulate`` holds after each fault: the ramp restarts the next working day."""
    since, policies = [datetime.min.replace(tzinfo=UTC)], [policy]
    for at in sorted(faults):
        hours = policy.hours
        resume = hours.local_day(next_day_open(at, hours))
        ramp = policy.ramp or Ramp(resume)
        policy = replace(policy, ramp=replace(ramp, since=resume))
        since.append(at)
        policies.append(policy)
    return since, policies


CapsAt = Callable[[Action, date, datetime], Caps]
MODES = ("full caps", "ramped caps, accounts without faults", "caps in force (ramp per fault)")


def _cap_rules(policy: Policy, faults: Sequence[datetime]) -> dict[str, CapsAt]:
    since, policies = in_force(policy, faults)

    def current(action: Action, day: date, at: datetime) -> Caps:
        return policies[bisect.bisect_left(since, at) - 1].cap(action, day)

    rules: dict[str, CapsAt] = {MODES[0]: lambda action, day, at: policy.caps[action]}
    if not faults:
        rules[MODES[1]] = lambda action, day, at: policy.cap(action, day)
    rules[MODES[2]] = current
    return rules


def cap_violations(
    by_sender: dict[int, list[Happened]], scenario: Scenario
) -> Counter[tuple[str, Action, str]]:
    """Account-days and account-weeks over a cap, by (mode, action, "day" | "week").

    An action breaks a cap when it is the n-th of its local day (ISO week) and n is above
    the cap that applied at that moment, which is what the governor checks before acting.
    """
    found: set[tuple[str, Action, str, int, object]] = set()
    for sender, items in by_sender.items():
        policy = scenario.policies[sender]
        rules = _cap_rules(policy, scenario.faults.get(sender, []))
        zone = ZoneInfo(policy.hours.timezone)
        day_count: Counter[tuple[Action, date]] = Counter()
        week_count: Counter[tuple[Action, tuple[int, int]]] = Counter()
        for item in items:
            day = item.at.astimezone(zone).date()
            week = day.isocalendar()[:2]
            day_count[item.action, day] += 1
            week_count[item.action, week] += 1
            for mode, caps_at in rules.items():
                caps = caps_at(item.action, day, item.at)
                if day_count[item.action, day] > caps.day:
                    found.add((mode, item.action, "day", sender, day))
                if week_count[item.action, week] > caps.week:
                    found.add((mode, item.action, "week", sender, week))
    return Counter((mode, action, period) for mode, action, period, _, _ in found)


def rolling_weeks_over(
    by_sender: dict[int, list[Happened]], policies: dict[int, Policy]
) -> tuple[int, float]:
    """Accounts with some 7 consecutive local days holding more invitations than the full
    weekly cap, and the worst such total over its cap. Informational: the governor caps
    ISO weeks, not rolling ones."""
    found, worst = 0, 0.0
    for sender, items in by_sender.items():
        policy = policies[sender]
        zone, cap = ZoneInfo(policy.hours.timezone), policy.caps[Action.INVITATION].week
        days = Counter(h.at.astimezone(zone).date() for h in items if h.action is Action.INVITATION)
        most = max(
            (sum(days[day + timedelta(days=k)] for k in range(7)) for day in days), default=0
        )
        found += most > cap
        worst = max(worst, most / cap)
    return found, worst


def out_of_hours(by_sender: dict[int, list[Happened]], policies: dict[int, Policy]) -> list[str]:
    """Every action outside its sender's local working days and hours, described."""
    found = []
    for sender, items in by_sender.items():
        hours = policies[sender].hours
        zone = ZoneInfo(hours.timezone)
        for item in items:
            seen = item.at.astimezone(zone)
            if seen.weekday() not in hours.days or not hours.start <= seen.time() < hours.end:
                found.append(f"sender {sender} {item.action.value} at {seen.isoformat()}")
    return found


@dataclass(frozen=True)
class Gap:
    seconds: float
    low: float
    high: float
    waiting: bool  # the next invitation was due when the previous one went and no pause between
    drawn: float  # the gap Band.draw gives for the previous invitation: what the governor aims at

    @property
    def normalised(self) -> float:
        return (self.seconds - self.low) / (self.high - self.low)

    def transformed(self, rng: random.Random) -> float:
        """U(0, 1) if the gap is round(U(low, high)) seconds, as ``Band.draw`` makes it:
        the randomised probability transform of that discrete law (whole seconds)."""
        width = self.high - self.low

        def cdf(k: float) -> float:
            return 1.0 if k >= self.high else min(1.0, max(0.0, (k + 0.5 - self.low) / width))

        below, upto = cdf(self.seconds - 1), cdf(self.seconds)
        return below + rng.random() * (upto - below)


def invitation_gaps(by_sender: dict[int, list[Happened]], scenario: Scenario) -> list[Gap]:
    """Consecutive invitations of one account within one local day."""
    gaps = []
    for sender, items in by_sender.items():
        policy = scenario.policies[sender]
        band, zone = policy.gaps[Action.INVITATION], ZoneInfo(policy.hours.timezone)
        low, high = band.low.total_seconds(), band.high.total_seconds()
        pause = scenario.pauses.get(sender)
        sent = [item for item in items if item.action is Action.INVITATION]
        for before, after in itertools.pairwise(sent):
            if before.at.astimezone(zone).date() != after.at.astimezone(zone).date():
                continue
            spans_pause = pause is not None and before.at < pause[1] and pause[0] < after.at
            waiting = after.due <= before.at and not spans_pause
            drawn = band.draw(sender, Action.INVITATION.value, before.at).total_seconds()
            gaps.append(Gap((after.at - before.at).total_seconds(), low, high, waiting, drawn))
    return gaps


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the limit of sqrt(n) D)."""
    if x <= 0:
        return 1.0
    if x < 1.18:  # the theta-function form converges fast for small x
        terms = (math.exp(-((2 * j - 1) ** 2) * math.pi**2 / (8 * x * x)) for j in range(1, 30))
        return max(0.0, 1.0 - math.sqrt(2 * math.pi) / x * sum(terms))
    terms = ((-1) ** (j - 1) * math.exp(-2 * j * j * x * x) for j in range(1, 100))
    return min(1.0, max(0.0, 2 * sum(terms)))


def _scipy_stats() -> ModuleType | None:
    try:
        return importlib.import_module("scipy.stats")
    except ImportError:
        return None


def ks_uniform(sample: Sequence[float]) -> tuple[float, float, str]:
    """Kolmogorov-Smirnov of ``sample`` against U(0, 1): D, p-value, how it was computed."""
    stats = _scipy_stats()
    if stats is not None:
        result = stats.kstest(sample, "uniform")
        return float(result.statistic), float(result.pvalue), "scipy.stats.kstest"
    xs = sorted(min(1.0, max(0.0, x)) for x in sample)
    n = len(xs)
    d = max(max((i + 1) / n - x, x - i / n) for i, x in enumerate(xs))
    return d, kolmogorov_sf(math.sqrt(n) * d), "own D, asymptotic p (scipy not installed)"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


Lateness = tuple[float, float, float]  # hours: median, p95, max


def follow_up_lateness(happened: Sequence[Happened], senders: set[int] | None = None) -> Lateness:
    """How long follow-ups (of ``senders``, default all) went out after they were due."""
    late = [
        (h.at - h.due).total_seconds() / 3600
        for h in happened
        if h.stage.startswith("follow") and (senders is None or h.sender in senders)
    ]
    return (statistics.median(late), percentile(late, 0.95), max(late)) if late else (0, 0, 0)


def below_message_caps(
    by_sender: dict[int, list[Happened]], policies: dict[int, Policy]
) -> set[int]:
    """The senders that never reached a message cap: their follow-ups never queued for one."""
    found = set()
    for sender, items in by_sender.items():
        caps, zone = (
            policies[sender].caps[Action.MESSAGE],
            ZoneInfo(policies[sender].hours.timezone),
        )
        days = Counter(h.at.astimezone(zone).date() for h in items if h.action is Action.MESSAGE)
        weeks = Counter(day.isocalendar()[:2] for day in days.elements())
        if max(days.values(), default=0) < caps.day and max(weeks.values(), default=0) < caps.week:
            found.add(sender)
    return found


def _show_kinds(console: Console, happened: list[Happened]) -> None:
    table = Table(title="Actions simulated")
    table.add_column("kind")
    table.add_column("stage")
    table.add_column("count", justify="right")
    stages = Counter((h.action.value, h.stage.split(":")[0]) for h in happened)
    for (kind, stage), count in sorted(stages.items()):
        table.add_row(kind, stage, f"{count:,}")
    table.add_row("all", "", f"{len(happened):,}")
    console.print(table)


def _show_caps(console: Console, violations: Counter[tuple[str, Action, str]]) -> None:
    table = Table(title="Cap violations: account-days / account-weeks over the cap (goal 0)")
    table.add_column("checked against")
    for action in Action:
        table.add_column(action.value, justify="right")
    for mode in MODES:
        cells = [f"{violations[mode, a, 'day']} / {violations[mode, a, 'week']}" for a in Action]
        table.add_row(mode, *cells)
    console.print(table)


@dataclass(frozen=True)
class GapTest:
    name: str
    n: int
    inside: float
    exact: float  # the fraction equal to the gap drawn for them
    d: float
    p: float
    method: str

    @property
    def verdict(self) -> str:
        return "not rejected at 5 %" if self.p >= 0.05 else "rejected at 5 %"


def gap_tests(gaps: list[Gap], seed: int) -> list[GapTest]:
    waiting = [g for g in gaps if g.waiting]
    rng = random.Random(seed)
    tests = []
    samples: list[tuple[str, list[Gap], Callable[[Gap], float]]] = [
        ("all", gaps, lambda g: g.normalised),
        ("waiting", waiting, lambda g: g.normalised),
        ("waiting, whole seconds", waiting, lambda g: g.transformed(rng)),
    ]
    for name, chosen, transform in samples:
        if not chosen:
            continue
        inside = sum(g.low <= g.seconds <= g.high for g in chosen) / len(chosen)
        exact = sum(g.seconds == g.drawn for g in chosen) / len(chosen)
        d, p, method = ks_uniform([transform(g) for g in chosen])
        tests.append(GapTest(name, len(chosen), inside, exact, d, p, method))
    return tests


def _show_gaps(console: Console, tests: list[GapTest]) -> None:
    table = Table(title="Invitation gaps within a local day against each account's band")
    for column in ("sample", "n", "inside band", "= drawn gap", "KS D", "p-value", "verdict"):
        table.add_column(column)
    for t in tests:
        cells = (f"{t.n:,}", f"{t.inside:.3%}", f"{t.exact:.3%}", f"{t.d:.5f}", f"{t.p:.3g}")
        table.add_row(t.name, *cells, t.verdict)
    console.print(table)
    if tests:
        console.print(
            f"KS against U(0, 1), computed by {tests[0].method}. all: every same-day gap; "
            "waiting: an invitation was due when the previous one went, no pause between; "
            "whole seconds: the randomised transform of round(U(low, high)), the law of "
            "Band.draw, instead of (g - low) / (high - low)."
        )


@dataclass(frozen=True)
class Figures:
    """What one run measured."""

    kinds: Counter[str]
    violations: Counter[tuple[str, Action, str]]
    outside: list[str]
    rolling: tuple[int, float]  # accounts over the weekly cap in rolling 7 days, worst ratio
    gaps: list[GapTest]
    lateness: Lateness  # follow-ups
    lateness_below_caps: Lateness  # follow-ups of the senders that never reached a message cap
    below_caps: int  # how many senders those are
    decisions: int
    wall: float

    def by_mode(self, mode: str) -> int:
        return sum(n for (m, _, _), n in self.violations.items() if m == mode)


def measure(
    scenario: Scenario, happened: list[Happened], *, decisions: int, wall: float
) -> Figures:
    by_sender: dict[int, list[Happened]] = defaultdict(list)
    for item in happened:  # simulate() returns them in time order
        by_sender[item.sender].append(item)
    below = below_message_caps(by_sender, scenario.policies)
    return Figures(
        kinds=Counter(h.action.value for h in happened),
        violations=cap_violations(by_sender, scenario),
        outside=out_of_hours(by_sender, scenario.policies),
        rolling=rolling_weeks_over(by_sender, scenario.policies),
        gaps=gap_tests(invitation_gaps(by_sender, scenario), scenario.seed),
        lateness=follow_up_lateness(happened),
        lateness_below_caps=follow_up_lateness(happened, below),
        below_caps=len(below),
        decisions=decisions,
        wall=wall,
    )


def _show_scenario(console: Console, scenario: Scenario) -> None:
    faults = sum(len(f) for f in scenario.faults.values())
    pauses = ", ".join(
        f"{sender} ({a:%m-%d %H:%M} to {b:%m-%d %H:%M} UTC)"
        for sender, (a, b) in scenario.pauses.items()
    )
    console.print(
        f"{len(scenario.policies):,} accounts, {scenario.campaigns:,} campaigns, "
        f"{len(scenario.paths):,} prospects, {scenario.days} days from {START.date()}; "
        f"{faults} injected 429s on {len(scenario.faults)} accounts; paused senders: {pauses}"
    )


def show(console: Console, scenario: Scenario, happened: list[Happened], figures: Figures) -> None:
    _show_scenario(console, scenario)
    _show_kinds(console, happened)
    _show_caps(console, figures.violations)
    console.print(
        f"Accounts above the full weekly invitation cap in some rolling 7 local days "
        f"(informational, the caps are per ISO week): {figures.rolling[0]}, "
        f"at worst {figures.rolling[1]:.2f} x the cap"
    )
    console.print(f"Actions outside working hours (goal 0): {len(figures.outside)}")
    for line in figures.outside[:10]:
        console.print(f"  {line}")
    _show_gaps(console, figures.gaps)
    for who, (median, p95, worst) in (
        ("all senders", figures.lateness),
        (f"{figures.below_caps} senders never at a message cap", figures.lateness_below_caps),
    ):
        console.print(
            f"Follow-up lateness (at - due), {who}: "
            f"median {median:.2f} h, p95 {p95:.2f} h, max {worst:.2f} h"
        )
    rate = figures.decisions / figures.wall
    console.print(
        f"simulate(): {figures.wall:.1f} s wall, {figures.decisions:,} decisions, {rate:,.0f}/s"
    )


def summary(scenario: Scenario, figures: Figures) -> str:
    """One plain line, easy to grep."""
    full, ramped, current = (figures.by_mode(mode) for mode in MODES)
    words = [
        f"governor_sim accounts={len(scenario.policies)} days={scenario.days} seed={scenario.seed}",
        f"actions={figures.kinds.total()}",
        *(f"{kind.value}s={figures.kinds[kind.value]}" for kind in Action),
        f"faults={sum(len(f) for f in scenario.faults.values())}",
        f"cap_violations={full + ramped + current}",
        f"cap_full={full} cap_ramped_nofault={ramped} cap_in_force={current}",
        f"out_of_hours={len(figures.outside)}",
        f"rolling_week_over={figures.rolling[0]} rolling_week_worst={figures.rolling[1]:.2f}",
    ]
    for name, test in zip(("ks", "ks_waiting_seconds"), figures.gaps[::2], strict=False):
        verdict = "not_rejected" if test.p >= 0.05 else "rejected"
        words.append(f"{name}_d={test.d:.5f} {name}_p={test.p:.3g} {name}={verdict}")
    if figures.gaps:
        words.append(f"in_band={figures.gaps[0].inside:.4f} as_drawn={figures.gaps[0].exact:.4f}")
    for name, (median, p95, worst) in (
        ("followup_late_h", figures.lateness),
        ("followup_late_below_caps_h", figures.lateness_below_caps),
    ):
        words.append(f"{name}_median={median:.2f} {name}_p95={p95:.2f} {name}_max={worst:.2f}")
    rate = figures.decisions / figures.wall
    words.append(
        f"wall_s={figures.wall:.1f} decisions={figures.decisions} decisions_per_s={rate:.0f}"
    )
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = perf_counter()
    scenario = build(args.accounts, args.days, args.seed)
    built = perf_counter() - started
    happened, decisions, wall = run(scenario)
    started = perf_counter()
    figures = measure(scenario, happened, decisions=decisions, wall=wall)
    console = Console(width=120)
    show(console, scenario, happened, figures)
    checked = perf_counter() - started
    console.print(f"build {built:.1f} s, simulate {wall:.1f} s, checks {checked:.1f} s")
    print(summary(scenario, figures))


if __name__ == "__main__":
    main()
