"""Campaign input and output."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from outreach.campaigns.sequence import SequenceSpec, Templates
from outreach.db import DbId


class CampaignCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    account_id: DbId = Field(description="The campaign's (first) sender account.")
    account_ids: list[DbId] = Field(
        default_factory=list,
        max_length=50,
        description="More sender accounts: each prospect gets one of them for life, "
        "balancing their remaining capacity.",
    )
    sequence: SequenceSpec = Field(default_factory=SequenceSpec)
    templates: Templates = Field(default_factory=Templates)


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    account_id: int
    account_ids: list[int] = Field(default_factory=list, description="All its senders.")
    status: str
    sequence: SequenceSpec
    templates: Templates
    created_at: datetime
    launched_at: datetime | None


class CampaignSummary(CampaignOut):
    prospects: int
    pending_prospects: int
    journeys: dict[str, int]
    held: int


class LaunchRequest(BaseModel):
    campaign_id: DbId


class Accepted(BaseModel):
    campaign_id: int
    status: str
    workflow_id: str | None = None
    started: bool = Field(
        default=False, description="Whether this request started the workflow (false: it had been)"
    )
