"""The commands the dashboard and the JSON API share: one place that commits, then starts work.

Each command commits its state change first and only then starts the workflow that acts
on it, so the workflow never reads a state its caller might still roll back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from outreach.accounts import service as accounts
from outreach.campaigns import service as campaigns
from outreach.campaigns.schemas import Accepted
from outreach.campaigns.workflows import resume_held, schedule_campaign
from outreach.engine import start_workflow
from outreach.errors import InvalidInput
from outreach.journeys import service as journeys_service
from outreach.journeys.schemas import JourneyOut
from outreach.models import Account, AccountStatus
from outreach.prospects.importer import parse_csv
from outreach.prospects.service import ImportResult, import_prospects
from outreach.runtime import Runtime


def launch_campaign(rt: Runtime, campaign_id: int) -> Accepted:
    """Mark the campaign active, then start the workflow that creates and paces its journeys."""
    with rt.sessions.begin() as session:
        status = campaigns.activate(session, campaign_id, now=rt.clock.now()).status.value
    workflow_id = start_workflow(schedule_campaign, campaign_id)
    return Accepted(campaign_id=campaign_id, status=status, workflow_id=workflow_id)


def pause_campaign(rt: Runtime, campaign_id: int) -> Accepted:
    """Pause: each journey is held when its next stage comes due, until resumed."""
    with rt.sessions.begin() as session:
        status = campaigns.pause(session, campaign_id).status.value
    return Accepted(campaign_id=campaign_id, status=status)


def resume_campaign(rt: Runtime, campaign_id: int) -> Accepted:
    """Resume, then reschedule the held journeys and pick up prospects added meanwhile."""
    with rt.sessions.begin() as session:
        status = campaigns.resume(session, campaign_id).status.value
    workflow_id = start_workflow(resume_held, campaign_id, None)
    return Accepted(campaign_id=campaign_id, status=status, workflow_id=workflow_id)


def pause_account(rt: Runtime, account_id: int) -> Account:
    with rt.sessions.begin() as session:
        return accounts.pause_account(session, account_id)


def resume_account(rt: Runtime, account_id: int) -> Account:
    """Mark the sender active, then reschedule the journeys its pause held."""
    with rt.sessions.begin() as session:
        account = accounts.resume_account(session, account_id)
    start_workflow(resume_held, None, account_id)
    return account


def import_csv(rt: Runtime, campaign_id: int, text: str) -> ImportResult:
    """Import pasted or uploaded CSV: good rows are kept, each bad row is reported."""
    try:
        rows = parse_csv(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    if not rows:
        raise InvalidInput("no prospect rows: paste a header line and at least one row")
    with rt.sessions.begin() as session:
        return import_prospects(session, campaign_id, rows, now=rt.clock.now())


@dataclass(frozen=True)
class Troubles:
    """What needs a person's attention: failed or erroring journeys, stopped senders."""

    journeys: list[JourneyOut]
    accounts: list[Account]


def troubles(session: Session, *, limit: int = 500) -> Troubles:
    journeys = journeys_service.troubled_journeys(session, limit=limit)
    stopped = [a for a in accounts.list_accounts(session) if a.status is not AccountStatus.ACTIVE]
    return Troubles(journeys, stopped)
