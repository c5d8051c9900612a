"""What a person does to one prospect of a campaign: stop it, remove it, never contact it.

Each is one transaction that takes its locks in the global order (the campaign's senders,
then the journey, then the campaign), as the launch and the sweep do, so none of them
waits on another holding what it needs.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns import lifecycle as campaign_lifecycle
from outreach.errors import Conflict, NotFound
from outreach.journeys import lifecycle
from outreach.models import Campaign, DoNotContactKind, DoNotContactSource, Journey, Prospect
from outreach.prospects import dnc
from outreach.prospects.listing import ProspectQuery, ProspectRow, list_prospects
from outreach.prospects.schemas import DoNotContactAdded, DoNotContactIn
from outreach.runtime import Runtime
from outreach.uow import transaction


def _locked(session: Session, campaign_id: int, prospect_id: int) -> tuple[Prospect, int | None]:
    """The prospect and its journey's id, the campaign's senders locked first."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    lifecycle.lock_senders(session, campaign.account_ids)
    prospect = session.get(Prospect, prospect_id)
    if prospect is None or prospect.campaign_id != campaign_id:
        raise NotFound(f"no prospect {prospect_id} in campaign {campaign_id}")
    journey_id = session.execute(
        sa.select(Journey.id).where(
            Journey.campaign_id == campaign_id, Journey.prospect_id == prospect_id
        )
    ).scalar_one_or_none()
    return prospect, journey_id


def get_prospect(session: Session, campaign_id: int, prospect_id: int) -> ProspectRow:
    page = list_prospects(session, campaign_id, ProspectQuery(prospect_id=prospect_id, limit=1))
    if not page.rows:
        raise NotFound(f"no prospect {prospect_id} in campaign {campaign_id}")
    return page.rows[0]


def stop_prospect(rt: Runtime, campaign_id: int, prospect_id: int, *, by: str) -> ProspectRow:
    """End the prospect's journey: nothing more is sent. Before launch there is nothing
    to stop: remove the prospect instead (``Conflict``); an ended journey stays as it is."""
    with transaction(rt) as session:
        prospect, journey_id = _locked(session, campaign_id, prospect_id)
        if journey_id is None:
            raise Conflict("not launched yet: nothing to stop; remove it from the campaign instead")
        lifecycle.stop(session, journey_id, now=rt.clock.now(), by=by)
        session.flush()
        return get_prospect(session, campaign_id, prospect.id)


def remove_prospect(rt: Runtime, campaign_id: int, prospect_id: int) -> None:
    """Take a prospect out of the campaign. One already contacted keeps its history:
    stop it instead (``Conflict``)."""
    with transaction(rt) as session:
        prospect, journey_id = _locked(session, campaign_id, prospect_id)
        if journey_id is not None:
            lifecycle.forget(session, journey_id)
        session.delete(prospect)
        session.flush()
        campaign_lifecycle.maybe_complete(session, campaign_id)


def block_prospect(
    rt: Runtime, campaign_id: int, prospect_id: int, *, reason: str | None = None
) -> DoNotContactAdded:
    """Put the person on the do-not-contact list: their journeys stop, in every campaign."""
    with rt.sessions() as session:
        prospect = session.get(Prospect, prospect_id)
        if prospect is None or prospect.campaign_id != campaign_id:
            raise NotFound(f"no prospect {prospect_id} in campaign {campaign_id}")
        entry = DoNotContactIn(
            kind=DoNotContactKind.PERSON,
            value=prospect.public_identifier,
            reason=reason or "added from the campaign's prospect list",
        )
    with transaction(rt) as session:
        return dnc.add_entries(
            session, [entry], now=rt.clock.now(), source=DoNotContactSource.PERSON
        )
