"""Registering Outreach's webhooks with Unipile: messages, new relations, account status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from outreach.linkedin.unipile_errors import ConfigurationError

if TYPE_CHECKING:
    from outreach.linkedin.unipile import UnipileProvider

WEBHOOK_EVENTS: dict[str, list[str]] = {
    "messaging": ["message_received"],
    "users": ["new_relation"],
    "account_status": [
        "ok",
        "connecting",
        "error",
        "credentials",
        "permissions",
        "stopped",
        "deleted",
        "reconnected",
        "creation_success",
        "creation_fail",
        "sync_success",
    ],
}


def _webhook_source(webhook: Mapping[str, Any]) -> str | None:
    """The source of a listed webhook: its ``source``, else inferred from events or our name.

    The spec's ``Webhook`` object has no ``source`` field, so events tell it apart.
    """
    source = webhook.get("source")
    if isinstance(source, str):
        return source
    events = set(webhook.get("events") or [])
    for candidate, candidate_events in WEBHOOK_EVENTS.items():
        if events & set(candidate_events) or webhook.get("name") == f"outreach-{candidate}":
            return candidate
    return None


def register_webhooks(client: UnipileProvider, request_url: str, secret: str) -> list[str]:
    """Register our three webhooks at ``request_url``; return the ids of those created now.

    Idempotent: a webhook with the same URL and source is left as it is.
    """
    if not secret:
        raise ConfigurationError("a webhook secret is required (OUTREACH_WEBHOOK_SECRET)")
    existing = {
        (webhook.get("request_url"), _webhook_source(webhook)) for webhook in client.list_webhooks()
    }
    headers = [
        {"key": "Content-Type", "value": "application/json"},
        {"key": "Unipile-Auth", "value": secret},
    ]
    created: list[str] = []
    for source, events in WEBHOOK_EVENTS.items():
        if (request_url, source) in existing:
            continue
        body = {
            "request_url": request_url,
            "source": source,
            "name": f"outreach-{source}",
            "format": "json",
            "enabled": True,
            "events": events,
            "headers": headers,
        }
        created.append(client.create_webhook(body))
    return created
