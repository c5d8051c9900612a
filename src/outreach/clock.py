"""The simulated clock, shared by every process through its ``clock_state`` row.

``sim = sim_anchor + (real - real_anchor) * scale``, never past ``gate``. With scale 1
the clock is the wall clock and nothing else applies.

Under a compressed clock time is faithful: the clock never runs ahead of the work that
is due. The timekeeper (``SharedClock.hold``, run by every worker beside the governor)
sets the gate to the first moment something must happen (a sender's next action, the
stage a sender is running, a simulated reply); the clock stops there until that work
has been done and the gate moves on. With ``skip`` the clock also jumps to the gate
when nothing is due before it, as Temporal's time-skipping test server does. Every move
re-anchors at the current simulated time, so the clock never jumps back; a restart
keeps the simulated date; a new scale re-anchors too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from outreach.db import create_reader_engine
from outreach.models import ClockState

log = logging.getLogger("outreach.clock")


@dataclass(frozen=True)
class SimClock:
    real_anchor: float
    sim_anchor: float
    scale: float
    real_time: Callable[[], float] = time.time
    gate: float | None = None  # simulated epoch the clock does not pass

    def now(self) -> datetime:
        return self.at_real(self.real_time())

    def at_real(self, real_epoch: float) -> datetime:
        return datetime.fromtimestamp(self._sim(real_epoch), UTC)

    def _sim(self, real_epoch: float) -> float:
        sim = self.sim_anchor + (real_epoch - self.real_anchor) * self.scale
        if self.gate is not None:
            sim = min(sim, max(self.gate, self.sim_anchor))
        return sim

    def real_epoch_of(self, sim_time: datetime) -> float:
        return self.real_anchor + (sim_time.timestamp() - self.sim_anchor) / self.scale

    def real_delay_until(self, sim_time: datetime) -> float:
        """Real seconds from now until ``sim_time`` if the clock runs freely (0 if passed)."""
        return max(0.0, self.real_epoch_of(sim_time) - self.real_time())

    def real_seconds(self, sim_span: timedelta) -> float:
        return sim_span.total_seconds() / self.scale


def wall_now() -> datetime:
    """The wall clock, for what is timed in a person's hours (sessions, keys, a draft's
    deadline), never the simulated one."""
    return datetime.now(UTC)


def _state_columns() -> sa.Select[float, float, float, float | None]:
    return sa.select(
        ClockState.real_anchor, ClockState.sim_anchor, ClockState.scale, ClockState.gate
    ).where(ClockState.id == 1)


@dataclass
class SharedClock:
    """The clock as stored: read on each use under a compressed clock (another process
    may have moved its gate), fixed at scale 1."""

    engine: Engine
    first: SimClock
    real_time: Callable[[], float] = time.time
    _held: dict[tuple[object, datetime], float] = field(default_factory=dict)
    _let_go: set[tuple[object, datetime]] = field(default_factory=set)
    _reader: Engine | None = None

    def __post_init__(self) -> None:
        self._reader = create_reader_engine(self.engine)

    @property
    def scale(self) -> float:
        return self.first.scale

    @property
    def real_anchor(self) -> float:
        return self.current().real_anchor

    @property
    def sim_anchor(self) -> float:
        return self.current().sim_anchor

    def current(self) -> SimClock:
        if self.first.scale == 1:
            return self.first
        assert self._reader is not None
        with self._reader.connect() as conn:
            row = conn.execute(_state_columns()).one_or_none()
        if row is None:
            return self.first
        real_anchor, sim_anchor, scale, gate = row
        return SimClock(real_anchor, sim_anchor, scale, self.real_time, gate)

    def now(self) -> datetime:
        return self.current().now()

    def at_real(self, real_epoch: float) -> datetime:
        return self.current().at_real(real_epoch)

    def real_epoch_of(self, sim_time: datetime) -> float:
        return self.current().real_epoch_of(sim_time)

    def real_delay_until(self, sim_time: datetime) -> float:
        return self.current().real_delay_until(sim_time)

    def real_seconds(self, sim_span: timedelta) -> float:
        return self.first.real_seconds(sim_span)

    def hold(self, due: list[tuple[object, datetime]], *, skip: bool, limit: float = 20.0) -> bool:
        """Gate the clock at the first of ``due`` (keyed pieces of work and their times).

        A piece of work that has held the clock for ``limit`` real seconds is let go of
        (it is stuck: a lost workflow, a dead worker; the sweep's doctor repairs it), with
        a warning. With ``skip``, jump to the gate when it lies ahead. Whether it jumped.
        """
        if self.first.scale == 1:
            return False
        real = self.real_time()
        held_now: dict[tuple[object, datetime], float] = {}
        target: datetime | None = None
        current = self.current()
        sim_now = current.at_real(real)
        for key, at in sorted(due, key=lambda item: item[1]):
            if at > sim_now:
                target = at if target is None else min(target, at)
                break
            since = self._held.get((key, at), real)
            held_now[key, at] = since
            if real - since < limit:
                target = sim_now
                break
            if (key, at) not in self._let_go:
                self._let_go.add((key, at))
                log.warning(
                    "%s has held the simulated clock for %.0f s; letting time go on",
                    key,
                    real - since,
                )
        self._held = held_now
        self._let_go &= set(held_now)
        return self._set_gate(target, skip=skip)

    def _set_gate(self, target: datetime | None, *, skip: bool) -> bool:
        """Move the gate to ``target`` (jumping there with ``skip``); whether it jumped."""
        gate = None if target is None else target.timestamp()
        seen = self.current()  # most rounds change nothing: no write lock for them
        seen_now = seen._sim(self.real_time())
        if gate is not None:
            gate = max(gate, seen_now)
        if gate == seen.gate and not (skip and gate is not None and gate > seen_now):
            return False
        with self.engine.begin() as conn:
            row = conn.execute(_state_columns().with_for_update()).one_or_none()
            if row is None:
                return False
            real_anchor, sim_anchor, scale, old_gate = row
            state = SimClock(real_anchor, sim_anchor, scale, self.real_time, old_gate)
            real = self.real_time()
            sim = state._sim(real)
            if gate is not None:
                gate = max(gate, sim)
            jump = skip and gate is not None and gate > sim
            if gate == state.gate and not jump:
                return False
            conn.execute(
                sa.update(ClockState)
                .where(ClockState.id == 1)
                .values(real_anchor=real, sim_anchor=gate if jump else sim, gate=gate)
            )
        return jump


def load_clock(factory: sessionmaker[Session], scale: float | None) -> SharedClock:
    """Read the stored anchor, creating it on first use and re-anchoring on a new scale.

    ``scale=None`` reads the clock as it is (a tool beside a running server must not
    change the server's clock).
    """
    return load_clock_state(factory, scale)[0]


def load_clock_state(
    factory: sessionmaker[Session], scale: float | None
) -> tuple[SharedClock, bool]:
    """The clock, and whether it was re-anchored for a new scale just now."""
    with factory() as session, session.begin():
        state = session.execute(sa.select(ClockState).with_for_update()).scalar_one_or_none()
        now = time.time()
        rescaled = False
        if state is None:
            state = ClockState(id=1, real_anchor=now, sim_anchor=now, scale=scale or 1.0)
            session.add(state)
        elif scale is not None and state.scale != scale:
            current = SimClock(state.real_anchor, state.sim_anchor, state.scale, gate=state.gate)
            state.real_anchor, state.sim_anchor = now, current.at_real(now).timestamp()
            state.scale, state.gate = scale, None
            rescaled = True
        clock = SimClock(state.real_anchor, state.sim_anchor, state.scale, gate=state.gate)
        engine = session.get_bind()
    assert isinstance(engine, Engine)
    return SharedClock(engine, replace(clock)), rescaled
