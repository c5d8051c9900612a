"""A campaign's status, changed here and nowhere else: launched, paused, completed, reopened.

Also the work a campaign asks for: scheduling its pending prospects and releasing its
held journeys, each under a business-key workflow id (``campaign-{id}-schedule-{n}``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.errors import Conflict, NotFound
from outreach.models import TERMINAL_STATUSES, Campaign, CampaignStatus, Journey, Prospect
from outreach.uow import Work, defer


def lock_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign, its row held until commit (a double click waits for the first)."""
    campaign = (
        session.execute(
            sa.select(Campaign)
            .where(Campaign.id == campaign_id)
            .with_for_update(of=Campaign, key_share=True)
        )
        .unique()
        .scalar_one_or_none()
    )
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def schedule_work(campaign: Campaign) -> Work:
    """The workflow that schedules the campaign's pending prospects, as last asked for."""
    return Work(
        "outreach.campaigns.workflows:schedule_campaign",
        (campaign.id,),
        f"campaign-{campaign.id}-schedule-{campaign.schedule_runs}",
        attributes={"campaign_id": campaign.id},
    )


def request_schedule(session: Session, campaign: Campaign) -> Work:
    """Schedule the pending prospects of an active campaign once this transaction commits."""
    campaign.schedule_runs += 1
    return defer(session, schedule_work(campaign))


def has_prospects(session: Session, campaign_id: int) -> bool:
    return (
        session.execute(
            sa.select(Prospect.id).where(Prospect.campaign_id == campaign_id).limit(1)
        ).first()
        is not None
    )


def launch(session: Session, campaign: Campaign, *, now: datetime) -> Work:
    """Draft to active, with its scheduling asked for; launching an active one again is the
    same launch (no second run)."""
    if campaign.status is CampaignStatus.ACTIVE:
        return schedule_work(campaign)
    if campaign.status is CampaignStatus.PAUSED:
        raise Conflict("the campaign is paused: resume it instead of launching it")
    if campaign.status is CampaignStatus.COMPLETED:
        raise Conflict(
            "the campaign is completed: every prospect's journey has ended; "
            "import new prospects to reopen it"
        )
    if not has_prospects(session, campaign.id):
        raise Conflict("the campaign has no prospects: import some before launching it")
    campaign.status = CampaignStatus.ACTIVE
    campaign.launched_at = campaign.launched_at or now
    return request_schedule(session, campaign)


def pause(campaign: Campaign) -> None:
    if campaign.status is not CampaignStatus.ACTIVE:
        raise Conflict(f"only an active campaign can be paused (it is {campaign.status.value})")
    campaign.status = CampaignStatus.PAUSED


def resume(session: Session, campaign: Campaign) -> Work:
    """Active again; its held journeys are rescheduled and prospects added meanwhile picked up."""
    if campaign.status is not CampaignStatus.PAUSED:
        raise Conflict(f"only a paused campaign can be resumed (it is {campaign.status.value})")
    campaign.status = CampaignStatus.ACTIVE
    campaign.schedule_runs += 1
    return defer(
        session,
        Work(
            "outreach.campaigns.workflows:resume_held",
            (campaign.id, None),
            f"campaign-{campaign.id}-resume-{campaign.schedule_runs}",
            attributes={"campaign_id": campaign.id},
        ),
    )


def prospects_added(session: Session, campaign: Campaign) -> Work | None:
    """New prospects: an active campaign schedules them now, a completed one reopens."""
    if campaign.status is CampaignStatus.COMPLETED:
        campaign.status = CampaignStatus.ACTIVE
    if campaign.status is CampaignStatus.ACTIVE:
        return request_schedule(session, campaign)
    return None  # a draft waits for its launch, a paused campaign for its resume


def maybe_complete(session: Session, campaign_id: int) -> None:
    """A campaign is completed once every prospect's journey has ended."""
    open_journey = session.execute(
        sa.select(Journey.id)
        .where(Journey.campaign_id == campaign_id, Journey.status.not_in(TERMINAL_STATUSES))
        .limit(1)
    ).first()
    if open_journey is not None:
        return
    pending = session.execute(
        sa.select(Prospect.id)
        .outerjoin(
            Journey, sa.and_(Journey.prospect_id == Prospect.id, Journey.campaign_id == campaign_id)
        )
        .where(Prospect.campaign_id == campaign_id, Journey.id.is_(None))
        .limit(1)
    ).first()
    if pending is not None:
        return
    campaign = session.get(Campaign, campaign_id)
    if campaign is not None and campaign.status is CampaignStatus.ACTIVE:
        campaign.status = CampaignStatus.COMPLETED
