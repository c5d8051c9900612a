"""Launch, sweep and resume: the workflows that put journeys on the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from dbos import DBOS
from sqlalchemy.orm import Session

from outreach.engine import tx
from outreach.journeys import doctor, lifecycle
from outreach.models import Campaign, CampaignStatus
from outreach.prospects.repository import pending_prospects
from outreach.replies.agent import restart_lost


@DBOS.workflow()
def schedule_campaign(campaign_id: int) -> int:
    """Create the journeys of every pending prospect and enqueue their invitations.

    Publishes ``total`` and ``started`` as workflow events while it enqueues.
    """
    return tx(lifecycle.create_journeys, campaign_id)


@DBOS.workflow()
def resume_held(campaign_id: int | None, account_id: int | None) -> int:
    """Reschedule the journeys a pause held, then pick up prospects added meanwhile."""
    released = tx(lifecycle.release_held, campaign_id=campaign_id, account_id=account_id)
    if campaign_id is not None:
        return released + schedule_campaign(campaign_id)
    return released


def _campaigns_with_pending(session: Session, now: datetime) -> list[int]:
    active = session.execute(
        sa.select(Campaign.id).where(Campaign.status == CampaignStatus.ACTIVE).order_by(Campaign.id)
    ).scalars()
    return [cid for cid in active if pending_prospects(session, cid, limit=1)]


@DBOS.workflow()
def sweep(scheduled_at: datetime, context: Any) -> None:
    """Every active campaign with pending prospects gets them scheduled (idempotently),
    every recent reply has its reply agent, and every journey without a live workflow
    behind it is repaired (``doctor``)."""
    for campaign_id in tx(_campaigns_with_pending):
        schedule_campaign(campaign_id)
    tx(restart_lost)  # replies whose agent never started
    DBOS.set_event("repaired", doctor.repair_all())
