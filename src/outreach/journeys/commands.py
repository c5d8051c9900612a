"""What a person does to one journey from its page or the API (the prospect-level actions,
stop, remove, do-not-contact, are ``prospects.actions``)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from outreach.errors import Conflict, NotFound
from outreach.journeys import lifecycle
from outreach.journeys.schemas import JourneyOut
from outreach.journeys.service import to_out
from outreach.models import EventKind, Journey, ReplyIntent
from outreach.runtime import Runtime
from outreach.uow import Work, defer, transaction


def mark_reply(rt: Runtime, journey_id: int, intent: ReplyIntent | None, *, by: str) -> JourneyOut:
    """Say what the prospect's reply means (``None``: not said any more). "interested"
    counts as the funnel's positive step; "unsubscribe" puts the person on the
    do-not-contact list. A journey with no reply yet answers ``Conflict``."""
    with transaction(rt) as session:
        found = session.execute(sa.select(Journey.id).where(Journey.id == journey_id)).scalar()
        if found is None:
            raise NotFound(f"no journey {journey_id}")
        # The journey alone: nothing is booked, no lock is taken after it.
        journey = lifecycle.lock_journey(session, journey_id, sender=False)
        if journey.replied_at is None:
            raise Conflict("the prospect has not replied: there is no reply to mark yet")
        if intent is ReplyIntent.UNSUBSCRIBE and journey.reply_intent != intent:
            # After this commit, in its own transaction (it locks other journeys).
            defer(
                session,
                Work(
                    "outreach.replies.workflows:stop_contacting",
                    (journey.prospect.public_identifier, f"marked “unsubscribe” by {by}", "person"),
                    workflow_id=f"mark-dnc-{journey.id}-{uuid.uuid4().hex}",
                ),
            )
        if journey.reply_intent != intent:
            was = journey.reply_intent
            journey.reply_intent = intent
            journey.updated_at = rt.clock.now()
            lifecycle.add_event(
                session,
                journey,
                EventKind.REPLY_MARKED,
                rt.clock.now(),
                intent=intent.value if intent else None,
                was=was.value if was else None,
                by=by,
            )
        session.flush()
        return to_out(journey)
