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
    return summarize_all(session, [campaign])[0]


def summarize_all(session: Session, campaigns: list[Campaign]) -> list[CampaignSummary]:
    """Each campaign with its counts per journey state: three grouped queries in all."""
    ids = [c.id for c in campaigns]
    if not ids:
        return []
    counts: dict[int, dict[JourneyStatus, int]] = {cid: {} for cid in ids}
    for cid, status, count in session.execute(
        sa.select(Journey.campaign_id, Journey.status, sa.func.count())
        .where(Journey.campaign_id.in_(ids))
        .group_by(Journey.campaign_id, Journey.status)
    ):
        counts[cid][status] = count
    held = _count_by_campaign(session, Journey.campaign_id, ids, Journey.held.is_(True))
    prospects = _count_by_campaign(session, Prospect.campaign_id, ids)
    return [_summary(c, counts[c.id], held.get(c.id, 0), prospects.get(c.id, 0)) for c in campaigns]


def _count_by_campaign(
    session: Session,
    column: sa.orm.InstrumentedAttribute[int],
    ids: list[int],
    *where: sa.ColumnElement[bool],
) -> dict[int, int]:
    rows = session.execute(
        sa.select(column, sa.func.count()).where(column.in_(ids), *where).group_by(column)
    )
    return {cid: count for cid, count in rows}


def _summary(
    campaign: Campaign, counts: dict[JourneyStatus, int], held: int, prospects: int
) -> CampaignSummary:
    journeys = {status.value: int(counts.get(status, 0)) for status in JourneyStatus}
    fields = ("id", "name", "account_id", "sequence", "templates", "created_at", "launched_at")
    return CampaignSummary.model_validate(
        {c: getattr(campaign, c) for c in fields}
        | {
            "account_ids": campaign.account_ids,
            "status": campaign.status.value,
            "prospects": prospects,
            "pending_prospects": prospects - sum(journeys.values()),
            "journeys": journeys,
            "held": held,
        }
    )
