"""The governor run forward in simulated time: a dry run, nothing sent.

``simulate`` replays what the engine does, with the same pure functions: each sender's
governor decides (``governor.decide``), the chosen step happens at that moment, and the
sequence (``campaigns.sequence``) says what comes next and when. The forecast uses it to
say when each step of each prospect is expected and what load each sender carries; the
benchmark in ``bench/governor_sim.py`` drives it for a thousand accounts with faults.

No clock, no database: plain values in, a list of what would happen out.
"""

from __future__ import annotations

import copy
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from outreach.accounts.governor import Action, Candidate, Done, History, Policy, Ramp, Step, decide
from outreach.campaigns.scheduling import next_day_open
from outreach.campaigns.sequence import (
    SequenceSpec,
    StageRef,
    after_acceptance_check,
    after_follow_up,
    after_invitation,
)
from outreach.campaigns.sequence import Stage as SequenceStage


@dataclass
class Path:
    """One journey in the dry run: its sender for life, where it stands, what it awaits."""

    key: int
    campaign: int
    sender: int
    stage: StageRef | None
    due: datetime
    invited_at: datetime | None = None

    @property
    def step(self) -> Step:
        assert self.stage is not None
        return {
            SequenceStage.INVITE: Step.INVITE,
            SequenceStage.CHECK_ACCEPTANCE: Step.CHECK,
            SequenceStage.FOLLOW_UP: Step.FOLLOW_UP,
        }[self.stage.stage]


@dataclass(frozen=True)
class Happened:
    """A step the dry run performed: which journey, which stage, by whom, when."""

    key: int
    campaign: int
    sender: int
    stage: str
    action: Action
    at: datetime
    due: datetime


@dataclass(frozen=True)
class Fault:
    """What LinkedIn answers an action with in the dry run: a limit (the account backs
    off until the next working day and warms up again)."""

    limit: bool = True


@dataclass
class _Sender:
    policy: Policy
    history: History
    groups: dict[tuple[int, Step], list[tuple[datetime, int]]] = field(default_factory=dict)
    paused_until: datetime | None = None

    def candidates(self) -> list[Candidate]:
        found = []
        for (campaign, step), heap in self.groups.items():
            if heap:
                due, key = heap[0]
                found.append(Candidate(key, campaign, step, due))
        return found

    def add(self, path: Path) -> None:
        heapq.heappush(self.groups.setdefault((path.campaign, path.step), []), (path.due, path.key))

    def take(self, candidate: Candidate) -> None:
        heapq.heappop(self.groups[candidate.campaign, candidate.step])


def simulate(
    policies: dict[int, Policy],
    paths: Iterable[Path],
    specs: dict[int, SequenceSpec],
    *,
    start: datetime,
    until: datetime,
    history: dict[int, History] | None = None,
    accepts: Callable[[int], bool] = lambda key: True,
    replies_at: Callable[[int], datetime | None] = lambda key: None,
    fault: Callable[[int, Action, datetime], Fault | None] = lambda sender, action, at: None,
    paused: Callable[[int, datetime], bool] = lambda sender, at: False,
) -> list[Happened]:
    """Everything the senders would do from ``start`` until ``until``.

    ``accepts`` and ``replies_at`` say how each prospect behaves (the forecast assumes
    everyone accepts and nobody replies: the full sequence); ``fault`` injects LinkedIn's
    limit errors; ``paused`` says whether a sender is paused at a moment (its journeys
    wait, the others go on).
    """
    known = history or {}
    senders = {
        sid: _Sender(policy, copy.deepcopy(known[sid]) if sid in known else History(policy.hours))
        for sid, policy in policies.items()
    }
    by_key: dict[int, Path] = {}
    for path in paths:
        if path.stage is not None:
            by_key[path.key] = path
            senders[path.sender].add(path)
    queue = [(start, sid) for sid in sorted(senders)]
    heapq.heapify(queue)
    happened: list[Happened] = []
    while queue:
        now, sid = heapq.heappop(queue)
        if now > until:
            break
        sender = senders[sid]
        if paused(sid, now):
            heapq.heappush(queue, (now + timedelta(hours=1), sid))
            continue
        if sender.paused_until is not None and now < sender.paused_until:
            heapq.heappush(queue, (sender.paused_until, sid))
            continue
        decision = decide(sender.policy, sender.history, sender.candidates(), now)
        if decision.run is None:
            if decision.wake is not None:
                heapq.heappush(queue, (max(decision.wake, now), sid))
            continue
        chosen = decision.run
        path = by_key[chosen.journey]
        action = chosen.step.action
        problem = fault(sid, action, now)
        if problem is not None:
            hours = sender.policy.hours
            sender.paused_until = next_day_open(now, hours)
            ramp = sender.policy.ramp or Ramp(hours.local_day(sender.paused_until))
            sender.policy = replace(
                sender.policy, ramp=replace(ramp, since=hours.local_day(sender.paused_until))
            )
            heapq.heappush(queue, (sender.paused_until, sid))
            continue
        sender.take(chosen)
        sender.history.add(Done(action, now, path.campaign))
        assert path.stage is not None
        happened.append(
            Happened(path.key, path.campaign, sid, str(path.stage), action, now, path.due)
        )
        _advance(path, now, specs[path.campaign], accepts, replies_at)
        if path.stage is not None:
            sender.add(path)
        heapq.heappush(queue, (now, sid))
    return happened


def _advance(
    path: Path,
    now: datetime,
    spec: SequenceSpec,
    accepts: Callable[[int], bool],
    replies_at: Callable[[int], datetime | None],
) -> None:
    assert path.stage is not None
    stage = path.stage.stage
    if stage is SequenceStage.INVITE:
        path.invited_at = now
        step = after_invitation(spec, invited_at=now)
    elif stage is SequenceStage.CHECK_ACCEPTANCE:
        assert path.invited_at is not None
        step = after_acceptance_check(
            spec, accepted=accepts(path.key), invited_at=path.invited_at, now=now
        )
    else:
        assert path.invited_at is not None
        step = after_follow_up(spec, path.stage.number, invited_at=path.invited_at, now=now)
    reply = replies_at(path.key)
    if step.stage is None or (reply is not None and step.due is not None and reply <= step.due):
        path.stage = None
        return
    assert step.due is not None
    path.stage, path.due = step.stage, step.due


def daily_load(
    happened: Iterable[Happened], policies: dict[int, Policy]
) -> dict[int, dict[str, dict[str, int]]]:
    """Per sender, per local day, how many of each action: ``{sender: {day: {action: n}}}``."""
    load: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for item in happened:
        day = policies[item.sender].hours.local_day(item.at).isoformat()
        counts = load[item.sender][day]
        counts[item.action.value] = counts.get(item.action.value, 0) + 1
    return {sender: dict(days) for sender, days in load.items()}
