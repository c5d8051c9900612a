"""The invariant that nothing stalls silently, checked and repaired.

Every journey that has not ended is either waiting for its sender's governor (a row: the
governor looks at the sender at ``next_action_at``), running as the sender's one stage
(a live workflow), or held with a visible reason (a paused campaign or sender).
``problems`` lists what breaks it: a sender busy with a stage whose workflow ended in
ERROR, was cancelled, or was never started (an enqueue lost in a crash); a sender with
waiting journeys that its governor will never look at; journeys held although nothing
holds them any more. ``repair_all`` frees the sender and has the stage run again (the
journey fails visibly once it has been repaired too often), wakes the forgotten senders
and releases the journeys held for nothing. The sweep runs it; so does ``outreach doctor``.
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

# A stage the governor started normally runs within a queue poll; a sender that has
# waited this long for one that was never started is looked at.
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
    kind: str  # no_workflow | workflow_error | workflow_stopped | sender_forgotten |
    # held_for_nothing (for sender_forgotten, ``seq`` is the sender)
    detail: str


def _busy(session: Session, now: datetime) -> list[tuple[int, int, str, int, datetime]]:
    """The stage each busy sender runs: journey, campaign, stage, seq, since when."""
    rows = session.execute(
        sa.select(
            Journey.id, Journey.campaign_id, Journey.stage, Journey.stage_seq, Account.busy_since
        )
        .join(Account, Account.busy_journey_id == Journey.id)
        .order_by(Journey.id)
    )
    return [(jid, cid, stage or "", seq, since or now) for jid, cid, stage, seq, since in rows]


def _forgotten(session: Session, now: datetime) -> list[int]:
    """Senders with waiting journeys that their governor will never look at."""
    waiting = (
        sa.select(Journey.id)
        .join(Campaign, Campaign.id == Journey.campaign_id)
        .where(Journey.account_id == Account.id, Journey.held.is_(False))
        .where(Journey.status.not_in(TERMINAL_STATUSES), Journey.stage.is_not(None))
        .where(Campaign.status == CampaignStatus.ACTIVE)
        .exists()
    )
    rows = session.execute(
        sa.select(Account.id)
        .where(Account.status == AccountStatus.ACTIVE, Account.busy_journey_id.is_(None))
        .where(Account.next_action_at.is_(None), waiting)
        .order_by(Account.id)
    )
    return list(rows.scalars())


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
    busy = tx(_busy)
    ids = {jid: f"journey-{jid}-{stage}-{seq}" for jid, _, stage, seq, _ in busy}
    statuses = _statuses(list(ids.values()))
    now = current_time()
    found: list[Problem] = []
    for jid, cid, stage, seq, since in busy:
        status = statuses.get(ids[jid])
        if status is None:
            if since < now - OVERDUE_AFTER:
                detail = "its sender waits for a stage that was never started"
                found.append(Problem(jid, cid, stage, seq, "no_workflow", detail))
        elif status[0] == "ERROR":
            found.append(
                Problem(jid, cid, stage, seq, "workflow_error", status[1] or "ended in error")
            )
        elif status[0] not in LIVE:
            detail = f"its stage workflow is {status[0]} but its sender still waits for it"
            found.append(Problem(jid, cid, stage, seq, "workflow_stopped", detail))
    for sender in tx(_forgotten):
        detail = f"sender {sender} has waiting journeys its governor never looks at"
        found.append(Problem(0, 0, None, sender, "sender_forgotten", detail))
    for jid, cid, held_stage, seq in tx(_held_for_nothing):
        detail = "held, but its campaign and its sender are running"
        found.append(Problem(jid, cid, held_stage, seq, "held_for_nothing", detail))
    return found


def current_time() -> datetime:
    from outreach.runtime import current

    return current().clock.now()


def repair_all() -> int:
    """Repair every problem found; how many journeys (or senders) were repaired."""
    repaired = 0
    released: set[int] = set()
    for problem in problems():
        if problem.kind == "held_for_nothing":
            if problem.campaign_id not in released:
                released.add(problem.campaign_id)
                repaired += tx(lifecycle.release_held, campaign_id=problem.campaign_id)
            continue
        if problem.kind == "sender_forgotten":
            repaired += tx(lifecycle.wake_sender, problem.seq)
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
