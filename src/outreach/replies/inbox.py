"""The inbox: every prospect who replied, across senders and campaigns, newest first, with
what the reply means (the classifier's reading or a person's), its last words, and how many
replies nobody has read yet (past the conversation's ``ConversationRead`` mark, which
opening the conversation moves).

One row per journey that got a reply (a conversation: one sender, one prospect, one
campaign), from the ``replied_at`` index; the latest reply texts of the page's rows in one
more query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.clock import wall_now
from outreach.models import (
    Account,
    Campaign,
    ConversationRead,
    DraftStatus,
    InboundMessage,
    Journey,
    Prospect,
    ReplyDraft,
    ReplyIntent,
)
from outreach.prospects.dnc import blocked_prospect_ids


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
    unread: int = Field(default=0, description="Replies nobody has opened the conversation for.")
    do_not_contact: str | None = Field(
        default=None, description="Why this person may not be contacted again, if so."
    )
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
    unread: bool = False

    def where(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = [Journey.replied_at.is_not(None)]
        if self.unread:
            found.append(_has_unread(Journey.id))
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
            Journey.prospect_id,
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
    unread = _unread(session, [r.id for r in found])
    blocked = blocked_prospect_ids(session, [r.prospect_id for r in found])
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
            unread=unread.get(r.id, 0),
            do_not_contact=blocked.get(r.prospect_id),
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


def _read_up_to(journey_id: sa.ColumnExpressionArgument[int | None]) -> sa.ColumnElement[int]:
    """The newest reply a person has seen in this conversation (0: none)."""
    return sa.func.coalesce(
        sa.select(ConversationRead.inbound_id)
        .where(ConversationRead.journey_id == journey_id)
        .scalar_subquery(),
        0,
    )


def _has_unread(journey_id: sa.ColumnExpressionArgument[int | None]) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        InboundMessage.journey_id == journey_id,
        # Correlated on the reply's own column: a subquery correlates with the query
        # right around it (the replies), not with the journeys further out.
        InboundMessage.id > _read_up_to(InboundMessage.journey_id),
    )


def _unread(session: Session, journey_ids: list[int]) -> dict[int, int]:
    """Per journey, how many of its replies are past its read mark."""
    rows = session.execute(
        sa.select(InboundMessage.journey_id, sa.func.count())
        .where(
            InboundMessage.journey_id.in_(journey_ids),
            InboundMessage.id > _read_up_to(InboundMessage.journey_id),
        )
        .group_by(InboundMessage.journey_id)
    )
    return {journey_id: count for journey_id, count in rows if journey_id is not None}


def unread_of(session: Session, journey_id: int) -> int:
    """How many of this conversation's replies nobody has read."""
    return _unread(session, [journey_id]).get(journey_id, 0)


def unread_total(session: Session) -> int:
    """Conversations with a reply nobody has read (the inbox's count in the top bar)."""
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(Journey)
            .where(Journey.replied_at.is_not(None), _has_unread(Journey.id))
        ).scalar_one()
    )


def mark_read(session: Session, journey_id: int, by: str | None) -> int:
    """A person saw this conversation: its replies so far are read. How many were unread.

    The mark only moves forward (two tabs opened at once, an older page reloaded)."""
    newest = session.execute(
        sa.select(sa.func.max(InboundMessage.id)).where(InboundMessage.journey_id == journey_id)
    ).scalar()
    if newest is None:
        return 0
    before = unread_of(session, journey_id)
    if not before:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(ConversationRead).values(
        journey_id=journey_id, inbound_id=newest, read_at=wall_now(), read_by=by
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["journey_id"],
            set_={
                "inbound_id": insert.excluded.inbound_id,
                "read_at": insert.excluded.read_at,
                "read_by": insert.excluded.read_by,
            },
            where=ConversationRead.inbound_id < insert.excluded.inbound_id,
        )
    )
    return before


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
