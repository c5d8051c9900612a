"""Workers that take over from each other.

Every process that runs stages heartbeats (``workers`` table, wall clock). DBOS recovers
a process's unfinished workflows when that process starts again with the same executor
id; a worker that never comes back (a machine gone, a scaled-down deployment) would
leave its in-flight stages, and so its senders, waiting forever. So each worker also
looks for one silent for ``takeover_after_seconds``: it claims it (a compare-and-set on
its row, so two live workers never both take it), then resumes each of its pending
workflows with DBOS's public ``resume_workflow`` on the queue it came from. A resumed
workflow runs from its last recorded step on whichever worker dequeues it; its steps that
may have acted already look first (``Takeover``, read by ``workflows.acting_again``).
A worker that starts again while it is being taken over waits, before DBOS recovers its
own workflows, until the takeover is done (``arrive``): each workflow runs in one place.

A worker that was only slow, not gone, and comes back finds its workflows owned by
another: DBOS refuses its next checkpoints, and the provider's state, read before any
action is repeated, keeps a send from happening twice. So ``takeover_after_seconds``
should be well above any pause a live worker has (30 s by default, six heartbeats).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa
from dbos import DBOS
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.clock import wall_now
from outreach.models import Takeover, Worker
from outreach.runtime import Runtime
from outreach.uow import transaction

log = logging.getLogger("outreach.workers")


def arrive(rt: Runtime) -> None:
    """This worker's first heartbeat, before DBOS recovers its own pending workflows.

    If another worker is taking it over at this moment (claimed, not done, the claim
    fresh), wait until that is done: a workflow is then resumed there or recovered here,
    never both. The check and the heartbeat are one transaction on the worker's row, so
    a claim either came first (and is waited for) or finds this worker alive.
    """
    after = timedelta(seconds=rt.settings.takeover_after_seconds)
    while True:
        with transaction(rt) as session:
            row = session.get(Worker, rt.settings.executor_id, with_for_update=True)
            if row is None or not _being_taken_over(row, now=wall_now(), after=after):
                _beat(session, rt)
                return
        log.warning("worker %s is being taken over by %s: waiting", row.executor_id, row.claimed_by)
        if rt.stopping.wait(min(1.0, after.total_seconds() / 10)):
            return


def _being_taken_over(row: Worker, *, now: datetime, after: timedelta) -> bool:
    if row.claimed_by is None or row.claimed_at is None or row.taken_over_at is not None:
        return False
    return row.claimed_at > now - after


def heartbeat(rt: Runtime) -> None:
    """This worker is alive (a returning one's claim and takeover are cleared)."""
    with transaction(rt) as session:
        _beat(session, rt)


def _beat(session: Session, rt: Runtime) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    row = {
        "executor_id": rt.settings.executor_id,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": rt.started_at,
        "seen_at": wall_now(),
        "claimed_by": None,
        "claimed_at": None,
        "taken_over_at": None,
    }
    insert = dialect.insert(Worker).values(**row)
    fresh = {k: getattr(insert.excluded, k) for k in row if k != "executor_id"}
    session.execute(insert.on_conflict_do_update(index_elements=["executor_id"], set_=fresh))


def _silent_since(cutoff: datetime) -> list[sa.ColumnElement[bool]]:
    """Silent since ``cutoff``, not taken over, and unclaimed or claimed before it."""
    return [
        Worker.seen_at < cutoff,
        Worker.taken_over_at.is_(None),
        sa.or_(Worker.claimed_at.is_(None), Worker.claimed_at < cutoff),
    ]


def silent(session: Session, *, now: datetime, after: timedelta, me: str) -> list[str]:
    """Workers silent for ``after`` and not taken over, or claimed by one silent as long."""
    query = (
        sa.select(Worker.executor_id)
        .where(Worker.executor_id != me, *_silent_since(now - after))
        .order_by(Worker.seen_at)
    )
    return list(session.scalars(query))


def claim(rt: Runtime, executor_id: str, *, now: datetime, after: timedelta) -> bool:
    """Claim a silent worker; False when it spoke again or another worker claimed it."""
    with transaction(rt) as session:
        claimed = session.execute(
            sa.update(Worker)
            .where(Worker.executor_id == executor_id, *_silent_since(now - after))
            .values(claimed_by=rt.settings.executor_id, claimed_at=now)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def take_over(rt: Runtime) -> dict[str, int]:
    """Resume the pending workflows of every worker silent too long: per worker, how many.

    Run again after a crash half-way, it resumes only what is still pending under the
    silent worker's id (a resumed workflow is enqueued, then another's)."""
    me = rt.settings.executor_id
    after = timedelta(seconds=rt.settings.takeover_after_seconds)
    now = wall_now()
    with rt.sessions() as session:
        candidates = silent(session, now=now, after=after, me=me)
    done: dict[str, int] = {}
    for executor_id in candidates:
        if not claim(rt, executor_id, now=now, after=after):
            continue
        pending = DBOS.list_workflows(
            status="PENDING",
            executor_id=executor_id,
            app_version=rt.settings.app_version,
            load_input=False,
            load_output=False,
        )
        with transaction(rt) as session:  # recorded before any of them can run anywhere
            for workflow in pending:
                session.merge(
                    Takeover(
                        workflow_id=workflow.workflow_id,
                        from_executor=executor_id,
                        by_executor=me,
                        at=wall_now(),
                    )
                )
        for workflow in pending:
            DBOS.resume_workflow(workflow.workflow_id, queue_name=workflow.queue_name)
        with transaction(rt) as session:
            session.execute(
                sa.update(Worker)
                .where(Worker.executor_id == executor_id, Worker.claimed_by == me)
                .values(taken_over_at=wall_now())
            )
        log.warning(
            "worker %s silent since over %.0f s: resumed its %d unfinished workflows",
            executor_id,
            after.total_seconds(),
            len(pending),
        )
        done[executor_id] = len(pending)
    return done


def was_taken_over(rt: Runtime, workflow_id: str) -> bool:
    with rt.sessions() as session:
        found = session.get(Takeover, workflow_id)
    return found is not None
