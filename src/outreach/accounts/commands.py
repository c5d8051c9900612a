"""What a person (API, dashboard, CLI) does to sender accounts. Each commits, then answers."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.accounts import pacing, status
from outreach.accounts.repository import get_account, list_accounts, lock_sender
from outreach.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    day_numbers,
    local_time,
)
from outreach.errors import Conflict, InvalidInput
from outreach.journeys.lifecycle import hold_all
from outreach.linkedin.provider import AccountError, AccountState, LinkedInProvider, ProviderError
from outreach.models import Account, AccountStatus, PausedBy
from outreach.runtime import Runtime
from outreach.uow import Work, defer, transaction


def verify_sender(provider: LinkedInProvider, external_id: str) -> None:
    """The provider knows this account and it is connected, or a clear 422 says why not."""
    try:
        state = provider.account_state(external_id)
    except AccountError as exc:
        raise InvalidInput(
            f"LinkedIn account {external_id!r} cannot be used: {exc}",
            details={"external_id": external_id, "code": exc.code},
        ) from exc
    except ProviderError as exc:
        raise InvalidInput(
            f"could not check LinkedIn account {external_id!r} with the provider: {exc}",
            details={"external_id": external_id, "code": exc.code},
        ) from exc
    if state is not AccountState.OK:
        raise InvalidInput(
            f"LinkedIn account {external_id!r} is not connected (its status is {state.value}): "
            "reconnect it at the provider first",
            details={"external_id": external_id, "status": state.value},
        )


def create_account(rt: Runtime, data: AccountCreate) -> AccountOut:
    """Add a sender, once the provider has confirmed its account exists and is connected."""
    driven_by = rt.settings.linkedin_provider
    provider = data.provider or driven_by
    if provider != driven_by:
        raise InvalidInput(
            f"this server drives LinkedIn through {driven_by} (OUTREACH_LINKEDIN_PROVIDER); "
            f"it cannot run a {provider} account"
        )
    if provider == "unipile" and not data.external_id:
        raise InvalidInput("a unipile account needs its Unipile account id (external_id)")
    external_id = data.external_id or f"sandbox-{uuid.uuid4().hex[:10]}"
    verify_sender(rt.provider, external_id)  # outside the transaction: a network call
    with transaction(rt) as session:
        now = rt.clock.now()
        taken = session.execute(
            sa.select(Account.id).where(Account.external_id == external_id)
        ).first()
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
            weekly_message_cap=data.weekly_message_cap,
            daily_view_cap=data.daily_view_cap,
            weekly_view_cap=data.weekly_view_cap,
            invite_gap_min_s=round(data.invite_gap_min_minutes * 60),
            invite_gap_max_s=round(data.invite_gap_max_minutes * 60),
            message_gap_min_s=round(data.message_gap_min_minutes * 60),
            message_gap_max_s=round(data.message_gap_max_minutes * 60),
            warmup_days=data.warmup_days,
            warmup_start=data.warmup_start,
            withdraw_after_days=data.withdraw_after_days,
            status=AccountStatus.ACTIVE,
            created_at=now,
        )
        if data.warmup_days > 0:
            account.warmup_since = pacing.working_hours(account).local_day(now)
        session.add(account)
        session.flush()
        return _out(session, account, now)


_MINUTES = {
    "invite_gap_min_minutes": "invite_gap_min_s",
    "invite_gap_max_minutes": "invite_gap_max_s",
    "message_gap_min_minutes": "message_gap_min_s",
    "message_gap_max_minutes": "message_gap_max_s",
}


def update_account(rt: Runtime, account_id: int, data: AccountUpdate) -> AccountOut:
    """Change a sender's caps, gaps, hours or warm-up: the governor applies them at once
    (it plans just in time, so nothing booked ahead has to move)."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    with transaction(rt) as session:
        get_account(session, account_id)
        account = lock_sender(session, account_id)
        now = rt.clock.now()
        for name, value in changes.items():
            if name in _MINUTES:
                setattr(account, _MINUTES[name], round(value * 60))
            elif name == "work_days":
                account.work_days = day_numbers(value)
            elif name in ("work_start", "work_end"):
                setattr(account, name, local_time(value, changes.get("timezone", account.timezone)))
            else:
                setattr(account, name, value)
        _check_account(account)
        if "warmup_days" in changes and account.warmup_days > 0 and account.warmup_since is None:
            account.warmup_since = pacing.working_hours(account).local_day(now)
        pacing.wake(account, now)
        return _out(session, account, now)


def _check_account(account: Account) -> None:
    """The account's values after a partial change still make sense together."""
    problems = []
    if account.work_start >= account.work_end:
        problems.append("work_start must be before work_end")
    for kind in ("invite", "message"):
        if getattr(account, f"{kind}_gap_min_s") > getattr(account, f"{kind}_gap_max_s"):
            problems.append(f"the {kind} gap's minimum must not exceed its maximum")
    for day, week in (
        ("daily_invite_cap", "weekly_invite_cap"),
        ("daily_message_cap", "weekly_message_cap"),
        ("daily_view_cap", "weekly_view_cap"),
    ):
        if getattr(account, day) > getattr(account, week):
            problems.append(f"{day} must not exceed {week}")
    if problems:
        raise InvalidInput("; ".join(problems))


def _out(session: Session, account: Account, now: datetime) -> AccountOut:
    out = AccountOut.model_validate(account)
    out.governor = pacing.usage(session, account, now)
    return out


def pause_account(
    rt: Runtime, account_id: int, *, reason: str = "paused by a person"
) -> AccountOut:
    """Pause a sender: its waiting journeys are held at once, until it is resumed."""
    with transaction(rt) as session:
        get_account(session, account_id)
        account = lock_sender(session, account_id)
        status.pause(account, by=PausedBy.PERSON, reason=reason)
        now = rt.clock.now()
        hold_all(session, now, why=status.why_paused(account), account_id=account.id)
        return _out(session, account, now)


def resume_account(rt: Runtime, account_id: int) -> AccountOut:
    """Mark the sender active, then reschedule the journeys its pause held."""
    with transaction(rt) as session:
        get_account(session, account_id)
        account = lock_sender(session, account_id)
        status.activate(account)
        pacing.wake(account, rt.clock.now())  # its unheld work too (withdrawals)
        account.resumes += 1
        defer(
            session,
            Work(
                "outreach.campaigns.workflows:resume_held",
                (None, account_id),
                f"account-{account_id}-resume-{account.resumes}",
                attributes={"sender_id": account_id},
            ),
        )
        return _out(session, account, rt.clock.now())


def get(rt: Runtime, account_id: int) -> AccountOut:
    with rt.sessions() as session:
        return _out(session, get_account(session, account_id), rt.clock.now())


def list_all(rt: Runtime) -> list[AccountOut]:
    with rt.sessions() as session:
        now = rt.clock.now()
        return [_out(session, a, now) for a in list_accounts(session)]
