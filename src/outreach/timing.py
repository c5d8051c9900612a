"""Judging a run's timing from what happened: the checks the seed's promise makes.

Plain values in (action times from the timeline or the provider's log), a list of
violations out; used by the end-to-end tests and ``bench/faithful_time.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from outreach.campaigns.scheduling import WorkingHours, next_day_open, next_open


@dataclass(frozen=True)
class Sent:
    kind: str  # invitation | message
    at: datetime
    journey: int
    due: datetime | None = None  # a follow-up's day, from the invitation


def sends_of(details: list[dict[str, Any]], follow_up_days: Sequence[float]) -> list[Sent]:
    """What the journeys' timelines (``GET /api/journeys/{id}``, as JSON) say was done: each
    invitation, each message with its day (from the invitation, or from when the relation
    was seen), each profile read of someone already connected, each withdrawal."""
    sent: list[Sent] = []
    for detail in details:
        invited = detail["invited_at"] and datetime.fromisoformat(detail["invited_at"])
        for event in detail["events"]:
            at, kind = datetime.fromisoformat(event["at"]), event["kind"]
            if kind in _KINDS:
                sent.append(Sent(_KINDS[kind], at, detail["id"]))
            elif kind == "message_sent":
                assert invited, detail  # a message follows an invitation or a relation
                due = invited + timedelta(days=follow_up_days[event["details"]["follow_up"] - 1])
                sent.append(Sent("message", at, detail["id"], due))
    return sent


_KINDS = {
    "invitation_sent": "invitation",
    "already_connected": "view",  # its profile was read
    "invitation_withdrawn": "withdrawal",
}


def outside_hours(sent: list[Sent], hours: WorkingHours) -> list[Sent]:
    return [s for s in sent if next_open(s.at, hours) != s.at]


def invitation_gaps(sent: list[Sent], hours: WorkingHours) -> list[timedelta]:
    """Gaps between consecutive invitations of one working day."""
    times = sorted(s.at for s in sent if s.kind == "invitation")
    return [b - a for a, b in itertools.pairwise(times) if hours.local_day(a) == hours.local_day(b)]


def gaps_outside(gaps: list[timedelta], low: timedelta, high: timedelta) -> list[timedelta]:
    return [g for g in gaps if not low <= g <= high]


def late_follow_ups(sent: list[Sent], hours: WorkingHours) -> list[tuple[Sent, timedelta]]:
    """Follow-ups later than one working day after the first moment they could go."""
    late = []
    for s in sent:
        if s.kind != "message" or s.due is None:
            continue
        first = next_open(s.due, hours)
        by = hours.window(hours.local_day(next_day_open(first, hours)))[1]
        if s.at > by or s.at < s.due:
            late.append((s, s.at - s.due))
    return late


def per_day(sent: list[Sent], hours: WorkingHours, kind: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in sent:
        if s.kind == kind:
            day = hours.local_day(s.at).isoformat()
            counts[day] = counts.get(day, 0) + 1
    return counts
