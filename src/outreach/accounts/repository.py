"""Sender account queries, and the sender lock every booking transaction takes first."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.errors import NotFound
from outreach.models import Account, AccountStatus, Journey


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account


def by_external_id(session: Session, external_id: str) -> Account | None:
    return session.execute(
        sa.select(Account).where(Account.external_id == external_id)
    ).scalar_one_or_none()


def list_accounts(session: Session) -> list[Account]:
    return list(session.execute(sa.select(Account).order_by(Account.id)).scalars())


def lock_sender(session: Session, account_id: int) -> Account:
    """Load the sender and hold its row until commit: the first lock of a transaction.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: the foreign-key checks of concurrent
    writes to journeys, slots and events take ``FOR KEY SHARE`` on this row, which that
    mode does not conflict with, so no transaction ever waits to upgrade a share lock
    here. Locks are taken in one order, sender then journey. (SQLite's one write lock,
    taken at BEGIN IMMEDIATE, does this there.)
    """
    return keep_locked(session, session.execute(_locking(account_id)).scalar_one())


def lock_sender_unless_busy(session: Session, account_id: int) -> Account | None:
    """The sender locked as ``lock_sender`` does, or None when another transaction holds
    its row (PostgreSQL's ``SKIP LOCKED``): two workers' governors never queue on one
    sender, each goes on to the next one due."""
    account = session.execute(_locking(account_id, skip_locked=True)).scalar_one_or_none()
    return None if account is None else keep_locked(session, account)


_HELD = "outreach.held_rows"
_Row = TypeVar("_Row")


def keep_locked(session: Session, row: _Row) -> _Row:
    """Keep a locked row in ``session`` until it ends: the identity map holds its objects
    weakly, so without this a later ``session.get`` of a row the caller dropped would
    read it again, one more statement for a row the transaction holds already."""
    session.info.setdefault(_HELD, []).append(row)
    return row


def lock_sender_of(session: Session, journey_id: int) -> Account:
    """``lock_sender`` for the journey's sender, found in the same statement."""
    sender = sa.select(Journey.account_id).where(Journey.id == journey_id).scalar_subquery()
    return keep_locked(session, session.execute(_locking(sender)).scalar_one())


def _locking(
    account_id: int | sa.ScalarSelect[int], *, skip_locked: bool = False
) -> sa.Select[Account]:
    query = sa.select(Account).where(Account.id == account_id)
    return query.with_for_update(key_share=True, skip_locked=skip_locked)


def due_senders(session: Session, now: datetime) -> list[int]:
    """Senders whose governor should look at them now: due, not busy, not paused."""
    query = (
        sa.select(Account.id)
        .where(Account.next_action_at <= now, Account.busy_journey_id.is_(None))
        .where(Account.status != AccountStatus.PAUSED)
        .order_by(Account.next_action_at, Account.id)
    )
    return list(session.execute(query).scalars())


def next_due(session: Session) -> datetime | None:
    """When the first sender the governor waits for is due (``due_senders`` then)."""
    query = sa.select(sa.func.min(Account.next_action_at)).where(
        Account.busy_journey_id.is_(None), Account.status != AccountStatus.PAUSED
    )
    at: datetime | None = session.execute(query).scalar_one()
    return at


def next_actions(session: Session, limit: int = 50) -> list[tuple[int, int | None, datetime]]:
    """The senders' first work due: (sender, the journey it runs or None, when)."""
    at = sa.func.coalesce(Account.busy_since, Account.next_action_at)
    query = (
        sa.select(Account.id, Account.busy_journey_id, at)
        .where(Account.status != AccountStatus.PAUSED, at.is_not(None))
        .order_by(at, Account.id)
        .limit(limit)
    )
    return [(sid, busy, when) for sid, busy, when in session.execute(query)]
