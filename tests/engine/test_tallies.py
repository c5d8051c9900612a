"""The journey tallies the database keeps (migration 0009's triggers) equal the counts
over the journeys and prospects themselves: after inserts, state changes, milestones,
holds, a sender's change, deletions, compactions, and writers racing a compaction."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.sequence import SequenceSpec, Templates
from outreach.db import create_engine, make_sessionmaker, transaction
from outreach.engine import TallyFolder
from outreach.journeys import tallies
from outreach.migrations import upgrade
from outreach.models import (
    Account,
    Campaign,
    Journey,
    JourneyStatus,
    JourneyTally,
    Prospect,
    ReplyIntent,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CAMPAIGNS, SENDERS = 3, 2


def _setup(url: str) -> sa.Engine:
    engine = create_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Account),
            [
                {
                    "id": s,
                    "name": f"S{s}",
                    "provider": "sandbox",
                    "external_id": f"t-{s}",
                    "timezone": "UTC",
                    "status": "active",
                    "created_at": NOW,
                }
                for s in range(1, SENDERS + 1)
            ],
        )
        conn.execute(
            sa.insert(Campaign),
            [
                {
                    "id": c,
                    "name": f"C{c}",
                    "account_id": 1,
                    "status": "active",
                    "sequence": SequenceSpec().model_dump(),
                    "templates": Templates().model_dump(),
                    "created_at": NOW,
                }
                for c in range(1, CAMPAIGNS + 1)
            ],
        )
    return engine


def _add(session: Session, rng: random.Random, n: int) -> None:
    for _ in range(n):
        prospect = Prospect(
            campaign_id=rng.randint(1, CAMPAIGNS),
            public_identifier=f"p-{rng.getrandbits(48):x}",
            fields={},
            created_at=NOW,
        )
        session.add(prospect)
        session.flush()
        if rng.random() < 0.8:
            session.add(
                Journey(
                    campaign_id=prospect.campaign_id,
                    prospect_id=prospect.id,
                    account_id=rng.randint(1, SENDERS),
                    status=JourneyStatus.SCHEDULED,
                    held=rng.random() < 0.1,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


def _change(
    session: Session, rng: random.Random, n: int, *, share: tuple[int, int] = (0, 1)
) -> None:
    """Change ``n`` journeys at random, among those whose id is ``share[0]`` modulo
    ``share[1]`` (writers at once take their own, in id order: no deadlock)."""
    part, parts = share
    ids = [i for i in session.scalars(sa.select(Journey.id)) if i % parts == part]
    for journey_id in sorted(rng.sample(ids, min(n, len(ids)))):
        journey = session.get(Journey, journey_id)
        assert journey is not None
        move = rng.choice(["invite", "accept", "reply", "mark", "end", "hold", "sender", "touch"])
        at = NOW + timedelta(hours=rng.randint(1, 100))
        if move == "invite":
            journey.status, journey.invited_at = JourneyStatus.INVITED, at
        elif move == "accept":
            journey.status, journey.accepted_at = JourneyStatus.CONNECTED, at
        elif move == "reply":
            journey.status, journey.replied_at = JourneyStatus.REPLIED, at
        elif move == "mark":
            journey.reply_intent = rng.choice([None, *ReplyIntent])
        elif move == "end":
            journey.status = rng.choice([JourneyStatus.COMPLETED, JourneyStatus.FAILED])
        elif move == "hold":
            journey.held = not journey.held
        elif move == "sender":
            journey.account_id = SENDERS + 1 - journey.account_id
        else:  # what the tallies do not hold: no delta
            journey.updated_at, journey.attempts = at, journey.attempts + 1


def _remove(session: Session, rng: random.Random, n: int) -> None:
    ids = session.scalars(sa.select(Prospect.id)).all()
    for prospect_id in rng.sample(ids, min(n, len(ids))):
        session.execute(sa.delete(Journey).where(Journey.prospect_id == prospect_id))
        session.execute(sa.delete(Prospect).where(Prospect.id == prospect_id))


def _truth(session: Session) -> tuple[dict[int, tallies.Counts], dict[int, tallies.Counts]]:
    per_campaign: dict[int, tallies.Counts] = {}
    per_sender: dict[int, tallies.Counts] = {}
    for journey in session.scalars(sa.select(Journey)):
        for found, key in ((per_campaign, journey.campaign_id), (per_sender, journey.account_id)):
            counts = found.setdefault(key, tallies.Counts())
            counts.journeys += 1
            counts.per_status[journey.status] = counts.per_status.get(journey.status, 0) + 1
            counts.invited += journey.invited_at is not None
            counts.accepted += journey.accepted_at is not None
            counts.replied += journey.replied_at is not None
            counts.positive += journey.reply_intent is ReplyIntent.INTERESTED
            counts.held += journey.held
    for campaign_id, n in session.execute(
        sa.select(Prospect.campaign_id, sa.func.count()).group_by(Prospect.campaign_id)
    ):
        per_campaign.setdefault(campaign_id, tallies.Counts()).prospects = n
    return per_campaign, per_sender


def _nonzero(found: dict[int, tallies.Counts]) -> dict[int, tallies.Counts]:
    for counts in found.values():
        counts.per_status = {k: v for k, v in counts.per_status.items() if v}
    return {k: c for k, c in found.items() if c != tallies.Counts()}


def _check(session: Session) -> None:
    per_campaign, per_sender = _truth(session)
    assert _nonzero(tallies.by_campaign(session)) == _nonzero(per_campaign)
    assert _nonzero(tallies.by_sender(session)) == _nonzero(per_sender)


def test_tallies_follow_every_change(database_url: str) -> None:
    engine = _setup(database_url)
    factory = make_sessionmaker(engine)
    rng = random.Random(11)
    try:
        for round_ in range(6):
            with transaction(factory) as session:
                _add(session, rng, 40)
            with transaction(factory) as session:
                _change(session, rng, 60)
            with transaction(factory) as session:
                _remove(session, rng, 5)
            with factory() as session:
                _check(session)
            if round_ % 2:
                with transaction(factory) as session:
                    assert tallies.compact(session) > 0
                with factory() as session:
                    _check(session)
                    rows = session.execute(
                        sa.select(sa.func.count()).select_from(JourneyTally)
                    ).scalar_one()
                # One row per (campaign, sender, state) at most, and one of prospects each.
                assert rows <= CAMPAIGNS * (SENDERS * len(JourneyStatus) + 1)
    finally:
        engine.dispose()


def test_writers_racing_a_compaction_lose_nothing(database_url: str) -> None:
    engine = _setup(database_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        _add(session, random.Random(3), 100)
    stop = threading.Event()
    failures: list[BaseException] = []

    def write(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(25):
                with transaction(factory) as session:
                    _change(session, rng, 3, share=(seed % 2, 2))
                    _add(session, rng, 2)
        except BaseException as exc:
            failures.append(exc)

    def fold() -> None:
        try:
            while not stop.is_set():
                with transaction(factory) as session:
                    tallies.compact(session)
        except BaseException as exc:
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(seed,)) for seed in (1, 2)]
    folder = threading.Thread(target=fold)
    try:
        folder.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=120)
        stop.set()
        folder.join(timeout=60)
        assert not failures, failures
        with factory() as session:
            _check(session)
    finally:
        stop.set()
        engine.dispose()


def test_the_folder_folds_only_when_rows_came(database_url: str) -> None:
    engine = _setup(database_url)
    factory = make_sessionmaker(engine)
    rng = random.Random(5)
    folder = TallyFolder(SimpleNamespace(sessions=factory))  # type: ignore[arg-type]
    try:
        with transaction(factory) as session:
            _add(session, rng, 30)
        assert folder.fold() > 0
        assert folder.fold() == 0  # nothing new: no write at all
        with transaction(factory) as session:
            _change(session, rng, 10)
        assert folder.fold() > 0
        with factory() as session:
            _check(session)
    finally:
        engine.dispose()
