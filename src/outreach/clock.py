"""The simulated clock.

``sim = sim_anchor + (real - real_anchor) * scale``. The anchor is stored, so a restart
keeps the simulated date; changing the scale re-anchors at the current simulated time
so the clock never jumps. With scale 1 the clock is the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from outreach.models import ClockState


@dataclass(frozen=True)
class SimClock:
    real_anchor: float
    sim_anchor: float
    scale: float
    real_time: Callable[[], float] = time.time

    def now(self) -> datetime:
        return self.at_real(self.real_time())

    def at_real(self, real_epoch: float) -> datetime:
        sim = self.sim_anchor + (real_epoch - self.real_anchor) * self.scale
        return datetime.fromtimestamp(sim, UTC)

    def real_epoch_of(self, sim_time: datetime) -> float:
        return self.real_anchor + (sim_time.timestamp() - self.sim_anchor) / self.scale

    def real_delay_until(self, sim_time: datetime) -> float:
        """Real seconds from now until ``sim_time`` (0 if it has passed)."""
        return max(0.0, self.real_epoch_of(sim_time) - self.real_time())

    def real_seconds(self, sim_span: timedelta) -> float:
        return sim_span.total_seconds() / self.scale


def load_clock(factory: sessionmaker[Session], scale: float | None) -> SimClock:
    """Read the stored anchor, creating it on first use and re-anchoring on a new scale.

    ``scale=None`` reads the clock as it is (a tool beside a running server must not
    change the server's clock).
    """
    return load_clock_state(factory, scale)[0]


def load_clock_state(factory: sessionmaker[Session], scale: float | None) -> tuple[SimClock, bool]:
    """The clock, and whether it was re-anchored for a new scale just now."""
    with factory() as session, session.begin():
        state = session.execute(sa.select(ClockState).with_for_update()).scalar_one_or_none()
        now = time.time()
        rescaled = False
        if state is None:
            state = ClockState(id=1, real_anchor=now, sim_anchor=now, scale=scale or 1.0)
            session.add(state)
        elif scale is not None and state.scale != scale:
            current = SimClock(state.real_anchor, state.sim_anchor, state.scale).at_real(now)
            state.real_anchor, state.sim_anchor, state.scale = now, current.timestamp(), scale
            rescaled = True
        return SimClock(state.real_anchor, state.sim_anchor, state.scale), rescaled
