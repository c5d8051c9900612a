"""Reading campaigns: one, all, and their summaries (counts per journey state)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.schemas import CampaignPreview, CampaignSummary, PreviewStepOut
from outreach.campaigns.sequence import (
    SAMPLE_PROSPECT,
    STANDARD_VARIABLES,
    SequenceSpec,
    Templates,
    check_templates,
    preview,
)
from outreach.errors import NotFound
from outreach.journeys import tallies
from outreach.models import Campaign, CampaignVersion, JourneyStatus, Prospect
from outreach.prospects.repository import prospect_variables


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def list_versions(session: Session, campaign_id: int) -> list[CampaignVersion]:
    """Every saved version of the campaign's sequence and texts, the newest first."""
    get_campaign(session, campaign_id)
    return list(
        session.scalars(
            sa.select(CampaignVersion)
            .where(CampaignVersion.campaign_id == campaign_id)
            .order_by(CampaignVersion.version.desc())
        )
    )


def preview_campaign(
    session: Session,
    campaign_id: int,
    *,
    sequence: SequenceSpec | None = None,
    templates: Templates | None = None,
    prospect_id: int | None = None,
) -> CampaignPreview:
    """The campaign's texts (or the ones given) rendered for one of its prospects (its
    first by default, a sample when it has none), each with its length and its problems."""
    campaign = get_campaign(session, campaign_id)
    sequence = sequence or SequenceSpec.model_validate(campaign.sequence)
    templates = templates or Templates.model_validate(campaign.templates)
    query = sa.select(Prospect).where(Prospect.campaign_id == campaign_id)
    if prospect_id is not None:
        query = query.where(Prospect.id == prospect_id)
    prospect = session.scalars(query.order_by(Prospect.id).limit(1)).first()
    if prospect is None and prospect_id is not None:
        raise NotFound(f"no prospect {prospect_id} in campaign {campaign_id}")
    variables = dict(SAMPLE_PROSPECT) if prospect is None else prospect_variables(prospect)
    extra = sorted({k for k in variables if k not in STANDARD_VARIABLES})
    who = (variables.get("full_name") or "") if prospect else "a sample prospect"
    if prospect is not None:
        who = who or prospect.public_identifier
    return CampaignPreview(
        prospect=str(who),
        prospect_id=prospect.id if prospect else None,
        variables=[*STANDARD_VARIABLES, *extra],
        steps=[
            PreviewStepOut.model_validate(step) for step in preview(templates, sequence, variables)
        ],
        problems=check_templates(templates, sequence),
    )


def list_campaigns(session: Session) -> list[Campaign]:
    return list(
        session.execute(sa.select(Campaign).order_by(Campaign.id.desc())).unique().scalars()
    )


def summarize(session: Session, campaign: Campaign) -> CampaignSummary:
    return summarize_all(session, [campaign])[0]


def summarize_all(session: Session, campaigns: list[Campaign]) -> list[CampaignSummary]:
    """Each campaign with its counts per journey state, from the tallies (one query)."""
    if not campaigns:
        return []
    counts = tallies.by_campaign(session, [c.id for c in campaigns])
    return [_summary(c, counts.get(c.id) or tallies.Counts()) for c in campaigns]


def _summary(campaign: Campaign, counts: tallies.Counts) -> CampaignSummary:
    journeys = {status.value: counts.per_status.get(status, 0) for status in JourneyStatus}
    fields = (
        "id",
        "name",
        "account_id",
        "sequence",
        "templates",
        "created_at",
        "launched_at",
        "version",
    )
    return CampaignSummary.model_validate(
        {c: getattr(campaign, c) for c in fields}
        | {
            "account_ids": campaign.account_ids,
            "status": campaign.status.value,
            "prospects": counts.prospects,
            "pending_prospects": counts.prospects - counts.journeys,
            "journeys": journeys,
            "held": counts.held,
        }
    )
