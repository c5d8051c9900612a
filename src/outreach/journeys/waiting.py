"""The journey's wait in a person's words: what it waits for, until when, and why.

Inngest shows "⏰ Waiting 2 days (sleeping) · Will resume on Nov 22 at 2:15 PM"; here the
line also says *why* the time is what it is: the sequence's day, the sender's working
hours, a daily cap used up, the pending-invitation limit, the sender's pace, a pause, a
back-off, or a stage late because no worker took it. Pure: everything it reads is passed
in (``explain``), so the page and the API say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from outreach.accounts.governor import Action
from outreach.accounts.schemas import Governor, Usage
from outreach.campaigns.scheduling import WorkingHours, next_open
from outreach.campaigns.sequence import SequenceSpec, Stage, StageRef
from outreach.models import AccountStatus

# A stage due and explained by nothing (no cap, no pace, no pause) should start within
# moments. Past this many real seconds it is late: no worker is taking it.
LATE_AFTER_REAL_S = 30
LATE_AFTER_SIM = timedelta(minutes=10)  # at real time, a little slack for the pace

Icon = Literal["sleeping", "due", "running", "held", "late", "done"]
NOUNS = {
    Action.INVITATION: "invitation",
    Action.MESSAGE: "message",
    Action.VIEW: "acceptance check",
    Action.WITHDRAWAL: "withdrawal",
}
DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class WaitLine(BaseModel):
    """What the journey waits for now, in words; ``until`` is when it is next looked at."""

    state: Icon = Field(description="sleeping | due | running | held | late | done")
    what: str = Field(description="The step it waits to run, e.g. 'follow-up 2'.")
    until: datetime | None = Field(description="When it runs, or is looked at again.")
    why: str = Field(description="Why that is the time, in plain words.")
    overdue: bool = Field(description="Due and not started well past when it should have.")


@dataclass(frozen=True)
class Sender:
    """What the line needs of the sender (an ``Account`` row and its governor's view)."""

    status: AccountStatus
    status_reason: str | None
    paused_until: datetime | None
    hours: WorkingHours
    usage: Governor
    busy_journey_id: int | None
    withdraw_after_days: int


@dataclass(frozen=True)
class Waiting:
    """What the line needs of the journey."""

    id: int
    name: str
    status: str
    stage: str | None
    next_run_at: datetime | None
    held: bool
    waiting_for: str | None
    invited_at: datetime | None
    campaign_paused: bool
    ahead: int = 0  # the sender's steps of the same kind due before this one


def hours_text(hours: WorkingHours) -> str:
    days = sorted(hours.days)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        names = f"{DAY_ABBR[days[0]]}\u2013{DAY_ABBR[days[-1]]}"
    else:
        names = ", ".join(DAY_ABBR[d] for d in days)
    return f"{names} {hours.start:%H:%M}\u2013{hours.end:%H:%M} {hours.timezone}"


def _action(stage: StageRef) -> Action:
    if stage.stage is Stage.INVITE:
        return Action.INVITATION
    if stage.stage is Stage.FOLLOW_UP:
        return Action.MESSAGE
    if stage.stage is Stage.WITHDRAW:
        return Action.WITHDRAWAL
    return Action.VIEW  # the acceptance check reads the profile


def _what(stage: StageRef, name: str) -> str:
    if stage.stage is Stage.INVITE:
        return f"send the invitation to {name}"
    if stage.stage is Stage.CHECK_ACCEPTANCE:
        return f"check whether {name} accepted"
    if stage.stage is Stage.WITHDRAW:
        return "withdraw the unanswered invitation"
    return f"send follow-up {stage.number}"


def _planned(stage: StageRef, spec: SequenceSpec, sender: Sender) -> str:
    """Why a sleeping stage wakes when it does: its place in the sequence."""
    if stage.stage is Stage.CHECK_ACCEPTANCE:
        days = f"{spec.acceptance_check_days:g}"
        return (
            f"the acceptance window: {days} days after the invitation; "
            "not accepted by then, the journey ends"
        )
    if stage.stage is Stage.FOLLOW_UP:
        day = (
            spec.follow_up_days[stage.number - 1]
            if stage.number <= len(spec.follow_up_days)
            else None
        )
        total = len(spec.follow_up_days)
        where = f"follow-up {stage.number} of {total}"
        return f"{where}, on day {day:g} after the invitation" if day is not None else where
    if stage.stage is Stage.WITHDRAW:
        return f"unanswered for {sender.withdraw_after_days} days: the invitation is taken back"
    return "its turn in the sender's queue"


def _capped(usage: Usage) -> str | None:
    if usage.today >= usage.day_cap:
        return f"today's cap is used ({usage.today} of {usage.day_cap})"
    if usage.this_week >= usage.week_cap:
        return f"this week's cap is used ({usage.this_week} of {usage.week_cap})"
    return None


def explain(
    journey: Waiting, spec: SequenceSpec, sender: Sender, *, now: datetime, scale: float
) -> WaitLine:
    """The line for ``journey`` now."""
    if journey.stage is None or journey.next_run_at is None:
        ended = journey.status in ("replied", "not_accepted", "completed", "failed", "stopped")
        what = "the journey has ended: nothing more is sent" if ended else "nothing yet"
        return WaitLine(state="done", what=what, until=None, why="", overdue=False)
    stage = StageRef.parse(journey.stage)
    what = _what(stage, journey.name)
    due = journey.next_run_at
    if journey.held:
        why = journey.waiting_for or "held"
        return WaitLine(state="held", what=what, until=None, why=f"held: {why}", overdue=False)
    if due > now:
        return WaitLine(
            state="sleeping", what=what, until=due, why=_planned(stage, spec, sender), overdue=False
        )
    # Due: something decides when it actually starts.
    if sender.busy_journey_id == journey.id:
        return WaitLine(state="running", what=what, until=now, why="running now", overdue=False)
    if journey.campaign_paused:
        return WaitLine(
            state="held", what=what, until=None, why="the campaign is paused", overdue=False
        )
    if sender.status is AccountStatus.PAUSED:
        why = f"the sender is paused: {sender.status_reason or 'by a person'}"
        return WaitLine(state="held", what=what, until=None, why=why, overdue=False)
    if sender.status is AccountStatus.BACKOFF:
        why = f"the sender is backing off: {sender.status_reason or 'a LinkedIn limit'}"
        return WaitLine(state="due", what=what, until=sender.paused_until, why=why, overdue=False)
    opens = next_open(now, sender.hours)
    if opens != now:
        why = f"outside the sender's working hours ({hours_text(sender.hours)})"
        return WaitLine(state="due", what=what, until=opens, why=why, overdue=False)
    action = _action(stage)
    usage = {
        Action.INVITATION: sender.usage.invitations,
        Action.MESSAGE: sender.usage.messages,
        Action.VIEW: sender.usage.views,
    }.get(action)
    capped = _capped(usage) if usage is not None else None
    nxt = sender.usage.next_action_at
    if capped is not None:
        kind = {
            Action.INVITATION: "invitation",
            Action.MESSAGE: "message",
            Action.VIEW: "profile view",
        }[action]
        return WaitLine(state="due", what=what, until=nxt, why=f"{kind}s: {capped}", overdue=False)
    usage_ = sender.usage
    if action is Action.INVITATION and usage_.pending_invitations >= usage_.pending_limit:
        why = (
            f"{usage_.pending_invitations} invitations wait for an answer (the limit is "
            f"{usage_.pending_limit}): it goes when one is accepted or withdrawn"
        )
        return WaitLine(state="due", what=what, until=nxt, why=why, overdue=False)
    if journey.ahead:
        noun = NOUNS[action]
        pace = f"; it does at most {usage.day_cap} a day" if usage is not None else ""
        why = f"its turn: {journey.ahead:,} of the sender's {noun}s are due before it{pace}"
        if journey.ahead == 1:
            why = f"its turn: one of the sender's {noun}s is due before it{pace}"
        return WaitLine(state="due", what=what, until=nxt, why=why, overdue=False)
    if sender.busy_journey_id is not None:
        why = "its turn: the sender is busy with another prospect's step"
        return WaitLine(state="due", what=what, until=nxt, why=why, overdue=False)
    if nxt is not None and nxt > now:
        why = "its turn: the sender paces its actions, and its next one is then"
        return WaitLine(state="due", what=what, until=nxt, why=why, overdue=False)
    late_after = max(LATE_AFTER_SIM, timedelta(seconds=LATE_AFTER_REAL_S * scale))
    if now - due > late_after:
        why = (
            "late: due, and nothing holds it back, but no worker has started it "
            "(is `outreach serve` or a worker running?)"
        )
        return WaitLine(state="late", what=what, until=due, why=why, overdue=True)
    return WaitLine(state="due", what=what, until=due, why="due now: starting", overdue=False)
