"""The sandbox's route in our API: make a simulated prospect reply now."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from outreach.errors import Conflict, ErrorBody
from outreach.journeys import service as journeys
from outreach.web.deps import Id, Rt

router = APIRouter(prefix="/sandbox", tags=["sandbox"])


class SandboxReply(BaseModel):
    text: str | None = Field(default=None, max_length=8000, description="Default: a typical reply.")


@router.post(
    "/journeys/{journey_id}/reply",
    status_code=202,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def sandbox_reply(journey_id: Id, body: SandboxReply, rt: Rt) -> dict[str, str]:
    """Make the simulated prospect reply now; the sandbox delivers it like a webhook would."""
    if rt.simulator is None:
        raise Conflict("replies can only be simulated when the sandbox drives LinkedIn")
    with rt.sessions() as session:
        target = journeys.reply_target(session, journey_id)
    message_id = rt.simulator.reply(target.account, target.provider_id, body.text)
    return {"message_id": message_id}
