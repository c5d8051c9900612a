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


# What LinkedIn's account-level answers mean, in plain words, for the dashboard.
PLAIN_REASONS = {
    "account_restricted": "LinkedIn restricted this account",
    "checkpoint_error": "LinkedIn asks for a security check (a checkpoint): sign in to LinkedIn",
    "invalid_checkpoint_solution": "LinkedIn's security check (a checkpoint) failed",
    "disconnected_account": "the account is disconnected from LinkedIn: reconnect it",
    "expired_credentials": "the account's LinkedIn session expired: reconnect it",
    "invalid_credentials": "LinkedIn refused the account's credentials: reconnect it",
    "too_many_requests": "LinkedIn said too many requests (429): backing off until tomorrow",
    "limit_exceeded": "LinkedIn's limit for this account was reached: backing off until tomorrow",
    "CREDENTIALS": (
        "LinkedIn needs the account's credentials again (a checkpoint or an expired session)"
    ),
    "ERROR": "the account is in error at the provider",
    "STOPPED": "the account was stopped at the provider",
    "DELETED": "the account was deleted at the provider",
    "PERMISSIONS": "the account lacks permissions at the provider",
    "CREATION_FAIL": "the account could not be connected at the provider",
}


def plain_reason(code: str | None, error: str) -> str:
    """A provider's account-level error as a person would say it, with the details after."""
    plain = PLAIN_REASONS.get(code or "")
    return f"{plain} ({code}: {error})" if plain else f"{code or 'account error'}: {error}"
