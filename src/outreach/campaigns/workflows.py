"""Launch, sweep and resume: the workflows that put journeys on the queue."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from dbos import DBOS
from sqlalchemy.orm import Session

from outreach.engine import enqueue, enqueue_all, tx
from outreach.journeys import repository as repo
from outreach.models import Campaign, CampaignStatus
from outreach.runtime import current

# A due stage normally starts within a queue poll; one simulated hour late means lost.
OVERDUE_AFTER = timedelta(hours=1)


# How often a launch reports its progress (a workflow event the CLI shows as a bar).
PROGRESS_EVERY = 250
# Enqueues in flight at once on PostgreSQL (SQLite has one writer: one at a time there).
ENQUEUE_THREADS = 8


@DBOS.workflow()
def schedule_campaign(campaign_id: int) -> int:
    """Create the journeys of every pending prospect and enqueue their invitations.

    Publishes ``total`` and ``enqueued`` as workflow events while it goes.
    """
    scheduled = tx(repo.create_journeys, campaign_id)
    DBOS.set_event("total", len(scheduled))
    for start in range(0, len(scheduled), PROGRESS_EVERY):
        batch = scheduled[start : start + PROGRESS_EVERY]
        enqueue_batch(batch)
        DBOS.set_event("enqueued", start + len(batch))
    return len(scheduled)


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=0.5)
def enqueue_batch(batch: list[repo.Scheduled]) -> None:
    """Enqueue a batch of stages, several at a time on PostgreSQL.

    The enqueues are not children of the launch: their ids, derived from the journeys,
    make a re-run of this step (a retry, a crash) attach to what was enqueued already.
    """
    threads = 1 if current().settings.is_sqlite else ENQUEUE_THREADS
    with ThreadPoolExecutor(threads, thread_name_prefix="enqueue") as pool:
        list(pool.map(enqueue, batch))


@DBOS.workflow()
def resume_held(campaign_id: int | None, account_id: int | None) -> int:
    """Reschedule the journeys a pause held, then pick up prospects added meanwhile."""
    scheduled = tx(repo.release_held, campaign_id=campaign_id, account_id=account_id)
    enqueue_all(scheduled)
    if campaign_id is not None:
        return len(scheduled) + schedule_campaign(campaign_id)
    return len(scheduled)


def _overdue_stages(session: Session, now: datetime) -> list[repo.Scheduled]:
    return repo.waiting_stages(session, due_before=now - OVERDUE_AFTER)


def _campaigns_with_pending(session: Session, now: datetime) -> list[int]:
    active = session.execute(
        sa.select(Campaign.id).where(Campaign.status == CampaignStatus.ACTIVE).order_by(Campaign.id)
    ).scalars()
    return [cid for cid in active if repo.pending_prospects(session, cid, limit=1)]


@DBOS.workflow()
def sweep(scheduled_at: datetime, context: Any) -> None:
    """Every active campaign with pending prospects gets them scheduled (idempotently).

    It also re-enqueues stages long overdue: should an enqueue ever have been lost (a
    crash between a webhook's transaction and its enqueue), the stage's workflow id,
    derived from the journey, makes this a no-op for every stage that was not.
    """
    for campaign_id in tx(_campaigns_with_pending):
        schedule_campaign(campaign_id)
    enqueue_all(tx(_overdue_stages))
