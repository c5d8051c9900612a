"""The durable engine's plumbing: transactions as DBOS steps, starting work, the queue.

A waiting journey is a row (its stage and the time it is due), never a thread, a task or
a DBOS timer: each sender's governor (``accounts/governor.py``) starts the stage it
chooses, when it may, as a workflow on the actions queue (``governor_round``). Under a
compressed clock the same loop keeps time faithful (``clock.SharedClock.hold``). Work
that a transaction asks for (``uow.defer``) is started here, after that transaction
commits.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy.exc as sa_exc
from croniter import croniter
from dbos import DBOS, SetEnqueueOptions, SetWorkflowAttributes, SetWorkflowID
from sqlalchemy.orm import Session

from outreach.queues import ACTIONS_QUEUE, SWEEP_SCHEDULE
from outreach.runtime import Runtime, current
from outreach.uow import Work, take_deferred, transaction

log = logging.getLogger("outreach.engine")

P = ParamSpec("P")
R = TypeVar("R")

# A transaction that failed for the database's sake (pool exhausted, connection lost,
# deadlock, SQLite busy) is run again as a new step, this many times, backing off.
TX_ATTEMPTS = 8
TX_BACKOFF_SECONDS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0)
# Work started from inside a workflow is enqueued in batches of this size, each batch one
# step, and the workflow publishes ``total`` and ``started`` events as it goes.
BATCH = 250
ENQUEUE_THREADS = 8
# How often the journey tallies' deltas are folded (their sums stay a few hundred rows).
TALLY_COMPACT_SECONDS = 10.0
# A round of the governor goes on while time skips ahead to work due, this many times.
GOVERNOR_ROUNDS = 5
GOVERNOR_MIN_WAIT_SECONDS = 0.02
# Under a compressed clock the sweep runs on simulated time, but not more often than this.
SWEEP_MIN_GAP = 5.0


def transient_db_error(exc: BaseException) -> bool:
    """A failure of the database connection or of concurrency, not of our logic."""
    if isinstance(exc, sa_exc.TimeoutError):  # no connection free in the pool
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    return False


def tx(fn: Callable[Concatenate[Session, datetime, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn(session, now, *args)`` as a DBOS transaction step, then start its work."""
    return named_tx(fn.__name__, fn, *args, **kwargs)


def named_tx(
    name: str, fn: Callable[Concatenate[Session, datetime, P], R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """``tx`` as a step called ``name`` (what the runs page shows).

    ``now`` is read from the simulated clock inside the transaction, so it is part of
    the recorded step and a replay sees the same time. The work ``fn`` deferred is part
    of the recorded output too, and is started once the step has committed (again on a
    replay: every piece of work has a business-key id). PostgreSQL runs it READ
    COMMITTED: our transactions take the row locks they need, in one order (sender,
    then journey), instead of relying on SERIALIZABLE's aborts.
    """
    rt = current()
    isolation = "SERIALIZABLE" if rt.settings.is_sqlite else "READ COMMITTED"

    def body() -> tuple[R, list[Work]]:
        session = rt.datasource.sql_session()
        result = fn(session, rt.clock.now(), *args, **kwargs)
        return result, take_deferred(session)

    options: Any = {"name": name, "isolation_level": isolation}
    for attempt in range(TX_ATTEMPTS):
        try:
            result, work = rt.datasource.run_tx_step(options, body)
            break
        except Exception as exc:
            if not transient_db_error(exc) or attempt == TX_ATTEMPTS - 1:
                raise
            log.warning("transaction %s failed (%s); trying again", name, exc)
            time.sleep(TX_BACKOFF_SECONDS[min(attempt, len(TX_BACKOFF_SECONDS) - 1)])
    start_work(work)
    return result


def start_work(work: Sequence[Work]) -> None:
    """Start each piece of work (idempotent by its workflow id)."""
    if not work:
        return
    in_workflow = DBOS.workflow_id is not None and DBOS.step_status is None
    if not in_workflow or len(work) <= 1:
        for item in work:
            _start(item)
        return
    DBOS.set_event("total", len(work))
    for begin in range(0, len(work), BATCH):
        batch = list(work[begin : begin + BATCH])
        start_batch(batch)
        DBOS.set_event("started", begin + len(batch))


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=0.5)
def start_batch(batch: list[Work]) -> None:
    """Start a batch of work, several at a time on PostgreSQL (SQLite has one writer).

    The workflows started are not children of the caller: their ids are business keys,
    so a re-run of this step (a retry, a crash) attaches to what was started already.
    """
    threads = 1 if current().settings.is_sqlite else ENQUEUE_THREADS
    with ThreadPoolExecutor(threads, thread_name_prefix="start-work") as pool:
        list(pool.map(_start, batch))


def _start(work: Work) -> None:
    fn = work.function()
    attributes = getattr(work, "attributes", None)  # work recorded before it had them
    if work.queue is None:
        with SetWorkflowID(work.workflow_id), SetWorkflowAttributes(attributes):
            DBOS.start_workflow(fn, *work.args)
        return
    with (
        SetWorkflowID(work.workflow_id),
        SetWorkflowAttributes(attributes),
        SetEnqueueOptions(queue_partition_key=work.partition),
    ):
        DBOS.enqueue_workflow(work.queue, fn, *work.args)


def register(rt: Runtime) -> None:
    """Import the workflow modules so DBOS knows them before launch."""
    import outreach.campaigns.workflows
    import outreach.journeys.workflows
    import outreach.replies.agent
    import outreach.replies.workflows  # noqa: F401


def after_launch(rt: Runtime, *, workers: bool) -> None:
    DBOS.register_queue(
        ACTIONS_QUEUE,
        worker_concurrency=rt.settings.worker_concurrency,
        # No partitions: the governor starts one stage per sender at a time already, and
        # an unpartitioned queue is much cheaper to poll.
        polling_interval_sec=rt.settings.actions_poll_seconds,
        on_conflict="always_update",
    )
    rt.every(TALLY_COMPACT_SECONDS, TallyFolder(rt).fold, "tallies")
    if not workers:
        return
    _heartbeat(rt)
    _process_webhooks(rt)
    rt.every(
        rt.settings.poll_seconds,
        lambda: governor_round(rt),
        "governor",
        sooner=rt.governor_wanted,
        paced=True,
    )
    _schedule_sweep(rt)
    from outreach.replies.commands import expire_due

    # Drafts expire within a minute of their deadline (sooner when the timeout is short).
    every = max(0.2, min(60.0, rt.settings.draft_timeout_hours * 3600 / 10))
    rt.every(every, lambda: expire_due(rt), "drafts")
    if rt.simulator is not None:
        from outreach.sandbox.courier import deliver_replies

        rt.every(max(0.05, rt.settings.poll_seconds), lambda: deliver_replies(rt), "courier")


def _process_webhooks(rt: Runtime) -> None:
    """A worker processes the stored webhook deliveries (``replies.intake``): at once when
    they came to this process, else on the queue's polling interval. A server without
    workers only stores them, so no stage nor reply slows its answers."""
    from outreach.replies.intake import process_pending
    from outreach.replies.unipile_events import processor

    handle = processor(rt)
    rt.every(
        rt.settings.poll_seconds,
        lambda: process_pending(rt, handle),
        "webhooks",
        sooner=rt.webhooks_wanted,
    )


def before_launch(rt: Runtime) -> None:
    """A worker's first heartbeat, before DBOS recovers its pending workflows (it waits
    for a takeover of this worker in progress elsewhere: ``workers.arrive``)."""
    from outreach import workers

    workers.arrive(rt)


def _heartbeat(rt: Runtime) -> None:
    """Say this worker is alive every ``heartbeat_seconds``; each time, take over any
    worker silent for ``takeover_after_seconds`` (``outreach.workers``)."""
    from outreach import workers

    def beat() -> None:
        workers.heartbeat(rt)
        workers.take_over(rt)

    rt.every(rt.settings.heartbeat_seconds, beat, "heartbeat")


def _schedule_sweep(rt: Runtime) -> None:
    """The sweep on its cron: DBOS's schedule in real time, the simulated clock's otherwise.

    Under a compressed clock the sweep's "every two hours" are simulated hours, or prospects
    added to a running campaign would wait for days of its time. Each firing's workflow id
    is its simulated time, so several processes sharing the clock run it once.
    """
    from outreach.campaigns.workflows import sweep

    if rt.clock.scale == 1:
        DBOS.apply_schedules(
            [
                {
                    "schedule_name": SWEEP_SCHEDULE,
                    "workflow_fn": sweep,
                    "schedule": rt.settings.sweep_cron,
                }
            ]
        )
        return
    if DBOS.get_schedule(SWEEP_SCHEDULE) is not None:
        DBOS.delete_schedule(SWEEP_SCHEDULE)
    thread = threading.Thread(target=_simulated_cron, args=(rt, sweep), name="sweep", daemon=True)
    thread.start()
    rt.threads.append(thread)


def _simulated_cron(rt: Runtime, sweep: Callable[[datetime, Any], None]) -> None:
    """Fire ``sweep`` on the cron's simulated times, at most once per ``SWEEP_MIN_GAP``
    real seconds (two simulated hours can be a few milliseconds of real time)."""
    fire: datetime = croniter(rt.settings.sweep_cron, rt.clock.now()).get_next(datetime)
    while True:
        wait = max(rt.clock.real_delay_until(fire), SWEEP_MIN_GAP)
        if rt.stopping.wait(wait):
            return
        try:
            with SetWorkflowID(f"sweep-{fire:%Y%m%dT%H%M%S}"):
                DBOS.start_workflow(sweep, fire, None)
        except Exception:
            log.exception("the sweep of %s could not start", fire)
        fire = croniter(rt.settings.sweep_cron, max(fire, rt.clock.now())).get_next(datetime)


class TallyFolder:
    """Folds the journey tallies' deltas (``journeys.tallies.compact``), unless no row came
    since its last fold (a delta it misses stays counted, and is folded next time)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.top: int | None = None  # the newest row right after the last fold

    def fold(self) -> int:
        from outreach.journeys import tallies

        with transaction(self.rt) as session:
            if tallies.newest(session) == self.top:
                return 0
            folded = tallies.compact(session)
            self.top = tallies.newest(session)
            return folded


def governor_round(rt: Runtime) -> float:
    """Each sender that is due gets its governor's turn (``lifecycle.dispatch``); then,
    under a compressed clock, the clock is gated at the first work due. The real seconds
    until the next sender is due: the next round comes then (``Runtime.every``)."""
    from outreach.accounts.repository import due_senders, next_due
    from outreach.journeys.lifecycle import dispatch

    for _ in range(GOVERNOR_ROUNDS):
        with rt.sessions() as session:
            due = due_senders(session, rt.clock.now())
        for account_id in due:
            with transaction(rt) as session:
                dispatch(session, rt.clock.now(), account_id)
        # Time skipped ahead to the next work due: its senders' turn comes at once.
        if rt.clock.scale == 1 or not keep_time(rt):
            break
    with rt.sessions() as session:
        at = next_due(session)
    # At least a moment: a sender still due is in another worker's turn, which frees it.
    return max(GOVERNOR_MIN_WAIT_SECONDS, rt.clock.real_delay_until(at)) if at else math.inf


def keep_time(rt: Runtime) -> bool:
    """Gate the simulated clock at the first thing due: a sender's next action or the
    stage it runs, and a reply the simulator is about to deliver. Whether time jumped."""
    from outreach.accounts.repository import next_actions
    from outreach.replies.intake import pending_since

    with rt.sessions() as session:
        due: list[tuple[object, datetime]] = [
            (("sender", sid, busy), at) for sid, busy, at in next_actions(session)
        ]
        if (received := pending_since(session)) is not None:
            due.append((("webhooks",), received))
    if rt.simulator is not None and (reply := rt.simulator.next_inbound_at()) is not None:
        due.append((("reply",), reply))
    return rt.clock.hold(
        due, skip=rt.settings.time_skip, limit=rt.settings.clock_hold_limit_seconds
    )
