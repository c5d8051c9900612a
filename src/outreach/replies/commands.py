"""What a person does with a draft: approve it (as is, edited, or replaced by their own
words), reject it, or, in draft-only mode, say they sent it by hand. And what the clock
does to one nobody decided on: it expires.

Each decision is one transaction that locks the journey, then the draft (the global
order), so two people deciding at once are served one after the other: the first wins,
the second is told what happened. An approval starts the send after its commit, under
the draft's id: however often it is asked, one workflow sends.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from outreach.campaigns.sequence import MESSAGE_LIMIT
from outreach.clock import wall_now
from outreach.errors import Conflict, NotFound
from outreach.journeys import lifecycle
from outreach.models import DraftStatus, EventKind, Journey, ReplyDraft
from outreach.replies import inbox
from outreach.replies.agent import approve_in, decide, lock_draft, newer_reply
from outreach.runtime import Runtime
from outreach.uow import transaction

EXPIRE_BATCH = 200


class DraftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    journey_id: int
    account_id: int
    inbound_id: int = Field(description="The reply it answers.")
    intent: str
    text: str = Field(description="What the reply agent proposed.")
    answer: str | None = Field(description="What a person approved (and what was sent).")
    status: DraftStatus
    provenance: dict[str, object] = Field(
        description="Who drafted it: drafter, classifier, confidence, prompt version, cost."
    )
    created_at: datetime = Field(description="Simulated time.")
    expires_at: datetime = Field(description="Wall-clock time: undecided, it expires then.")
    decided_at: datetime | None
    decided_by: str | None
    sent_at: datetime | None
    sent_message_id: str | None
    error: str | None = Field(description="Why it failed, or what superseded it.")
    notified_at: datetime | None
    notify_error: str | None


class Approval(BaseModel):
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=MESSAGE_LIMIT,
        description="The answer to send: the draft edited, or your own words. Leave it out "
        "to send the draft as it is.",
    )


class Rejection(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


def _decidable(session: Session, draft_id: int) -> tuple[ReplyDraft, Journey]:
    """The draft and its journey, locked, if a person may still decide on it."""
    found = lock_draft(session, draft_id)
    if found is None:
        raise NotFound(f"no draft {draft_id}")
    draft, journey = found
    if draft.status is not DraftStatus.PENDING:
        by = f" by {draft.decided_by}" if draft.decided_by else ""
        raise Conflict(
            f"draft {draft_id} is {draft.status.value.replace('_', ' ')}{by}: "
            "there is nothing left to decide",
            details={"status": draft.status.value},
        )
    if draft.expires_at <= wall_now():
        raise Conflict(f"draft {draft_id} expired at {draft.expires_at:%Y-%m-%d %H:%M} UTC")
    if newer_reply(session, journey.id, draft.inbound_id) is not None:
        raise Conflict(
            "the prospect replied again since this draft was written: read the new reply "
            "first (its own draft follows)"
        )
    return draft, journey


def approve(rt: Runtime, draft_id: int, text: str | None, *, by: str) -> DraftOut:
    """Send ``text`` (or the draft as written) once, after this commit."""
    if rt.settings.draft_only:
        raise Conflict(
            "draft-only mode: Outreach sends nothing itself. Copy the text into LinkedIn, "
            "then mark it sent",
            details={"mark_sent": f"/api/drafts/{draft_id}/mark-sent"},
        )
    with transaction(rt) as session:
        draft, journey = _decidable(session, draft_id)
        now = rt.clock.now()
        answer = (text or draft.text).strip()
        if not answer:
            raise Conflict("the answer is empty")
        approve_in(session, draft, journey, answer, by=by, now=now)
        session.flush()
        return DraftOut.model_validate(draft)


def reject(rt: Runtime, draft_id: int, reason: str | None, *, by: str) -> DraftOut:
    with transaction(rt) as session:
        draft, journey = _decidable(session, draft_id)
        now = rt.clock.now()
        decide(draft, DraftStatus.REJECTED, by=by, now=now)
        draft.error = reason
        lifecycle.add_event(
            session, journey, EventKind.DRAFT_REJECTED, now, draft_id=draft.id, by=by, reason=reason
        )
        session.flush()
        return DraftOut.model_validate(draft)


def mark_sent(rt: Runtime, draft_id: int, text: str | None, *, by: str) -> DraftOut:
    """A person sent the answer by hand (``text``: what they sent, if not the draft)."""
    with transaction(rt) as session:
        draft, journey = _decidable(session, draft_id)
        now = rt.clock.now()
        decide(draft, DraftStatus.MARKED_SENT, by=by, now=now)
        draft.answer = (text or draft.text).strip()
        draft.sent_at = now
        lifecycle.add_event(
            session,
            journey,
            EventKind.ANSWER_SENT,
            now,
            draft_id=draft.id,
            text=draft.answer,
            by_hand=True,
            by=by,
        )
        session.flush()
        return DraftOut.model_validate(draft)


def expire_due(rt: Runtime) -> int:
    """Drafts nobody decided on in time expire (and say so on the timeline). How many."""
    deadline = wall_now()
    with rt.sessions() as session:  # a read: no writer's lock unless a draft is due
        due = session.scalars(
            sa.select(ReplyDraft.id)
            .where(ReplyDraft.status == DraftStatus.PENDING, ReplyDraft.expires_at <= deadline)
            .order_by(ReplyDraft.journey_id)
            .limit(EXPIRE_BATCH)
        ).all()
    expired = 0
    for draft_id in due:
        with transaction(rt) as session:
            found = lock_draft(session, draft_id)
            if found is None or found[0].status is not DraftStatus.PENDING:
                continue  # a person decided in the meantime
            draft, journey = found
            now = rt.clock.now()
            draft.status = DraftStatus.EXPIRED
            draft.decided_at = now
            hours = rt.settings.draft_timeout_hours
            draft.error = f"nobody decided within {hours:g} hours"
            lifecycle.add_event(
                session, journey, EventKind.DRAFT_EXPIRED, now, draft_id=draft.id, hours=hours
            )
            expired += 1
    return expired


def get_draft(session: Session, draft_id: int) -> DraftOut:
    draft = session.get(ReplyDraft, draft_id)
    if draft is None:
        raise NotFound(f"no draft {draft_id}")
    return DraftOut.model_validate(draft)


def list_drafts(
    session: Session,
    *,
    status: DraftStatus | None = None,
    journey_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DraftOut], int]:
    where = []
    if status is not None:
        where.append(ReplyDraft.status == status)
    if journey_id is not None:
        where.append(ReplyDraft.journey_id == journey_id)
    rows = session.scalars(
        sa.select(ReplyDraft)
        .where(*where)
        .order_by(ReplyDraft.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.execute(
        sa.select(sa.func.count()).select_from(ReplyDraft).where(*where)
    ).scalar_one()
    return [DraftOut.model_validate(r) for r in rows], int(total)


class ReadMark(BaseModel):
    journey_id: int
    marked: int = Field(description="How many replies were unread before.")


def mark_read(rt: Runtime, journey_id: int, *, by: str | None) -> ReadMark:
    """A person has seen this conversation's replies so far (the inbox's unread count)."""
    with transaction(rt) as session:
        if session.get(Journey, journey_id) is None:
            raise NotFound(f"journey {journey_id} not found")
        return ReadMark(journey_id=journey_id, marked=inbox.mark_read(session, journey_id, by))
