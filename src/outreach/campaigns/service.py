"""Campaigns: create with checked templates, launch, pause, resume, summarise."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.accounts.service import get_account
from outreach.campaigns.schemas import CampaignCreate, CampaignSummary
from outreach.campaigns.sequence import check_templates
from outreach.errors import Conflict, InvalidInput, NotFound
from outreach.models import Campaign, CampaignStatus, Journey, JourneyStatus, Prospect


def create_campaign(session: Session, data: CampaignCreate, *, now: datetime) -> Campaign:
    get_account(session, data.account_id)
    problems = check_templates(data.templates, data.sequence)
    if problems:
        raise InvalidInput("the campaign's templates cannot be sent as they are", details=problems)
    campaign = Campaign(
        name=data.name,
        account_id=data.account_id,
        status=CampaignStatus.DRAFT,
        sequence=data.sequence.model_dump(mode="json"),
        templates=data.templates.model_dump(mode="json"),
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    return list(
        session.execute(sa.select(Campaign).order_by(Campaign.id.desc())).unique().scalars()
    )


def activate(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Mark a campaign active for launch; launching an active one again is harmless."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status is CampaignStatus.PAUSED:
        raise Conflict("the campaign is paused: resume it instead of launching it")
    campaign.status = CampaignStatus.ACTIVE
    campaign.launched_at = campaign.launched_at or now
    return campaign


def pause(session: Session, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status is not CampaignStatus.ACTIVE:
        raise Conflict(f"only an active campaign can be paused (it is {campaign.status.value})")
    campaign.status = CampaignStatus.PAUSED
    return campaign


def resume(session: Session, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status is not CampaignStatus.PAUSED:
        raise Conflict(f"only a paused campaign can be resumed (it is {campaign.status.value})")
    campaign.status = CampaignStatus.ACTIVE
    return campaign


def summarize(session: Session, campaign: Campaign) -> CampaignSummary:
    counts = dict(
        session.execute(
            sa.select(Journey.status, sa.func.count())
            .where(Journey.campaign_id == campaign.id)
            .group_by(Journey.status)
        ).all()
    )
    held = session.execute(
        sa.select(sa.func.count()).where(Journey.campaign_id == campaign.id, Journey.held.is_(True))
    ).scalar_one()
    prospects = session.execute(
        sa.select(sa.func.count()).where(Prospect.campaign_id == campaign.id)
    ).scalar_one()
    journeys = {status.value: int(counts.get(status, 0)) for status in JourneyStatus}
    return CampaignSummary.model_validate(
        {
            **{
                c: getattr(campaign, c)
                for c in (
                    "id",
                    "name",
                    "account_id",
                    "sequence",
                    "templates",
                    "created_at",
                    "launched_at",
                )
            },
            "status": campaign.status.value,
            "prospects": prospects,
            "pending_prospects": prospects - sum(journeys.values()),
            "journeys": journeys,
            "held": held,
        }
    )
