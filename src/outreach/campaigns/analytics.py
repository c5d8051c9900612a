"""How campaigns and senders do: the funnel, its rates, what happened each day.

Never from the event table: the funnel is read from the journey tallies (the counts of
journeys with each milestone, ``invited_at``, ``accepted_at``, ``replied_at``, that the
database keeps per campaign, sender and state: ``journeys.tallies``), so it costs a few
rows whatever the number of journeys; the days come from ``sender_actions`` (by campaign
or sender, kind and time, indexed) and from ``replied_at``. Days are UTC days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from outreach.journeys import tallies
from outreach.models import Campaign, Journey, SenderAction

DAYS = 30


class Funnel(BaseModel):
    journeys: int
    invited: int = Field(description="Invitations sent (or already connected).")
    accepted: int
    replied: int
    positive: int = Field(description="Replies marked interested.")
    acceptance_rate: float | None = Field(description="accepted / invited")
    reply_rate: float | None = Field(description="replied / invited")
    reply_rate_connected: float | None = Field(description="replied / accepted")
    positive_rate: float | None = Field(description="positive / replied")


class Daily(BaseModel):
    """One value per UTC day, oldest first."""

    days: list[date]
    invitations: list[int]
    messages: list[int]
    replies: list[int]


class CampaignStats(BaseModel):
    id: int
    name: str
    status: str
    funnel: Funnel


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _of(counts: tallies.Counts | None) -> Funnel:
    c = counts or tallies.Counts()
    return Funnel(
        journeys=c.journeys,
        invited=c.invited,
        accepted=c.accepted,
        replied=c.replied,
        positive=c.positive,
        acceptance_rate=_rate(c.accepted, c.invited),
        reply_rate=_rate(c.replied, c.invited),
        reply_rate_connected=_rate(c.replied, c.accepted),
        positive_rate=_rate(c.positive, c.replied),
    )


def funnel(
    session: Session, *, campaign_id: int | None = None, account_id: int | None = None
) -> Funnel:
    """A campaign's or a sender's funnel (or everyone's), from the tallies."""
    if campaign_id is not None and account_id is not None:
        raise ValueError("a campaign's funnel or a sender's, not both")
    if campaign_id is not None:
        return _of(tallies.by_campaign(session, [campaign_id]).get(campaign_id))
    if account_id is not None:
        return _of(tallies.by_sender(session, [account_id]).get(account_id))
    return _of(tallies.total(session))


def by_sender(session: Session, account_ids: list[int]) -> dict[int, Funnel]:
    """Each sender's funnel (one query)."""
    found = tallies.by_sender(session, account_ids)
    return {aid: _of(found.get(aid)) for aid in account_ids}


def compare(session: Session) -> list[CampaignStats]:
    """Every campaign's funnel, side by side (one query over the tallies)."""
    counts = tallies.by_campaign(session)
    campaigns = session.execute(
        sa.select(Campaign.id, Campaign.name, Campaign.status).order_by(Campaign.id)
    ).all()
    return [
        CampaignStats(id=c.id, name=c.name, status=c.status.value, funnel=_of(counts.get(c.id)))
        for c in campaigns
    ]


def _day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(column, "YYYY-MM-DD")
    return sa.func.substr(column, 1, 10)  # SQLite keeps 'YYYY-MM-DD HH:MM:SS…'


def daily(
    session: Session,
    *,
    now: datetime,
    campaign_id: int | None = None,
    account_id: int | None = None,
    days: int = DAYS,
) -> Daily:
    """Invitations, messages and replies per UTC day, over the last ``days`` days."""
    first = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    span = [first + timedelta(days=n) for n in range(days)]
    per_kind: dict[str, dict[str, int]] = {"invitation": {}, "message": {}}
    day = _day(session, SenderAction.at)
    actions = (
        sa.select(SenderAction.kind, day, sa.func.count())
        .where(SenderAction.kind.in_(per_kind), SenderAction.at >= since)
        .group_by(SenderAction.kind, day)
    )
    if campaign_id is not None:
        actions = actions.where(SenderAction.campaign_id == campaign_id)
    if account_id is not None:
        actions = actions.where(SenderAction.account_id == account_id)
    for kind, on, count in session.execute(actions):
        per_kind[kind][on] = count
    replied_day = _day(session, Journey.replied_at)
    replies_query = (
        sa.select(replied_day, sa.func.count())
        .where(Journey.replied_at >= since)
        .group_by(replied_day)
    )
    if campaign_id is not None:
        replies_query = replies_query.where(Journey.campaign_id == campaign_id)
    if account_id is not None:
        replies_query = replies_query.where(Journey.account_id == account_id)
    replies = {on: count for on, count in session.execute(replies_query)}
    keys = [d.isoformat() for d in span]
    return Daily(
        days=span,
        invitations=[per_kind["invitation"].get(k, 0) for k in keys],
        messages=[per_kind["message"].get(k, 0) for k in keys],
        replies=[replies.get(k, 0) for k in keys],
    )
