"""What needs a person: drafts to approve, senders paused or backing off, journeys that
failed, replies.

The dashboard's notification area (a count in the top bar, live, and ``/notifications``)
and ``GET /api/notifications`` read it. Each list is a short indexed query: senders are
few; failed journeys come from the (status, ended_at) index, replies from replied_at's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from outreach.accounts.status import why_paused
from outreach.models import (
    Account,
    AccountStatus,
    DraftStatus,
    Journey,
    JourneyStatus,
    Prospect,
    ReplyDraft,
)
from outreach.replies.inbox import unread_total

RECENT = timedelta(days=7)  # simulated: failures and replies this recent are listed
SHOWN = 10

Kind = Literal["sender", "failed", "reply", "draft"]


class Notice(BaseModel):
    kind: Kind
    title: str
    detail: str
    at: datetime | None = Field(description="Simulated time.")
    href: str


class Notices(BaseModel):
    senders: list[Notice]
    failed: list[Notice]
    replies: list[Notice]
    drafts: list[Notice] = Field(description="The reply agent's drafts waiting for a person.")
    failed_total: int = Field(description="Journeys failed in the last 7 simulated days.")
    replies_total: int = Field(description="Replies in the last 7 simulated days.")
    drafts_total: int = Field(description="Drafts waiting for a person, however old.")
    unread: int = Field(
        default=0, description="Conversations with a reply nobody has read (the inbox's count)."
    )

    @property
    def count(self) -> int:
        return len(self.senders) + self.failed_total + self.replies_total + self.drafts_total


def _name(first: str | None, last: str | None, slug: str) -> str:
    return " ".join(p for p in (first, last) if p) or slug


def notices(session: Session, now: datetime) -> Notices:
    since = now - RECENT
    senders = [
        Notice(
            kind="sender",
            title=f"{a.name} is {'backing off' if a.status is AccountStatus.BACKOFF else 'paused'}",
            detail=(
                f"backing off: {a.status_reason or 'a LinkedIn limit'}"
                if a.status is AccountStatus.BACKOFF
                else (a.status_reason or why_paused(a))
            ),
            at=a.paused_until,
            href=f"/accounts/{a.id}",
        )
        for a in session.execute(
            sa.select(Account).where(Account.status != AccountStatus.ACTIVE).order_by(Account.id)
        ).scalars()
    ]
    person = (Prospect.first_name, Prospect.last_name, Prospect.public_identifier)
    failed_where = (Journey.status == JourneyStatus.FAILED, Journey.ended_at >= since)
    failed = [
        Notice(
            kind="failed",
            title=f"{_name(*row[2:5])}'s journey failed",
            detail=row.end_reason or "",
            at=row.ended_at,
            href=f"/journeys/{row.id}",
        )
        for row in session.execute(
            sa.select(Journey.id, Journey.ended_at, *person, Journey.end_reason)
            .join(Prospect, Prospect.id == Journey.prospect_id)
            .where(*failed_where)
            .order_by(Journey.ended_at.desc())
            .limit(SHOWN)
        )
    ]
    replies = [
        Notice(
            kind="reply",
            title=f"{_name(*row[2:5])} replied",
            detail="their sequence stopped; read the reply on the journey",
            at=row.replied_at,
            href=f"/journeys/{row.id}",
        )
        for row in session.execute(
            sa.select(Journey.id, Journey.replied_at, *person)
            .join(Prospect, Prospect.id == Journey.prospect_id)
            .where(Journey.replied_at >= since)
            .order_by(Journey.replied_at.desc())
            .limit(SHOWN)
        )
    ]
    waiting = ReplyDraft.status == DraftStatus.PENDING
    drafts = [
        Notice(
            kind="draft",
            title=f"An answer to {_name(*row[2:5])} waits for your approval",
            detail=f"they replied {row.intent.value.replace('_', ' ')}; nothing is sent until "
            "you decide",
            at=row.created_at,
            href=f"/journeys/{row.journey_id}#conversation",
        )
        for row in session.execute(
            sa.select(ReplyDraft.journey_id, ReplyDraft.created_at, *person, ReplyDraft.intent)
            .join(Journey, Journey.id == ReplyDraft.journey_id)
            .join(Prospect, Prospect.id == Journey.prospect_id)
            .where(waiting)
            .order_by(ReplyDraft.id.desc())
            .limit(SHOWN)
        )
    ]
    drafts_total = session.execute(
        sa.select(sa.func.count()).select_from(ReplyDraft).where(waiting)
    ).scalar_one()
    failed_total = session.execute(
        sa.select(sa.func.count()).select_from(Journey).where(*failed_where)
    ).scalar_one()
    replies_total = session.execute(
        sa.select(sa.func.count()).select_from(Journey).where(Journey.replied_at >= since)
    ).scalar_one()
    return Notices(
        senders=senders,
        failed=failed,
        replies=replies,
        failed_total=failed_total,
        replies_total=replies_total,
        drafts=drafts,
        drafts_total=drafts_total,
        unread=unread_total(session),
    )
