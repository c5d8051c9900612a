"""The durable engine's plumbing: queue, transactions as DBOS steps, delayed enqueue.

A waiting journey is one DELAYED workflow row (``run_stage`` with a business-key id),
never a thread or a task: the queue releases it when its simulated time comes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID
from sqlalchemy.orm import Session

from outreach.journeys.repository import Scheduled
from outreach.runtime import Runtime, current

log = logging.getLogger("outreach.engine")

ACTIONS_QUEUE = "outreach-actions"
# Unipile advises at least 10-20 s between two actions of one account.
MIN_ACTION_SPACING_SIM_SECONDS = 15.0

P = ParamSpec("P")
R = TypeVar("R")


def tx(fn: Callable[Concatenate[Session, datetime, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn(session, now, *args)`` as a DBOS transaction step: recorded exactly once.

    ``now`` is read from the simulated clock inside the transaction, so it is part of
    the recorded step and a replay sees the same time.
    """
    rt = current()

    def body() -> R:
        session = rt.datasource.sql_session()
        return fn(session, rt.clock.now(), *args, **kwargs)

    return rt.datasource.run_tx_step({"name": fn.__name__}, body)


def workflow_id(s: Scheduled) -> str:
    return f"journey-{s.journey_id}-{s.stage}-{s.seq}"


def enqueue(s: Scheduled) -> None:
    """Enqueue the stage workflow, delayed until its simulated time (idempotent by id)."""
    from outreach.journeys.workflows import run_stage

    delay = current().clock.real_delay_until(s.at)
    # DBOS keeps the release time in whole milliseconds, rounded down: one more keeps a
    # stage from starting before its time (a millisecond is minutes of compressed time).
    delay_seconds = delay + 0.001 if delay > 0 else None
    with (
        SetWorkflowID(workflow_id(s)),
        SetEnqueueOptions(queue_partition_key=str(s.account_id), delay_seconds=delay_seconds),
    ):
        DBOS.enqueue_workflow(ACTIONS_QUEUE, run_stage, s.journey_id, s.stage, s.seq)


def enqueue_all(scheduled: Iterable[Scheduled]) -> None:
    for s in scheduled:
        enqueue(s)


def register(rt: Runtime) -> None:
    """Import the workflow modules so DBOS knows them before launch."""
    import outreach.campaigns.workflows
    import outreach.journeys.workflows  # noqa: F401


def after_launch(rt: Runtime, *, workers: bool) -> None:
    from outreach.campaigns.workflows import sweep

    DBOS.register_queue(
        ACTIONS_QUEUE,
        partition_limiter={
            "limit": 1,
            "period": MIN_ACTION_SPACING_SIM_SECONDS / rt.settings.time_scale,
        },
        polling_interval_sec=rt.settings.poll_seconds,
        on_conflict="always_update",
    )
    if rt.rescaled:
        retime_waiting_stages(rt)
    if not workers:
        return
    if rt.settings.poll_seconds < 1.0:
        # DBOS releases DELAYED workflows once a real second; under a compressed clock
        # that is hours of simulated lateness, so release them as often as we poll.
        sys_db = _dbos_system_database()
        rt.every(rt.settings.poll_seconds, sys_db.transition_delayed_workflows, "release-delayed")
    DBOS.apply_schedules(
        [
            {
                "schedule_name": "outreach-sweep",
                "workflow_fn": sweep,
                "schedule": rt.settings.sweep_cron,
            }
        ]
    )
    if rt.simulator is not None:
        rt.every(
            max(0.05, rt.settings.poll_seconds),
            lambda: deliver_sandbox_replies(rt),
            "sandbox-courier",
        )


def retime_waiting_stages(rt: Runtime) -> int:
    """After a change of time scale, move every delayed stage to its new real time.

    A stage waits for a simulated time, but its delay was converted to real seconds at
    the old scale when it was enqueued.
    """
    from outreach.journeys.repository import waiting_stages

    with rt.sessions() as session:
        waiting = waiting_stages(session)
    for s in waiting:
        epoch_ms = math.ceil(rt.clock.real_epoch_of(s.at) * 1000)
        DBOS.set_workflow_delay(workflow_id(s), delay_until_epoch_ms=epoch_ms)
    return len(waiting)


def _dbos_system_database() -> Any:
    from dbos._dbos import _get_dbos_instance

    return _get_dbos_instance()._sys_db


def deliver_sandbox_replies(rt: Runtime) -> None:
    """Hand the simulator's due replies to the reply service, as a webhook would."""
    from outreach.replies.service import handle_inbound_message

    simulator = rt.simulator
    assert simulator is not None, "only started when the sandbox drives LinkedIn"
    due = simulator.due_inbound()
    for item in due:
        handle_inbound_message(
            rt,
            account_external_id=item.account,
            sender_provider_id=item.provider_id,
            message_id=item.message_id,
            text=item.text,
            at=item.at,
            source="sandbox",
        )
    if due:
        simulator.mark_delivered([item.message_id for item in due])


def start_workflow(fn: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> str:
    handle = DBOS.start_workflow(fn, *args, **kwargs)
    return handle.get_workflow_id()
