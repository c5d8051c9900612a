"""Sender accounts: create, read, pause and resume."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.accounts.schemas import AccountCreate
from outreach.errors import Conflict, InvalidInput, NotFound
from outreach.models import Account, AccountStatus


def create_account(
    session: Session, data: AccountCreate, *, now: datetime, driven_by: str = "sandbox"
) -> Account:
    """Add a sender. ``driven_by`` is the provider this server talks to LinkedIn through."""
    provider = data.provider or driven_by
    if provider != driven_by:
        raise InvalidInput(
            f"this server drives LinkedIn through {driven_by} (OUTREACH_LINKEDIN_PROVIDER); "
            f"it cannot run a {provider} account"
        )
    if provider == "unipile" and not data.external_id:
        raise InvalidInput("a unipile account needs its Unipile account id (external_id)")
    external_id = data.external_id or f"sandbox-{uuid.uuid4().hex[:10]}"
    taken = session.execute(sa.select(Account.id).where(Account.external_id == external_id)).first()
    if taken:
        raise Conflict(f"an account with external id {external_id!r} already exists")
    account = Account(
        name=data.name,
        provider=provider,
        external_id=external_id,
        timezone=data.timezone,
        work_start=data.work_start,
        work_end=data.work_end,
        work_days=data.day_numbers(),
        daily_invite_cap=data.daily_invite_cap,
        weekly_invite_cap=data.weekly_invite_cap,
        daily_message_cap=data.daily_message_cap,
        invite_gap_min_s=round(data.invite_gap_min_minutes * 60),
        invite_gap_max_s=round(data.invite_gap_max_minutes * 60),
        status=AccountStatus.ACTIVE,
        created_at=now,
    )
    session.add(account)
    session.flush()
    return account


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account


def list_accounts(session: Session) -> list[Account]:
    return list(session.execute(sa.select(Account).order_by(Account.id)).scalars())


def pause_account(
    session: Session, account_id: int, *, reason: str = "paused by a person"
) -> Account:
    account = get_account(session, account_id)
    account.status = AccountStatus.PAUSED
    account.status_reason = reason
    return account


def resume_account(session: Session, account_id: int) -> Account:
    """Mark the sender active; the caller then starts ``resume_held`` for its journeys."""
    account = get_account(session, account_id)
    account.status = AccountStatus.ACTIVE
    account.status_reason = None
    account.paused_until = None
    return account
