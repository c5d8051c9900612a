"""What a person (API, dashboard, CLI, the demo) does to campaigns. Each commits, then answers."""

from __future__ import annotations

from outreach.accounts.repository import get_account
from outreach.campaigns import lifecycle
from outreach.campaigns.schemas import Accepted, CampaignCreate, CampaignSummary
from outreach.campaigns.sequence import check_templates
from outreach.campaigns.service import summarize
from outreach.errors import InvalidInput
from outreach.models import Campaign, CampaignSender, CampaignStatus
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
        return summarize(session, campaign)


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
