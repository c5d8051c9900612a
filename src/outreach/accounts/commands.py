"""What a person (API, dashboard, CLI) does to sender accounts. Each commits, then answers."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from outreach.accounts import status
from outreach.accounts.repository import get_account, list_accounts, lock_sender
from outreach.accounts.schemas import AccountCreate, AccountOut
from outreach.errors import Conflict, InvalidInput
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
            invite_gap_min_s=round(data.invite_gap_min_minutes * 60),
            invite_gap_max_s=round(data.invite_gap_max_minutes * 60),
            status=AccountStatus.ACTIVE,
            created_at=rt.clock.now(),
        )
        session.add(account)
        session.flush()
        return AccountOut.model_validate(account)


def pause_account(
    rt: Runtime, account_id: int, *, reason: str = "paused by a person"
) -> AccountOut:
    """Pause a sender: its journeys hold when their next stage comes due, until resumed."""
    with transaction(rt) as session:
        get_account(session, account_id)
        account = lock_sender(session, account_id)
        status.pause(account, by=PausedBy.PERSON, reason=reason)
        return AccountOut.model_validate(account)


def resume_account(rt: Runtime, account_id: int) -> AccountOut:
    """Mark the sender active, then reschedule the journeys its pause held."""
    with transaction(rt) as session:
        get_account(session, account_id)
        account = lock_sender(session, account_id)
        status.activate(account)
        account.resumes += 1
        defer(
            session,
            Work(
                "outreach.campaigns.workflows:resume_held",
                (None, account_id),
                f"account-{account_id}-resume-{account.resumes}",
            ),
        )
        return AccountOut.model_validate(account)


def get(rt: Runtime, account_id: int) -> AccountOut:
    with rt.sessions() as session:
        return AccountOut.model_validate(get_account(session, account_id))


def list_all(rt: Runtime) -> list[AccountOut]:
    with rt.sessions() as session:
        return [AccountOut.model_validate(a) for a in list_accounts(session)]
