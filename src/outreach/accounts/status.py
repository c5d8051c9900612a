"""A sender's status, changed here and nowhere else.

Active, paused (by a person, or by LinkedIn through an account-level error or an
account-status webhook) or backing off until a time (a provider limit). A person's
pause is theirs to lift; LinkedIn's is lifted when LinkedIn says the account is OK again.
"""

from __future__ import annotations

from datetime import datetime

from outreach.models import Account, AccountStatus, PausedBy

REASON_LIMIT = 2000


def pause(account: Account, *, by: PausedBy, reason: str) -> None:
    """Pause the sender; a person's pause is never replaced by LinkedIn's."""
    person_paused = account.status is AccountStatus.PAUSED and account.paused_by is PausedBy.PERSON
    if person_paused and by is PausedBy.PROVIDER:
        return
    account.status = AccountStatus.PAUSED
    account.paused_by = by
    account.status_reason = reason[:REASON_LIMIT]
    account.paused_until = None


def back_off(account: Account, *, until: datetime, reason: str) -> None:
    """A provider limit: no action until ``until``, then active again by itself."""
    if account.status is AccountStatus.PAUSED:
        return
    account.status = AccountStatus.BACKOFF
    account.paused_by = PausedBy.PROVIDER
    account.status_reason = reason[:REASON_LIMIT]
    account.paused_until = until


def activate(account: Account) -> None:
    account.status = AccountStatus.ACTIVE
    account.paused_by = None
    account.status_reason = None
    account.paused_until = None


def lift_backoff_if_over(account: Account, now: datetime) -> bool:
    """Whether the sender may act now: a back-off that has run out is lifted."""
    if account.status is AccountStatus.BACKOFF:
        if account.paused_until is not None and account.paused_until > now:
            return False
        activate(account)
    return account.status is AccountStatus.ACTIVE


def provider_ok(account: Account) -> bool:
    """LinkedIn says the account works again: lift its pause. Whether it was lifted."""
    if account.status is AccountStatus.PAUSED and account.paused_by is PausedBy.PROVIDER:
        activate(account)
        return True
    return False


def why_paused(account: Account) -> str:
    who = "by a person" if account.paused_by is PausedBy.PERSON else "by LinkedIn"
    return (
        f"sender paused {who}: {account.status_reason}"
        if account.status_reason
        else f"sender paused {who}"
    )
