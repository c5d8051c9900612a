"""What a person (API, dashboard, CLI, the demo) does to campaigns. Each commits, then answers."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from outreach.accounts.repository import get_account
from outreach.campaigns import lifecycle
from outreach.campaigns.schemas import (
    Accepted,
    CampaignCreate,
    CampaignEdited,
    CampaignSummary,
    CampaignUpdate,
)
from outreach.campaigns.sequence import SequenceSpec, Templates, check_templates
from outreach.campaigns.service import get_campaign, summarize
from outreach.errors import InvalidInput
from outreach.journeys.lifecycle import follow_new_version, lock_senders
from outreach.models import Campaign, CampaignSender, CampaignStatus, CampaignVersion
from outreach.runtime import Runtime
from outreach.uow import transaction


def create_campaign(rt: Runtime, data: CampaignCreate) -> CampaignSummary:
    """A draft campaign; templates that could not be sent are refused now, not at send time."""
    problems = check_templates(data.templates, data.sequence)
    if problems:
        raise InvalidInput("the campaign's templates cannot be sent as they are", details=problems)
    senders = list(dict.fromkeys([data.account_id, *data.account_ids]))
    with transaction(rt) as session:
        for sender in senders:
            get_account(session, sender)
        campaign = Campaign(
            name=data.name,
            account_id=data.account_id,
            status=CampaignStatus.DRAFT,
            sequence=data.sequence.model_dump(mode="json"),
            templates=data.templates.model_dump(mode="json"),
            created_at=rt.clock.now(),
            senders=[CampaignSender(account_id=s, position=i) for i, s in enumerate(senders)],
        )
        session.add(campaign)
        session.flush()
        session.add(_version_row(campaign, at=campaign.created_at, saved_by=None))
        return summarize(session, campaign)


def _version_row(campaign: Campaign, *, at: datetime, saved_by: str | None) -> CampaignVersion:
    return CampaignVersion(
        campaign_id=campaign.id,
        version=campaign.version,
        sequence=campaign.sequence,
        templates=campaign.templates,
        created_at=at,
        saved_by=saved_by,
    )


def update_campaign(
    rt: Runtime, campaign_id: int, data: CampaignUpdate, *, saved_by: str | None = None
) -> CampaignEdited:
    """Rename, or save a new version of the sequence and its texts (checked as on create).

    Its waiting journeys follow the new version in the same transaction
    (``journeys.lifecycle.follow_new_version``): senders, then journeys, then the
    campaign's row, the order every transaction takes them in.
    """
    counts = {"replanned": 0, "ended": 0}
    with transaction(rt) as session:
        # Senders, then journeys, then the campaign: the order every transaction takes.
        # A concurrent edit of this campaign waits at the senders, then reads it anew.
        lock_senders(session, get_campaign(session, campaign_id).account_ids)
        campaign = (
            session.execute(
                sa.select(Campaign)
                .where(Campaign.id == campaign_id)
                .execution_options(populate_existing=True)
            )
            .unique()
            .scalar_one()
        )
        sequence = data.sequence or SequenceSpec.model_validate(campaign.sequence)
        templates = data.templates or Templates.model_validate(campaign.templates)
        problems = check_templates(templates, sequence)
        if problems:
            raise InvalidInput(
                "the campaign's templates cannot be sent as they are", details=problems
            )
        new = {
            "sequence": sequence.model_dump(mode="json"),
            "templates": templates.model_dump(mode="json"),
        }
        changed = new != {"sequence": campaign.sequence, "templates": campaign.templates}
        if changed:
            now = rt.clock.now()
            version = campaign.version + 1
            counts = follow_new_version(session, now, campaign, sequence, version=version)
        if changed or data.name is not None:
            lifecycle.lock_campaign(session, campaign_id)
        if changed:
            campaign.version = version
            campaign.sequence, campaign.templates = new["sequence"], new["templates"]
            session.add(_version_row(campaign, at=now, saved_by=saved_by))
        if data.name is not None:
            campaign.name = data.name
        summary = summarize(session, campaign)
    return CampaignEdited(campaign=summary, new_version=changed, **counts)


def launch(rt: Runtime, campaign_id: int) -> Accepted:
    """Mark the campaign active; its journeys are created and paced by the launch workflow.

    A second launch of an active campaign answers with the first launch's workflow.
    """
    with transaction(rt) as session:
        campaign = lifecycle.lock_campaign(session, campaign_id)
        was_active = campaign.status is CampaignStatus.ACTIVE
        work = lifecycle.launch(session, campaign, now=rt.clock.now())
        status = campaign.status.value
    return Accepted(
        campaign_id=campaign_id, status=status, workflow_id=work.workflow_id, started=not was_active
    )


def pause(rt: Runtime, campaign_id: int) -> Accepted:
    """Pause: each journey is held when its next stage comes due, until resumed."""
    with transaction(rt) as session:
        campaign = lifecycle.lock_campaign(session, campaign_id)
        lifecycle.pause(campaign)
        status = campaign.status.value
    return Accepted(campaign_id=campaign_id, status=status)


def resume(rt: Runtime, campaign_id: int) -> Accepted:
    """Resume, then reschedule the held journeys and pick up prospects added meanwhile."""
    with transaction(rt) as session:
        campaign = lifecycle.lock_campaign(session, campaign_id)
        work = lifecycle.resume(session, campaign)
        status = campaign.status.value
    return Accepted(
        campaign_id=campaign_id, status=status, workflow_id=work.workflow_id, started=True
    )
