"""What Unipile's error answers mean, as one table read like the spec's error list.

The slug in Unipile's body (``errors/<slug>``) picks the exception class through
``ERROR_TABLE``; the HTTP status decides only when the slug is unknown.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from outreach.linkedin.provider import (
    AccountError,
    ProviderError,
    RecipientError,
    TransientError,
)


class ConfigurationError(AccountError):
    """Our own setup is wrong (bad API key or DSN): nothing works until a person fixes it.

    An account error for the engine: the sender is paused with this reason, its journeys
    held, until a person fixes the set-up and resumes it.
    """


class OutcomeUnknown(TransientError):
    """An action request failed after it may have reached Unipile; it was not re-sent.

    Check the provider's state (sent invitations, chat messages) before trying again.
    """


class AlreadyDone(ProviderError):
    """Unipile says the action was already performed (e.g. already invited or connected)."""


class Kind(enum.Enum):
    """What an error means for the caller; each kind maps to one exception class."""

    TRANSIENT = "transient"
    ACCOUNT = "account"
    ACCOUNT_LIMIT = "account_limit"  # lifts by itself: back off until tomorrow
    RECIPIENT = "recipient"
    ALREADY_DONE = "already_done"
    NOT_FOUND = "not_found"  # each call says what a 404 means for it
    CONFIGURATION = "configuration"
    REJECTED = "rejected"  # the request as sent was refused; retrying cannot help


# Unipile's error slugs (spec section "errors", unipile-api.md §5), grouped by HTTP status.
# Slugs absent here fall back to their status (see ``_kind_of``).
ERROR_TABLE: dict[str, Kind] = {
    # 401
    "missing_credentials": Kind.CONFIGURATION,  # also a wrong or revoked API key
    "disconnected_account": Kind.ACCOUNT,
    "expired_credentials": Kind.ACCOUNT,
    "invalid_credentials": Kind.ACCOUNT,
    "checkpoint_error": Kind.ACCOUNT,
    "multiple_sessions": Kind.ACCOUNT,
    "disconnected_feature": Kind.ACCOUNT,
    # 403
    "account_restricted": Kind.ACCOUNT,
    "feature_not_subscribed": Kind.ACCOUNT,
    "subscription_required": Kind.ACCOUNT,
    # 404
    "resource_not_found": Kind.NOT_FOUND,
    "invalid_resource_identifier": Kind.NOT_FOUND,
    # 422, account
    "invalid_account": Kind.ACCOUNT,
    "account_configuration_error": Kind.ACCOUNT,
    "cannot_resend_yet": Kind.ACCOUNT_LIMIT,
    "cannot_resend_within_24hrs": Kind.ACCOUNT_LIMIT,
    "limit_exceeded": Kind.ACCOUNT_LIMIT,
    "insufficient_credits": Kind.ACCOUNT_LIMIT,
    # 422, prospect
    "invalid_recipient": Kind.RECIPIENT,
    "no_connection_with_recipient": Kind.RECIPIENT,
    "blocked_recipient": Kind.RECIPIENT,
    "not_allowed_inmail": Kind.RECIPIENT,
    "user_unreachable": Kind.RECIPIENT,
    "cannot_invite_attendee": Kind.RECIPIENT,
    "recipient_rejected": Kind.RECIPIENT,
    # 422, done before (``already_connected`` is seen in newer clients, not in the spec)
    "already_invited_recently": Kind.ALREADY_DONE,
    "action_already_performed": Kind.ALREADY_DONE,
    "already_connected": Kind.ALREADY_DONE,
    # 422 / 429 / 5xx, try again later
    "provider_unreachable": Kind.TRANSIENT,
    "realtime_client_not_initialized": Kind.TRANSIENT,
    "too_many_requests": Kind.TRANSIENT,
    "unexpected_error": Kind.TRANSIENT,
    "provider_error": Kind.TRANSIENT,
    "no_client_session": Kind.TRANSIENT,
    "network_down": Kind.TRANSIENT,
    "service_unavailable": Kind.TRANSIENT,
    "request_timeout": Kind.TRANSIENT,
    # 501
    "feature_not_implemented": Kind.REJECTED,
}


def kind_of(status: int, slug: str | None) -> Kind:
    """The meaning of an error answer: its slug first, its HTTP status otherwise."""
    if slug in ERROR_TABLE:
        return ERROR_TABLE[slug]
    if status in (401, 403):
        return Kind.ACCOUNT
    if status == 404:
        return Kind.NOT_FOUND
    if status in (408, 429) or (status >= 500 and status != 501):
        return Kind.TRANSIENT
    return Kind.REJECTED


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_body(response: httpx.Response) -> tuple[str | None, str]:
    """The slug and a short human text from an error answer (which may not be JSON)."""
    try:
        body = response.json()
    except ValueError:
        return None, response.reason_phrase
    if not isinstance(body, dict):
        return None, response.reason_phrase
    raw_type = body.get("type")
    slug = raw_type.removeprefix("errors/") if isinstance(raw_type, str) else None
    text = " — ".join(str(body[key]) for key in ("title", "detail") if body.get(key))
    return slug, text[:300] or response.reason_phrase


def error_for(
    response: httpx.Response, where: str, *, idempotent: bool, on_404: Kind
) -> ProviderError:
    """The exception for an error answer, chosen through ``ERROR_TABLE``."""
    slug, text = error_body(response)
    kind = kind_of(response.status_code, slug)
    if kind is Kind.NOT_FOUND:
        # "Account not found" is the sender's problem, whatever the call was about.
        kind = Kind.ACCOUNT if "account not found" in text.lower() else on_404
    message = f"{where} -> {response.status_code} {slug or ''}: {text}".replace(" :", ":")
    if kind is Kind.TRANSIENT:
        wait = retry_after(response)
        if idempotent or response.status_code == 429:  # a 429 was not performed
            return TransientError(message, code=slug, retry_after=wait)
        return OutcomeUnknown(message, code=slug, retry_after=wait)
    if kind is Kind.ACCOUNT:
        return AccountError(message, code=slug)
    if kind is Kind.ACCOUNT_LIMIT:
        return AccountError(message, code=slug, until_tomorrow=True)
    exception_class = {
        Kind.RECIPIENT: RecipientError,
        Kind.ALREADY_DONE: AlreadyDone,
        Kind.CONFIGURATION: ConfigurationError,
    }.get(kind, ProviderError)
    return exception_class(message, code=slug)
