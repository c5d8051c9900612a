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


class CampaignUpdate(BaseModel):
    """A change to a campaign; what is left out stays as it is. A change of the sequence
    or its texts is a new version: journeys not yet at a step get the new text and day,
    journeys past it keep what they were sent, and a journey waiting for a follow-up the
    new version removes ends as completed."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    sequence: SequenceSpec | None = None
    templates: Templates | None = None


class CampaignVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: int
    sequence: SequenceSpec
    templates: Templates
    created_at: datetime
    saved_by: str | None


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
    version: int = Field(default=1, description="The sequence's version; each save adds one.")


class CampaignSummary(CampaignOut):
    prospects: int
    pending_prospects: int
    journeys: dict[str, int]
    held: int


class CampaignEdited(BaseModel):
    """The campaign after a change, and what the change did to its waiting journeys."""

    campaign: CampaignSummary
    new_version: bool = Field(description="Whether the sequence or texts changed.")
    replanned: int = Field(description="Journeys whose next check or follow-up moved.")
    ended: int = Field(description="Journeys that waited for a removed follow-up: completed.")


class LaunchRequest(BaseModel):
    campaign_id: DbId


class Accepted(BaseModel):
    campaign_id: int
    status: str
    workflow_id: str | None = None
    started: bool = Field(
        default=False, description="Whether this request started the workflow (false: it had been)"
    )


class PreviewRequest(BaseModel):
    """Texts (and days) to preview; what is left out is the campaign's current one."""

    sequence: SequenceSpec | None = None
    templates: Templates | None = None
    prospect_id: DbId | None = Field(
        default=None, description="Render for this prospect of the campaign (default: its first)."
    )


class PreviewStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    day: float
    text: str | None
    characters: int
    limit: int
    problems: list[str]


class CampaignPreview(BaseModel):
    prospect: str = Field(description="Whom the texts are rendered for (a sample when none).")
    prospect_id: int | None
    variables: list[str] = Field(description="The variables a template may use.")
    steps: list[PreviewStepOut]
    problems: list[str] = Field(description="What would stop the campaign being saved.")
