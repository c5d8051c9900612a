"""Journey output."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from outreach.journeys.waiting import WaitLine


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    kind: str
    details: dict[str, Any]


class JourneyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    campaign_id: int
    prospect_id: int
    account_id: int = Field(description="Its sender, for life.")
    public_identifier: str
    name: str
    status: str
    stage: str | None
    held: bool
    waiting_for: str | None
    next_run_at: datetime | None
    invited_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    reply_intent: str | None = Field(
        default=None, description="What the reply means, as marked (interested, question, …)."
    )
    ended_at: datetime | None
    end_reason: str | None
    follow_ups_sent: int
    last_error: str | None


class JourneyDetail(JourneyOut):
    events: list[EventOut]
    wait: WaitLine | None = Field(
        default=None, description="What it waits for, until when, and why, in plain words."
    )
