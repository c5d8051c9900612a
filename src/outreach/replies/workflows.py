"""What a reply's meaning sets off, after the commit that recorded it."""

from __future__ import annotations

from datetime import datetime

from dbos import DBOS
from sqlalchemy.orm import Session

from outreach.engine import tx
from outreach.models import DoNotContactKind, DoNotContactSource
from outreach.prospects import dnc
from outreach.prospects.schemas import DoNotContactIn


@DBOS.workflow()
def stop_contacting(public_identifier: str, reason: str, source: str = "reply_agent") -> int:
    """The person asked not to be contacted (or said no, and nothing else): they go on
    the do-not-contact list, which every campaign, import and sweep respects, and their
    journeys still open stop. How many stopped. ``source``: who read the reply so."""
    return tx(_block, public_identifier, reason, DoNotContactSource(source))


def _block(
    session: Session,
    now: datetime,
    public_identifier: str,
    reason: str,
    source: DoNotContactSource,
) -> int:
    entry = DoNotContactIn(kind=DoNotContactKind.PERSON, value=public_identifier, reason=reason)
    return dnc.add_entries(session, [entry], now=now, source=source).stopped_journeys
