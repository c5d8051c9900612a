"""The simulated clock: its arithmetic, and the anchor kept in the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session, sessionmaker

import outreach.clock
from outreach import migrations
from outreach.clock import SimClock, load_clock, load_clock_state
from outreach.db import create_engine, make_sessionmaker

T0 = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC
DAY = 86_400.0


def fixed(epoch: float) -> SimClock:
    """A clock anchored at T0 (real and simulated), read at real time ``epoch``."""
    return SimClock(T0, T0, 1.0, real_time=lambda: epoch)


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --- arithmetic -------------------------------------------------------------------------


def test_scale_one_is_the_wall_clock() -> None:
    clock = fixed(T0 + 123.5)
    assert clock.now() == utc(T0 + 123.5)
    assert clock.now().tzinfo is UTC
    assert clock.real_seconds(timedelta(minutes=5)) == 300
    assert clock.real_delay_until(utc(T0 + 200)) == pytest.approx(76.5)


def test_scale_one_with_an_offset_is_the_wall_clock_shifted() -> None:
    # A clock once run faster keeps its lead when brought back to scale 1.
    clock = SimClock(T0, T0 + 3 * DAY, 1.0, real_time=lambda: T0 + 60)
    assert clock.now() == utc(T0 + 3 * DAY + 60)
    assert clock.real_delay_until(utc(T0 + 3 * DAY + 120)) == pytest.approx(60)


def test_the_default_real_time_is_the_system_clock() -> None:
    now = time.time()
    assert abs(SimClock(now, now, 1.0).now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_scale_86400_makes_a_real_second_a_day() -> None:
    clock = SimClock(T0, T0, DAY, real_time=lambda: T0 + 1)
    assert clock.now() == utc(T0 + DAY)
    assert clock.at_real(T0 + 2.5) == utc(T0 + 2.5 * DAY)
    assert clock.real_seconds(timedelta(days=26)) == pytest.approx(26)
    # The acceptance check two simulated days after "now" is one real second away.
    assert clock.real_delay_until(clock.now() + timedelta(days=1)) == pytest.approx(1)
    assert clock.real_delay_until(clock.now() + timedelta(minutes=18)) == pytest.approx(
        0.0125, abs=1e-6
    )


def test_real_and_simulated_times_convert_both_ways() -> None:
    clock = SimClock(T0, T0 + 40 * DAY, 3600.0, real_time=lambda: T0)
    for real in (T0 - 10, T0, T0 + 0.25, T0 + 7200):
        assert clock.real_epoch_of(clock.at_real(real)) == pytest.approx(real, abs=1e-5)


@pytest.mark.parametrize("scale", [1.0, 60.0, DAY])
def test_a_time_in_the_past_needs_no_delay(scale: float) -> None:
    clock = SimClock(T0, T0, scale, real_time=lambda: T0 + 10)
    assert clock.real_delay_until(clock.now()) == 0
    assert clock.real_delay_until(clock.now() - timedelta(seconds=1)) == 0
    assert clock.real_delay_until(utc(0)) == 0


# --- the stored anchor ------------------------------------------------------------------


class FakeTime:
    """Stands in for the ``time`` module inside ``outreach.clock``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def real_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime(T0)
    monkeypatch.setattr(outreach.clock, "time", SimpleNamespace(time=fake.time))
    return fake


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    engine = create_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def sessions(db_file: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(db_file)
    yield make_sessionmaker(engine)
    engine.dispose()


def anchors(clock: SimClock) -> tuple[float, float, float]:
    return clock.real_anchor, clock.sim_anchor, clock.scale


def test_first_use_anchors_at_the_wall_clock(
    sessions: sessionmaker[Session], real_time: FakeTime
) -> None:
    clock, rescaled = load_clock_state(sessions, DAY)
    assert anchors(clock) == (T0, T0, DAY) and not rescaled


def test_first_use_without_a_scale_is_real_time(
    sessions: sessionmaker[Session], real_time: FakeTime
) -> None:
    assert anchors(load_clock(sessions, None)) == (T0, T0, 1.0)


def test_the_anchor_persists_across_calls_and_restarts(
    sessions: sessionmaker[Session], db_file: str, real_time: FakeTime
) -> None:
    first = load_clock(sessions, DAY)
    real_time.now = T0 + 30
    assert anchors(load_clock(sessions, DAY)) == anchors(first)
    # A new process: a new engine on the same file finds the same anchor.
    engine = create_engine(db_file)
    try:
        again, rescaled = load_clock_state(make_sessionmaker(engine), DAY)
    finally:
        engine.dispose()
    assert anchors(again) == anchors(first) and not rescaled
    assert again.at_real(T0 + 30) == utc(T0 + 30 * DAY)


def test_a_new_scale_re_anchors_without_a_jump(
    sessions: sessionmaker[Session], real_time: FakeTime
) -> None:
    slow = load_clock(sessions, 1.0)
    real_time.now = T0 + 100
    fast, rescaled = load_clock_state(sessions, DAY)
    assert rescaled
    assert anchors(fast) == (T0 + 100, T0 + 100, DAY)
    assert fast.at_real(T0 + 100) == slow.at_real(T0 + 100)  # no jump at the switch
    assert fast.at_real(T0 + 101) == utc(T0 + 100 + DAY)  # a day per real second after it
    # Back to real time 2 real seconds later: the two simulated days gained are kept.
    real_time.now = T0 + 102
    back, rescaled = load_clock_state(sessions, 1.0)
    assert rescaled
    assert anchors(back) == (T0 + 102, T0 + 100 + 2 * DAY, 1.0)
    assert back.at_real(T0 + 102) == fast.at_real(T0 + 102)
    # And the same scale again changes nothing.
    real_time.now = T0 + 500
    same, rescaled = load_clock_state(sessions, 1.0)
    assert anchors(same) == anchors(back) and not rescaled


def test_reading_without_a_scale_never_re_anchors(
    sessions: sessionmaker[Session], real_time: FakeTime
) -> None:
    running = load_clock(sessions, DAY)
    real_time.now = T0 + 5
    seen, rescaled = load_clock_state(sessions, None)
    assert anchors(seen) == anchors(running) and not rescaled
    assert anchors(load_clock(sessions, DAY)) == anchors(running)


def test_the_loaded_clock_reads_the_real_system_time(sessions: sessionmaker[Session]) -> None:
    clock = load_clock(sessions, 1.0)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
