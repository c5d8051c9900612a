"""Sender account input and output."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def valid_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def local_time(value: time, zone: str) -> time:
    """A working-hours time as the sender's local time. One given with an offset
    (``17:00Z``, ``09:00+02:00``) is converted into the sender's zone, at today's offset;
    one without is local already."""
    if value.tzinfo is None:
        return value
    moment = datetime.combine(datetime.now(UTC).date(), value)
    return moment.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)


def hhmm(value: object) -> object:
    """A time of day as ``HH:MM`` (``HH:MM:SS`` when it has seconds): local, no offset."""
    if isinstance(value, time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    return value


LOCAL_TIME = Field(pattern=r"^\d{2}:\d{2}(:\d{2})?$", examples=["09:00"])


def valid_days(value: list[str]) -> list[str]:
    days = [d.strip().lower()[:3] for d in value]
    unknown = [d for d in days if d not in DAY_NAMES]
    if unknown or not days:
        raise ValueError(f"work_days must be names like mon..sun, got {value!r}")
    return days


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
    weekly_message_cap: int = Field(default=400, ge=1, le=3000)
    daily_view_cap: int = Field(default=150, ge=1, le=1000)
    weekly_view_cap: int = Field(default=700, ge=1, le=5000)
    invite_gap_min_minutes: float = Field(default=18, ge=0, le=24 * 60)
    invite_gap_max_minutes: float = Field(default=23, ge=0, le=24 * 60)
    message_gap_min_minutes: float = Field(default=3, ge=0, le=24 * 60)
    message_gap_max_minutes: float = Field(default=7, ge=0, le=24 * 60)
    warmup_days: int = Field(
        default=14,
        ge=0,
        le=90,
        description="A new account's invitation cap rises from warmup_start to its cap over "
        "this many days (0: no warm-up).",
    )
    warmup_start: int = Field(default=5, ge=1, le=200)
    withdraw_after_days: int = Field(
        default=21,
        ge=0,
        le=365,
        description="Invitations still pending this many days after they went out are "
        "withdrawn (0: never).",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return valid_zone(value)

    @field_validator("work_days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        return valid_days(value)

    @model_validator(mode="after")
    def _consistent(self) -> AccountCreate:
        self.work_start = local_time(self.work_start, self.timezone)
        self.work_end = local_time(self.work_end, self.timezone)
        if self.work_start >= self.work_end:
            raise ValueError("work_start must be before work_end")
        _check_gaps(self)
        return self

    def day_numbers(self) -> str:
        return day_numbers(self.work_days)


def day_numbers(days: list[str]) -> str:
    return ",".join(str(DAY_NAMES.index(d)) for d in sorted(set(days), key=DAY_NAMES.index))


def _check_gaps(data: BaseModel) -> None:
    for kind in ("invite", "message"):
        low = getattr(data, f"{kind}_gap_min_minutes", None)
        high = getattr(data, f"{kind}_gap_max_minutes", None)
        if low is not None and high is not None and low > high:
            raise ValueError(f"{kind}_gap_min_minutes must not exceed {kind}_gap_max_minutes")
    for kind in ("invite", "message", "view"):
        day = getattr(data, f"daily_{kind}_cap", None)
        week = getattr(data, f"weekly_{kind}_cap", None)
        if day is not None and week is not None and day > week:
            raise ValueError(f"daily_{kind}_cap must not exceed weekly_{kind}_cap")


class AccountUpdate(BaseModel):
    """A change to a sender's limits or hours: it takes effect at the governor's next turn."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = None
    work_start: time | None = None
    work_end: time | None = None
    work_days: list[str] | None = None
    daily_invite_cap: int | None = Field(default=None, ge=1, le=200)
    weekly_invite_cap: int | None = Field(default=None, ge=1, le=1000)
    daily_message_cap: int | None = Field(default=None, ge=1, le=500)
    weekly_message_cap: int | None = Field(default=None, ge=1, le=3000)
    daily_view_cap: int | None = Field(default=None, ge=1, le=1000)
    weekly_view_cap: int | None = Field(default=None, ge=1, le=5000)
    invite_gap_min_minutes: float | None = Field(default=None, ge=0, le=24 * 60)
    invite_gap_max_minutes: float | None = Field(default=None, ge=0, le=24 * 60)
    message_gap_min_minutes: float | None = Field(default=None, ge=0, le=24 * 60)
    message_gap_max_minutes: float | None = Field(default=None, ge=0, le=24 * 60)
    warmup_days: int | None = Field(default=None, ge=0, le=90)
    warmup_start: int | None = Field(default=None, ge=1, le=200)
    withdraw_after_days: int | None = Field(default=None, ge=0, le=365)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else valid_zone(value)

    @field_validator("work_days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else valid_days(value)

    @model_validator(mode="after")
    def _consistent(self) -> AccountUpdate:
        _check_gaps(self)
        return self


class Usage(BaseModel):
    """One kind of action today and this week, against the caps that apply now."""

    today: int
    day_cap: int
    this_week: int
    week_cap: int


class Governor(BaseModel):
    """What the sender's governor sees: usage against caps, warm-up, what comes next."""

    invitations: Usage
    messages: Usage
    views: Usage
    warming_up: bool
    pending_invitations: int = Field(description="Sent, neither accepted nor withdrawn yet.")
    pending_limit: int = Field(description="No new invitation goes out at or above it.")
    next_action_at: datetime | None
    busy: bool


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    provider: str
    external_id: str
    timezone: str
    work_start: str = LOCAL_TIME
    work_end: str = LOCAL_TIME
    work_days: list[str]
    daily_invite_cap: int
    weekly_invite_cap: int
    daily_message_cap: int
    weekly_message_cap: int = 400
    daily_view_cap: int = 150
    weekly_view_cap: int = 700
    warmup_days: int = 0
    warmup_start: int = 5
    warmup_since: date | None = None
    withdraw_after_days: int = 21
    status: str
    status_reason: str | None
    paused_by: str | None = Field(default=None, description="person | provider, when not active")
    paused_until: datetime | None
    governor: Governor | None = None

    @field_validator("work_start", "work_end", mode="before")
    @classmethod
    def _local(cls, value: object) -> object:
        return hhmm(value)

    @field_validator("work_days", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, str):
            return [DAY_NAMES[int(d)] for d in value.split(",") if d.strip()]
        return value
