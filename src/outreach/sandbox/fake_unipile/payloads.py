"""The JSON shapes of Unipile's v1 API and webhooks, built from the simulator's records.

Field names, types and enums follow the official spec (``openapi-v1.yaml``) and the
real captures summarised in ``unipile-api.md``: REST flags are 0/1 numbers, webhook
flags are booleans, times are ISO-8601 UTC with milliseconds.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from outreach.linkedin.provider import AccountState, Connection
from outreach.sandbox.people import Person
from outreach.sandbox.records import (
    Acceptance,
    ChatRecord,
    InvitationRecord,
    MessageRecord,
    ProfileView,
)

JSONObject = dict[str, Any]
FOLDERS = ["INBOX", "INBOX_LINKEDIN_CLASSIC"]
ATTENDEE_PREFIX = "sbxatt-"

# The account's health as ``sources[].status``. A restriction has no status of its own
# in Unipile; PERMISSIONS is the closest and reads as "restricted" to our client.
_SOURCE_STATUS = {
    AccountState.OK: "OK",
    AccountState.CREDENTIALS: "CREDENTIALS",
    AccountState.RESTRICTED: "PERMISSIONS",
    AccountState.CONNECTING: "CONNECTING",
    AccountState.ERROR: "ERROR",
}


def iso(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.sssZ``, Unipile's time format."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The offset inside an opaque cursor; ``ValueError`` if it is not one of ours."""
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"invalid cursor {cursor!r}") from exc
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"invalid cursor {cursor!r}")
    return offset


def page(items: list[JSONObject], kind: str, limit: int, cursor: str | None) -> JSONObject:
    """One page of a list envelope ``{object, items, cursor}``."""
    start = decode_cursor(cursor) if cursor else 0
    end = start + limit
    next_cursor = encode_cursor(end) if end < len(items) else None
    return {"object": kind, "items": items[start:end], "cursor": next_cursor}


def error_body(status: int, code: str, title: str, detail: str | None = None) -> JSONObject:
    body: JSONObject = {"status": status, "type": f"errors/{code}", "title": title}
    if detail:
        body["detail"] = detail
    return body


def attendee_id(provider_id: str) -> str:
    return ATTENDEE_PREFIX + provider_id


def account(account_id: str, state: AccountState, own: Person, created_at: datetime) -> JSONObject:
    return {
        "object": "Account",
        "id": account_id,
        "type": "LINKEDIN",
        "name": own.full_name,
        "created_at": iso(created_at),
        "groups": [],
        "connection_params": {
            "im": {
                "id": own.provider_id,
                "publicIdentifier": own.slug,
                "username": own.full_name,
                "premiumId": None,
                "premiumContractId": None,
                "premiumFeatures": [],
                "organizations": [],
            }
        },
        "sources": [{"id": f"{account_id}_MESSAGING", "status": _SOURCE_STATUS[state]}],
    }


def own_profile(own: Person) -> JSONObject:
    return {
        "object": "AccountOwnerProfile",
        "provider": "LINKEDIN",
        "provider_id": own.provider_id,
        "entity_urn": f"urn:li:fsd_profile:{own.provider_id}",
        "object_urn": f"urn:li:member:{own.member_number}",
        "first_name": own.first_name,
        "last_name": own.last_name,
        "profile_picture_url": None,
        "public_profile_url": own.profile_url,
        "public_identifier": own.slug,
        "headline": own.headline,
        "location": own.location,
        "email": f"{own.slug}@example.com",
        "premium": False,
        "open_profile": False,
        "organizations": [],
        "recruiter": None,
        "sales_navigator": None,
    }


def user_profile(view: ProfileView) -> JSONObject:
    person = view.person
    connected = view.connection is Connection.CONNECTED
    body: JSONObject = {
        "object": "UserProfile",
        "provider": "LINKEDIN",
        "provider_id": person.provider_id,
        "public_identifier": person.slug,
        "member_urn": str(person.member_number),
        "first_name": person.first_name,
        "last_name": person.last_name,
        "headline": person.headline,
        "location": person.location,
        "websites": [],
        "public_profile_url": person.profile_url,
        "is_relationship": connected,
        "network_distance": "FIRST_DEGREE" if connected else "SECOND_DEGREE",
        "is_self": False,
        "is_open_profile": False,
        "is_premium": False,
        "follower_count": 100 + person.member_number % 4900,
        "connections_count": 50 + person.member_number % 950,
        "shared_connections_count": person.member_number % 30,
    }
    if view.invitation_status is not None:
        body["invitation"] = {"type": "SENT", "status": view.invitation_status}
    return body


def sent_invitation(record: InvitationRecord, person: Person, now: datetime) -> JSONObject:
    return {
        "object": "InvitationSent",
        "id": record.invitation_id,
        "date": _sent_ago(record.sent_at, now),
        "parsed_datetime": iso(record.sent_at),
        "invitation_text": record.note,
        "invited_user": person.full_name,
        "invited_user_id": person.provider_id,
        "invited_user_public_id": person.slug,
        "invited_user_description": person.headline,
    }


def _sent_ago(sent_at: datetime, now: datetime) -> str:
    """LinkedIn's human wording: "Sent today", "Sent 3 days ago", "Sent 2 months ago"."""
    days = max(0, (now - sent_at).days)
    for unit, size in (("month", 30), ("week", 7), ("day", 1)):
        if days >= size:
            count = days // size
            return f"Sent {count} {unit}{'s' if count > 1 else ''} ago"
    return "Sent today"


def relation(acceptance: Acceptance, person: Person) -> JSONObject:
    return {
        "object": "UserRelation",
        "first_name": person.first_name,
        "last_name": person.last_name,
        "headline": person.headline,
        "public_identifier": person.slug,
        "public_profile_url": person.profile_url,
        "created_at": int(acceptance.accepted_at.timestamp() * 1000),
        "member_id": person.provider_id,
        "member_urn": f"urn:li:fsd_profile:{person.provider_id}",
        "connection_urn": f"urn:li:fsd_connection:{acceptance.invitation_id}",
    }


def chat(record: ChatRecord) -> JSONObject:
    return {
        "object": "Chat",
        "id": record.chat_id,
        "account_id": record.account,
        "account_type": "LINKEDIN",
        "provider_id": f"2-{record.chat_id}",
        "attendee_provider_id": record.provider_id,
        "name": None,
        "type": 0,
        "timestamp": iso(record.last_at),
        "unread_count": record.unread_count,
        "archived": 0,
        "muted_until": None,
        "read_only": 0,
        "disabledFeatures": [],
        "folder": FOLDERS,
    }


def message(record: MessageRecord, own_provider_id: str) -> JSONObject:
    sender = own_provider_id if record.is_sender else record.provider_id
    return {
        "object": "Message",
        "id": record.message_id,
        "account_id": record.account,
        "chat_id": record.chat_id,
        "chat_provider_id": f"2-{record.chat_id}",
        "provider_id": f"2-{record.message_id}",
        "sender_id": sender,
        "sender_attendee_id": attendee_id(sender),
        "text": record.text,
        "attachments": [],
        "timestamp": iso(record.at),
        "is_sender": int(record.is_sender),
        "reactions": [],
        "seen": int(record.is_sender),
        "seen_by": {},
        "hidden": 0,
        "deleted": 0,
        "edited": 0,
        "is_event": 0,
        "delivered": 1,
        "behavior": None,
        "original": "",
        "subject": None,
        "message_type": "MESSAGE",
        "attendee_type": "MEMBER",
        "attendee_distance": 1,
    }


# -- webhooks ----------------------------------------------------------------------------


def _attendee(person: Person) -> JSONObject:
    return {
        "attendee_id": attendee_id(person.provider_id),
        "attendee_name": person.full_name,
        "attendee_provider_id": person.provider_id,
        "attendee_profile_url": f"https://www.linkedin.com/in/{person.provider_id}",
        "attendee_specifics": {
            "provider": "LINKEDIN",
            "member_urn": f"urn:li:member:{person.member_number}",
            "occupation": person.headline,
            "is_company": False,
            "network_distance": "DISTANCE_1",
        },
        "attendee_public_identifier": None,
    }


def message_event(record: MessageRecord, own: Person, other: Person, name: str) -> JSONObject:
    """A ``message_received`` webhook; our own messages are echoed with ``is_sender`` true."""
    return {
        "event": "message_received",
        "account_id": record.account,
        "account_type": "LINKEDIN",
        "account_info": {"type": "LINKEDIN", "feature": "classic", "user_id": own.provider_id},
        "webhook_name": name,
        "chat_id": record.chat_id,
        "attendees": [_attendee(other)],  # the other participants of the 1:1 chat
        "sender": _attendee(own if record.is_sender else other),
        "subject": None,
        "message": record.text,
        "message_id": record.message_id,
        "timestamp": iso(record.at),
        "attachments": [],
        "is_sender": record.is_sender,
        "provider_chat_id": f"2-{record.chat_id}",
        "provider_message_id": f"2-{record.message_id}",
        "is_event": 0,
        "chat_pinned": 0,
        "quoted": None,
        "reply_to": None,
        "is_forwarded": None,
        "chat_content_type": None,
        "message_type": "MESSAGE",
        "is_group": False,
        "folder": FOLDERS,
        "event_type": None,
    }


def relation_event(acceptance: Acceptance, person: Person, name: str) -> JSONObject:
    return {
        "event": "new_relation",
        "account_id": acceptance.account,
        "account_type": "LINKEDIN",
        "webhook_name": name,
        "timestamp": iso(acceptance.accepted_at),
        "user_full_name": person.full_name,
        "user_provider_id": person.provider_id,
        "user_public_identifier": person.slug,
        "user_profile_url": person.profile_url,
        "user_picture_url": None,
    }


def account_status_event(account_id: str, message: str) -> JSONObject:
    return {
        "AccountStatus": {"account_id": account_id, "account_type": "LINKEDIN", "message": message}
    }
