"""The seed's events, for a Campaign Hub written for it: ``POST /api/events``.

The original system sent Inngest events (``inngest.send({name, data})``); Outreach takes
the same names and does what they mean, through the same commands as every front door:
``campaign/connector/execute`` launches a campaign (a second one answers with the same
launch), ``prospect/reply/received`` records a reply once per message id and stops the
prospect's sequence.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from outreach.accounts.repository import get_account
from outreach.campaigns import commands as campaigns
from outreach.db import DbId
from outreach.replies.service import Inbound, handle_inbound
from outreach.runtime import Runtime

TEXT_LIMIT = 8000


class ConnectorExecuteData(BaseModel):
    campaign_id: DbId


class ConnectorExecute(BaseModel):
    """Launch a campaign (the seed's "Launch Campaign" button)."""

    name: Literal["campaign/connector/execute"]
    data: ConnectorExecuteData


class ReplyReceivedData(BaseModel):
    account_id: DbId = Field(description="The sender account the prospect wrote to.")
    provider_id: str = Field(min_length=1, max_length=200, description="The prospect's ACoAA… id.")
    message_id: str = Field(min_length=1, max_length=200, description="Stored once per id.")
    text: str = Field(max_length=TEXT_LIMIT)


class ReplyReceived(BaseModel):
    """A prospect replied: the reply is stored once and their sequence stops."""

    name: Literal["prospect/reply/received"]
    data: ReplyReceivedData


SeedEvent = Annotated[ConnectorExecute | ReplyReceived, Field(discriminator="name")]


class EventResult(BaseModel):
    name: str
    outcome: str = Field(
        description="launched | already_launched | processed | duplicate | no_journey"
    )
    details: dict[str, Any] = Field(default_factory=dict)


def handle(rt: Runtime, event: ConnectorExecute | ReplyReceived) -> EventResult:
    """Do what the event means; each commits before it answers."""
    if isinstance(event, ConnectorExecute):
        accepted = campaigns.launch(rt, event.data.campaign_id)
        outcome = "launched" if accepted.started else "already_launched"
        return EventResult(name=event.name, outcome=outcome, details=accepted.model_dump())
    data = event.data
    with rt.sessions() as session:
        external_id = get_account(session, data.account_id).external_id
    inbound = Inbound(
        external_id,
        data.provider_id,
        data.message_id,
        data.text,
        rt.clock.now(),
        "event",
    )
    return EventResult(name=event.name, outcome=handle_inbound(rt, inbound))
