"""A referral ("talk to Jordan Lee instead"): the person named becomes a prospect of the
same campaign, when a person asks, through the import (so the do-not-contact list, the
other campaigns' people and the campaign's texts are checked as for any row).

What the reply gave is offered: the name the classifier read and a LinkedIn profile
address if the reply holds one; a person confirms or completes it (a name alone does not
say which LinkedIn member is meant).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from outreach.errors import Conflict, InvalidInput, NotFound
from outreach.models import InboundMessage, Journey, Prospect, ReplyIntent
from outreach.prospects.commands import import_prospects
from outreach.prospects.identity import slug_from_url
from outreach.prospects.repository import prospect_variables
from outreach.replies.classify import classify
from outreach.runtime import Runtime

_PROFILE = re.compile(
    r"(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/in/[A-Za-z0-9\-_%]+/?", re.IGNORECASE
)


class Referral(BaseModel):
    """Who a reply points to, as far as it says."""

    name: str | None = Field(description="The person named, as the classifier read it.")
    profile_url: str | None = Field(description="A LinkedIn profile address in the reply.")


class ReferralIn(BaseModel):
    profile_url: str = Field(min_length=1, max_length=500)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)


class ReferralAdded(BaseModel):
    campaign_id: int
    public_identifier: str
    prospect_id: int = Field(description="The new prospect.")


def referral_in(text: str) -> Referral | None:
    """The referral a reply makes, if it makes one."""
    read = classify(text)
    found = _PROFILE.search(text)
    if read.intent is not ReplyIntent.REFERRAL and not found:
        return None
    url = found.group(0) if found else None
    if url and not url.lower().startswith("http"):
        url = f"https://{url}"
    return Referral(name=read.referral, profile_url=url)


def latest_referral(session: Session, journey_id: int) -> Referral | None:
    """The referral in the journey's latest reply, if it makes one."""
    text = session.execute(
        sa.select(InboundMessage.text)
        .where(InboundMessage.journey_id == journey_id)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    ).scalar()
    return referral_in(text) if text else None


def add_referral(rt: Runtime, journey_id: int, data: ReferralIn) -> ReferralAdded:
    """Import the person a reply named into the journey's campaign, referred by its
    prospect. A refused row is a 422 (bad address or text), or 409 (in another campaign,
    on the do-not-contact list) that says why."""
    with rt.sessions() as session:
        journey = session.get(Journey, journey_id)
        if journey is None:
            raise NotFound(f"journey {journey_id} not found")
        if journey.replied_at is None:
            raise Conflict("this prospect has not replied: there is no referral to add")
        prospect = journey.prospect
        referrer = prospect_variables(prospect).get("full_name") or prospect.public_identifier
        campaign_id = journey.campaign_id
    row = data.model_dump(exclude_none=True) | {"referred_by": referrer}
    result = import_prospects(rt, campaign_id, [(1, row)])
    if result.errors:
        raise InvalidInput(result.errors[0].error, details={"row": row})
    if result.conflicts:
        conflict = result.conflicts[0]
        raise Conflict(
            f"{conflict.public_identifier} is in campaign “{conflict.campaign_name}” already",
            details={"campaign_id": conflict.campaign_id},
        )
    if result.duplicates:
        raise Conflict(f"{slug_from_url(data.profile_url)} is a prospect of this campaign already")
    if result.blocked:
        raise Conflict(f"{result.blocked[0].public_identifier}: {result.blocked[0].reason}")
    slug = slug_from_url(data.profile_url)  # the import read it already: it is valid
    with rt.sessions() as session:
        prospect_id = session.execute(
            sa.select(Prospect.id).where(
                Prospect.campaign_id == campaign_id, Prospect.public_identifier == slug
            )
        ).scalar()
    assert prospect_id is not None
    return ReferralAdded(campaign_id=campaign_id, public_identifier=slug, prospect_id=prospect_id)
