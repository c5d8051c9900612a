"""Wiring: settings → database, clock, provider and DBOS, once per process.

DBOS registers workflows on module-level functions, so the workflows reach the
process's ``Runtime`` through ``current()``; it is set by ``start()`` and nowhere else.
Tests and tools may hand ``start`` their own provider or clock.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, SQLAlchemyDatasource
from sqlalchemy.orm import Session, sessionmaker

from outreach.clock import SharedClock, load_clock_state, wall_now
from outreach.config import Settings
from outreach.db import (
    create_dbos_sqlite_engine,
    create_engine,
    make_read_sessionmaker,
    make_sessionmaker,
)
from outreach.linkedin.provider import LinkedInProvider
from outreach.migrations import upgrade

if TYPE_CHECKING:
    from outreach.sandbox.simulator import Simulator

log = logging.getLogger("outreach")

_current: Runtime | None = None


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: sa.Engine
    sessions: sessionmaker[Session]
    clock: SharedClock
    provider: LinkedInProvider
    datasource: SQLAlchemyDatasource
    simulator: Simulator | None = None  # when the sandbox drives LinkedIn
    rescaled: bool = False  # the clock's scale changed at this start
    # Sessions for reading only (pages, API reads): on SQLite never behind the writer.
    reads: sessionmaker[Session] | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    started_at: datetime = field(default_factory=wall_now)  # wall clock, for the heartbeat
    threads: list[threading.Thread] = field(default_factory=list)
    # Set when a sender becomes free (a stage ended): the governor's turn comes at once.
    governor_wanted: threading.Event = field(default_factory=threading.Event)
    # Set when webhook deliveries were stored here: they are processed at once.
    webhooks_wanted: threading.Event = field(default_factory=threading.Event)

    def every(
        self,
        seconds: float,
        task: Callable[[], object],
        name: str,
        *,
        sooner: threading.Event | None = None,
        paced: bool = False,
    ) -> None:
        """Run ``task`` every ``seconds`` on a daemon thread until shutdown, or as soon as
        ``sooner`` is set. A ``paced`` task returns the seconds until it is wanted again:
        it runs again then, if that comes before ``seconds``."""

        def loop() -> None:
            wait = seconds
            while not self.stopping.is_set():
                if sooner is not None:
                    sooner.wait(wait)
                    sooner.clear()
                elif self.stopping.wait(wait):
                    break
                if self.stopping.is_set():
                    break
                wait = seconds
                try:
                    result = task()
                except Exception:
                    log.exception("background task %s failed", name)
                    continue
                if paced and isinstance(result, int | float):
                    wait = max(0.0, min(seconds, float(result)))

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def shutdown(self) -> None:
        self.stopping.set()
        self.governor_wanted.set()
        self.webhooks_wanted.set()
        for thread in self.threads:
            thread.join(timeout=5)


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the Outreach runtime is not started (outreach.runtime.start)")
    return _current


def _build_provider(
    settings: Settings, sessions: sessionmaker[Session], clock: SharedClock
) -> tuple[LinkedInProvider, Simulator | None]:
    if settings.linkedin_provider == "unipile":
        from outreach.linkedin.unipile import UnipileProvider

        return UnipileProvider.from_settings(settings), None
    from outreach.sandbox.simulator import SandboxBehaviour, SandboxProvider, Simulator

    simulator = Simulator(sessions, clock.now, SandboxBehaviour.from_settings(settings))
    return SandboxProvider(simulator), simulator


def dbos_config(settings: Settings) -> DBOSConfig:
    config: DBOSConfig = {
        "name": "outreach",
        "system_database_url": settings.database_url,
        "application_version": settings.app_version,
        "executor_id": settings.executor_id,
        "notification_listener_polling_interval_sec": max(0.01, settings.poll_seconds),
        "scheduler_polling_interval_sec": 5.0,
        "log_level": settings.log_level,
        "sys_db_pool_size": settings.pool_size,
        # No ping before each checkout (a round trip, a third of a stage's statements): a
        # connection lost with a database restart fails once, DBOS retries it, and the
        # pool replaces every connection as old as that one.
        "db_engine_kwargs": {"pool_pre_ping": False},
    }
    if settings.is_sqlite:
        # Our engine: WAL and synchronous=NORMAL, which DBOS's own SQLite engine lacks.
        config["system_database_engine"] = create_dbos_sqlite_engine(settings.database_url)
    return config


def start(
    settings: Settings,
    *,
    workers: bool = True,
    provider: LinkedInProvider | None = None,
    clock: SharedClock | None = None,
    simulator: Simulator | None = None,
) -> Runtime:
    """Migrate, load the clock, launch DBOS and (with ``workers``) the background loops.

    ``provider`` replaces the one the settings name (``simulator``: the simulator behind
    it, whose replies the courier then delivers); ``clock`` the stored simulated clock.
    """
    global _current
    if _current is not None:
        raise RuntimeError("the Outreach runtime is already started in this process")
    engine = create_engine(settings.database_url, pool_size=settings.pool_size)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    rescaled = False
    if clock is None:
        clock, rescaled = load_clock_state(sessions, settings.time_scale)
    if provider is None:
        provider, simulator = _build_provider(settings, sessions, clock)
    DBOS(config=dbos_config(settings))
    datasource = SQLAlchemyDatasource.create(settings.database_url, engine=engine)
    reads = make_read_sessionmaker(engine, pool_size=settings.pool_size)
    rt = Runtime(
        settings, engine, sessions, clock, provider, datasource, simulator, rescaled, reads
    )
    _current = rt
    from outreach import engine as outreach_engine

    try:
        outreach_engine.register(rt)
        if workers:
            outreach_engine.before_launch(rt)
        else:
            DBOS.listen_queues([])
        DBOS.launch()
        outreach_engine.after_launch(rt, workers=workers)
    except BaseException:
        stop()
        raise
    # What starting made (modules, DBOS, SQLAlchemy's caches) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it (160 ms a time,
    # a page's answer held up, measured by bench/pages_1m.py). ``stop`` gives it back.
    gc.freeze()
    return rt


def stop() -> None:
    """Stop the loops, then DBOS, and only then forget the runtime: a stage still running
    meanwhile fails on DBOS (and stays PENDING, recovered at the next start), never on a
    missing runtime (which would leave its workflow in ERROR)."""
    global _current
    rt = _current
    if rt is not None:
        rt.shutdown()
    DBOS.destroy(workflow_completion_timeout_sec=0)
    _current = None
    gc.unfreeze()
    if rt is not None:
        if rt.reads is not None:
            bind = rt.reads.kw["bind"]
            if bind is not rt.engine:
                bind.dispose()
        rt.engine.dispose()
