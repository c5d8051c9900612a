"""The inbox: every prospect who replied, across senders and campaigns, newest first, with
what the reply means (the classifier's reading or a person's) and its last words.

One row per journey that got a reply (a conversation: one sender, one prospect, one
campaign), from the ``replied_at`` index; the latest reply texts of the page's rows in one
more query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from outreach.models import (
    Account,
    Campaign,
    DraftStatus,
    InboundMessage,
    Journey,
    Prospect,
    ReplyDraft,
    ReplyIntent,
)


class InboxRow(BaseModel):
    journey_id: int
    prospect: str
    company: str | None
    campaign_id: int
    campaign: str
    account_id: int
    sender: str
    intent: str | None = Field(description="What the reply means (classifier or person).")
    replied_at: datetime
    text: str | None = Field(description="The latest reply, as received.")
    replies: int = Field(description="How many replies the prospect sent.")
    draft: str | None = Field(
        default=None,
        description="Where the reply agent's latest draft is (pending: it waits for you).",
    )
    draft_id: int | None = None


@dataclass(frozen=True)
class InboxFilters:
    intent: ReplyIntent | None = None
    campaign_id: int | None = None
    account_id: int | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = [Journey.replied_at.is_not(None)]
        if self.intent is not None:
            found.append(Journey.reply_intent == self.intent)
        if self.campaign_id is not None:
            found.append(Journey.campaign_id == self.campaign_id)
        if self.account_id is not None:
            found.append(Journey.account_id == self.account_id)
        return found


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    per_intent: dict[str, int]  # within the campaign and sender asked, whatever the intent


def list_inbox(
    session: Session, filters: InboxFilters, *, limit: int = 50, offset: int = 0
) -> InboxPage:
    found = session.execute(
        sa.select(
            Journey.id,
            Journey.campaign_id,
            Journey.account_id,
            Journey.reply_intent,
            Journey.replied_at,
            Prospect.first_name,
            Prospect.last_name,
            Prospect.public_identifier,
            Prospect.company,
            Campaign.name.label("campaign"),
            Account.name.label("sender"),
        )
        .join(Prospect, Prospect.id == Journey.prospect_id)
        .join(Campaign, Campaign.id == Journey.campaign_id)
        .join(Account, Account.id == Journey.account_id)
        .where(*filters.where())
        .order_by(Journey.replied_at.desc(), Journey.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    latest = _latest_replies(session, [r.id for r in found])
    drafts = _latest_drafts(session, [r.id for r in found])
    rows = [
        InboxRow(
            journey_id=r.id,
            prospect=" ".join(n for n in (r.first_name, r.last_name) if n) or r.public_identifier,
            company=r.company,
            campaign_id=r.campaign_id,
            campaign=r.campaign,
            account_id=r.account_id,
            sender=r.sender,
            intent=r.reply_intent.value if r.reply_intent else None,
            replied_at=r.replied_at,
            text=latest.get(r.id, (None, 0))[0],
            replies=latest.get(r.id, (None, 0))[1],
            draft=drafts[r.id][1].value if r.id in drafts else None,
            draft_id=drafts[r.id][0] if r.id in drafts else None,
        )
        for r in found
    ]
    total = session.execute(
        sa.select(sa.func.count()).select_from(Journey).where(*filters.where())
    ).scalar_one()
    everyone = InboxFilters(campaign_id=filters.campaign_id, account_id=filters.account_id)
    per_intent = {
        (intent.value if intent else "unmarked"): count
        for intent, count in session.execute(
            sa.select(Journey.reply_intent, sa.func.count())
            .where(*everyone.where())
            .group_by(Journey.reply_intent)
        )
    }
    return InboxPage(rows, int(total), per_intent)


def _latest_drafts(session: Session, journey_ids: list[int]) -> dict[int, tuple[int, DraftStatus]]:
    """Per journey, its latest draft's id and status."""
    rows = session.execute(
        sa.select(ReplyDraft.journey_id, ReplyDraft.id, ReplyDraft.status)
        .where(ReplyDraft.journey_id.in_(journey_ids))
        .order_by(ReplyDraft.id)
    )
    return {journey_id: (draft_id, status) for journey_id, draft_id, status in rows}


def _latest_replies(session: Session, journey_ids: list[int]) -> dict[int, tuple[str, int]]:
    """Per journey, its latest reply's text and how many it sent."""
    found: dict[int, tuple[str, int]] = {}
    if not journey_ids:
        return found
    rows = session.execute(
        sa.select(InboundMessage.journey_id, InboundMessage.text)
        .where(InboundMessage.journey_id.in_(journey_ids))
        .order_by(InboundMessage.at, InboundMessage.id)
    )
    for journey_id, text in rows:
        assert journey_id is not None
        found[journey_id] = (text, found.get(journey_id, ("", 0))[1] + 1)
    return found
