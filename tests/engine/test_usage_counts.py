"""A sender's usage counted in the database (today, the rolling week, in its own time zone)
equals what the governor counts from the same actions (``History``), across DST changes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.accounts import pacing
from outreach.accounts.governor import Action, Done, History
from outreach.db import create_engine
from outreach.migrations import upgrade
from outreach.models import Account, SenderAction

# Around the end of daylight saving time in New York (1 Nov 2026) and in Europe (25 Oct).
START = datetime(2026, 10, 20, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Paris", "Asia/Kolkata"])
def test_usage_counts_match_the_governors_history(database_url: str, zone: str) -> None:
    engine = create_engine(database_url)
    upgrade(engine)
    rng = random.Random(zone)
    kinds = [Action.INVITATION, Action.MESSAGE, Action.VIEW]
    try:
        with Session(engine) as session, session.begin():
            account = Account(
                name="Tz", provider="sandbox", external_id="tz", timezone=zone, created_at=START
            )
            session.add(account)
            session.flush()
            times = [START + timedelta(minutes=rng.randint(0, 20 * 24 * 60)) for _ in range(600)]
            done = [Done(rng.choice(kinds), at, None) for at in times]
            session.add_all(
                SenderAction(account_id=account.id, kind=d.action.value, at=d.at) for d in done
            )
        with Session(engine) as session:
            account = session.scalars(sa.select(Account)).one()
            hours = pacing.working_hours(account)
            seen = History.of(done, hours)
            for _ in range(40):
                now = START + timedelta(minutes=rng.randint(0, 21 * 24 * 60))
                day = hours.local_day(now)
                counted = pacing.counts_today_and_week(session, account, now)
                for kind in kinds:
                    expected = (seen.per_day[kind, day], seen.in_week(kind, day))
                    assert counted.get(kind, (0, 0)) == expected, (now, kind)
    finally:
        engine.dispose()
