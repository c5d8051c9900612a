"""Users and API keys, in and out. Secrets go in; only an API key's first characters
come out, except once, in the answer that created it."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from outreach.models import Role

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{1,99}$")


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=100, examples=["ada"])
    password: SecretStr = Field(
        min_length=1, max_length=1000, description="At least 12 characters."
    )
    role: Role = Role.MEMBER

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        value = value.strip()
        if not _USERNAME.match(value):
            raise ValueError(
                "a username is 2 to 100 letters, digits or . _ @ + -, starting with a letter "
                "or a digit"
            )
        return value.lower()


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["CRM sync"])

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, stored only as a hash.")


class Principal(BaseModel):
    """Who is asking: a user (by session or API key) or the bootstrap key."""

    model_config = ConfigDict(frozen=True)
    user_id: int | None
    username: str
    role: Role
    via: str  # session | key | bootstrap

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


BOOTSTRAP = Principal(user_id=None, username="bootstrap key", role=Role.ADMIN, via="bootstrap")
