"""A conversation: every message between one sender and one prospect in one journey, both
ways, oldest first, with the drafts its replies were given. Ours come from the timeline
(the follow-ups and answers sent, each recorded once when LinkedIn took it), theirs from
the stored inbound messages (once per provider message id)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from outreach.errors import NotFound
from outreach.models import EventKind, InboundMessage, Journey, JourneyEvent, ReplyDraft
from outreach.replies.commands import DraftOut
from outreach.replies.referral import Referral, latest_referral


class Message(BaseModel):
    direction: Literal["ours", "theirs"]
    at: datetime = Field(description="Simulated time.")
    text: str
    what: str = Field(
        description="invitation note, follow-up N, answer, answer (sent by hand), or reply."
    )
    source: str | None = Field(default=None, description="How a reply reached us.")


class Conversation(BaseModel):
    journey_id: int
    messages: list[Message]
    drafts: list[DraftOut] = Field(description="Newest first; at most one waits (pending).")
    pending: DraftOut | None = Field(description="The draft waiting for a decision, if any.")
    referral: Referral | None = Field(
        default=None,
        description="Who the latest reply points to, if anyone (`POST …/referral` adds them).",
    )


def _ours(event: JourneyEvent) -> Message | None:
    text = event.details.get("text") or event.details.get("note")
    if not text:
        return None
    if event.kind is EventKind.INVITATION_SENT:
        what = "invitation note"
    elif event.kind is EventKind.MESSAGE_SENT:
        what = f"follow-up {event.details.get('follow_up')}"
    else:
        what = "answer (sent by hand)" if event.details.get("by_hand") else "answer"
    return Message(direction="ours", at=event.at, text=text, what=what)


def conversation(session: Session, journey_id: int) -> Conversation:
    if session.get(Journey, journey_id) is None:
        raise NotFound(f"no journey {journey_id}")
    sent = session.scalars(
        sa.select(JourneyEvent).where(
            JourneyEvent.journey_id == journey_id,
            JourneyEvent.kind.in_(
                [EventKind.INVITATION_SENT, EventKind.MESSAGE_SENT, EventKind.ANSWER_SENT]
            ),
        )
    )
    messages = [m for m in map(_ours, sent) if m is not None]
    messages += [
        Message(direction="theirs", at=row.at, text=row.text, what="reply", source=row.source)
        for row in session.scalars(
            sa.select(InboundMessage).where(InboundMessage.journey_id == journey_id)
        )
    ]
    messages.sort(key=lambda m: m.at)
    drafts = [
        DraftOut.model_validate(d)
        for d in session.scalars(
            sa.select(ReplyDraft)
            .where(ReplyDraft.journey_id == journey_id)
            .order_by(ReplyDraft.id.desc())
        )
    ]
    pending = next((d for d in drafts if d.status == "pending"), None)
    return Conversation(
        journey_id=journey_id,
        messages=messages,
        drafts=drafts,
        pending=pending,
        referral=latest_referral(session, journey_id),
    )
