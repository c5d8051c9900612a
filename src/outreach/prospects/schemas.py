"""Do-not-contact input and output. A value is normalised here, by kind, on the way in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from outreach.models import DoNotContactKind, DoNotContactSource
from outreach.prospects import identity

KEYS: dict[DoNotContactKind, Callable[[str], str]] = {
    DoNotContactKind.PERSON: identity.person_key,
    DoNotContactKind.COMPANY: identity.company_key,
    DoNotContactKind.DOMAIN: identity.domain_key,
}
REASON_LIMIT = 2000


class DoNotContactIn(BaseModel):
    """One entry: a person (profile URL, public identifier or provider id), a company
    name, or a domain (which covers its subdomains)."""

    kind: DoNotContactKind = Field(description="person | company | domain")
    value: str = Field(max_length=500, description="stored normalised: see GET's `value`")
    reason: str | None = Field(default=None, max_length=REASON_LIMIT)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if not value.strip():
            raise ValueError("must not be empty")
        return KEYS[kind](value) if kind is not None else value  # a bad kind is its own error

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None


def one_or_many(value: Any) -> Any:
    """A request body may hold one entry (an object) or a list of them."""
    return [value] if isinstance(value, dict) else value


class DoNotContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: DoNotContactKind
    value: str
    reason: str | None
    source: DoNotContactSource
    created_at: datetime


class DoNotContactAdded(BaseModel):
    """What adding entries did: every entry asked for (new or already listed), and how
    many journeys in flight were stopped because of the list."""

    entries: list[DoNotContactOut]
    added: int
    already_listed: int
    stopped_journeys: int
