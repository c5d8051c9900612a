"""The invariant that nothing stalls silently, checked and repaired.

Every journey that has not ended has a live workflow behind it (its stage DELAYED,
ENQUEUED or running), or a visible reason why not (held by a paused campaign or sender).
``problems`` lists the journeys that break it: a stage long overdue whose workflow is
missing (an enqueue lost in a crash), ended in ERROR or was cancelled, or finished without
moving the journey on; and journeys held although nothing holds them any more. ``repair``
re-runs each such stage under a new sequence number (the journey fails visibly once it
has been repaired too often) and releases the journeys held for nothing. The sweep runs
it; so does ``outreach doctor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from dbos import DBOS
from sqlalchemy.orm import Session

from outreach.engine import tx
from outreach.journeys import lifecycle
from outreach.models import (
    TERMINAL_STATUSES,
    Account,
    AccountStatus,
    Campaign,
    CampaignStatus,
    Journey,
)

# A due stage normally starts within a queue poll; this late, it is looked at.
OVERDUE_AFTER = timedelta(hours=1)
MAX_REPAIRS = 3
LIVE = frozenset({"DELAYED", "ENQUEUED", "PENDING"})
CHUNK = 500


@dataclass(frozen=True)
class Problem:
    journey_id: int
    campaign_id: int
    stage: str | None
    seq: int
    kind: str  # no_workflow | workflow_error | workflow_stopped | held_for_nothing
    detail: str


def _overdue(session: Session, now: datetime) -> list[tuple[int, int, str, int]]:
    rows = session.execute(
        sa.select(Journey.id, Journey.campaign_id, Journey.stage, Journey.stage_seq)
        .where(Journey.status.not_in(TERMINAL_STATUSES), Journey.held.is_(False))
        .where(Journey.stage.is_not(None), Journey.next_run_at < now - OVERDUE_AFTER)
        .order_by(Journey.id)
    )
    return [(jid, cid, stage, seq) for jid, cid, stage, seq in rows if stage is not None]


def _held_for_nothing(session: Session, now: datetime) -> list[tuple[int, int, str | None, int]]:
    """Held journeys whose campaign and sender are both running again."""
    rows = session.execute(
        sa.select(Journey.id, Journey.campaign_id, Journey.stage, Journey.stage_seq)
        .join(Campaign, Campaign.id == Journey.campaign_id)
        .join(Account, Account.id == Journey.account_id)
        .where(Journey.held.is_(True), Journey.status.not_in(TERMINAL_STATUSES))
        .where(Campaign.status == CampaignStatus.ACTIVE, Account.status != AccountStatus.PAUSED)
        .order_by(Journey.id)
    )
    return [(jid, cid, stage, seq) for jid, cid, stage, seq in rows]


def _statuses(workflow_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    for begin in range(0, len(workflow_ids), CHUNK):
        chunk = workflow_ids[begin : begin + CHUNK]
        for w in DBOS.list_workflows(workflow_ids=chunk, load_input=False, load_output=False):
            error = None if w.error is None else f"{type(w.error).__name__}: {w.error}"
            found[w.workflow_id] = (str(w.status), error)
    return found


def problems() -> list[Problem]:
    """Every journey that breaks the invariant right now."""
    overdue = tx(_overdue)
    ids = {jid: f"journey-{jid}-{stage}-{seq}" for jid, _, stage, seq in overdue}
    statuses = _statuses(list(ids.values()))
    found: list[Problem] = []
    for jid, cid, stage, seq in overdue:
        status = statuses.get(ids[jid])
        if status is None:
            found.append(
                Problem(jid, cid, stage, seq, "no_workflow", "its stage was never enqueued")
            )
        elif status[0] == "ERROR":
            found.append(
                Problem(jid, cid, stage, seq, "workflow_error", status[1] or "ended in error")
            )
        elif status[0] not in LIVE:
            detail = f"its stage workflow is {status[0]} but the journey still waits for it"
            found.append(Problem(jid, cid, stage, seq, "workflow_stopped", detail))
    for jid, cid, held_stage, seq in tx(_held_for_nothing):
        detail = "held, but its campaign and its sender are running"
        found.append(Problem(jid, cid, held_stage, seq, "held_for_nothing", detail))
    return found


def repair_all() -> int:
    """Repair every problem found; how many journeys were repaired."""
    repaired = 0
    released: set[int] = set()
    for problem in problems():
        if problem.kind == "held_for_nothing":
            if problem.campaign_id not in released:
                released.add(problem.campaign_id)
                repaired += tx(lifecycle.release_held, campaign_id=problem.campaign_id)
            continue
        assert problem.stage is not None
        detail = f"{problem.kind}: {problem.detail}"
        if tx(
            lifecycle.repair,
            problem.journey_id,
            problem.stage,
            problem.seq,
            problem=detail,
            max_attempts=MAX_REPAIRS,
        ):
            repaired += 1
    return repaired
