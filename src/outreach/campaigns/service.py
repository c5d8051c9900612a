"""Reading campaigns: one, all, and their summaries (counts per journey state)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.schemas import CampaignSummary
from outreach.errors import NotFound
from outreach.models import Campaign, Journey, JourneyStatus, Prospect


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    return list(
        session.execute(sa.select(Campaign).order_by(Campaign.id.desc())).unique().scalars()
    )


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
