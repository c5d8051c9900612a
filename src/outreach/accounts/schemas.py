"""Sender account input and output."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AccountCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    provider: Literal["sandbox", "unipile"] | None = Field(
        default=None, description="Defaults to the provider this server drives LinkedIn with."
    )
    external_id: str | None = Field(
        default=None, description="Unipile account id; generated for sandbox accounts."
    )
    timezone: str = "UTC"
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    work_days: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    daily_invite_cap: int = Field(default=25, ge=1, le=200)
    weekly_invite_cap: int = Field(default=100, ge=1, le=1000)
    daily_message_cap: int = Field(default=80, ge=1, le=500)
    invite_gap_min_minutes: float = Field(default=18, ge=0, le=24 * 60)
    invite_gap_max_minutes: float = Field(default=23, ge=0, le=24 * 60)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("work_days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        unknown = [d for d in days if d not in DAY_NAMES]
        if unknown or not days:
            raise ValueError(f"work_days must be names like mon..sun, got {value!r}")
        return days

    @model_validator(mode="after")
    def _consistent(self) -> AccountCreate:
        if self.work_start >= self.work_end:
            raise ValueError("work_start must be before work_end")
        if self.invite_gap_min_minutes > self.invite_gap_max_minutes:
            raise ValueError("invite_gap_min_minutes must not exceed invite_gap_max_minutes")
        return self

    def day_numbers(self) -> str:
        return ",".join(
            str(DAY_NAMES.index(d)) for d in sorted(set(self.work_days), key=DAY_NAMES.index)
        )


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    provider: str
    external_id: str
    timezone: str
    work_start: time
    work_end: time
    work_days: list[str]
    daily_invite_cap: int
    weekly_invite_cap: int
    daily_message_cap: int
    status: str
    status_reason: str | None
    paused_by: str | None = Field(default=None, description="person | provider, when not active")
    paused_until: datetime | None

    @field_validator("work_days", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, str):
            return [DAY_NAMES[int(d)] for d in value.split(",") if d.strip()]
        return value
