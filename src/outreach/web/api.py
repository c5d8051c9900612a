"""The JSON API under /api: thin routes over the services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from outreach.accounts import service as accounts
from outreach.accounts.schemas import AccountCreate, AccountOut
from outreach.campaigns import service as campaigns
from outreach.campaigns.schemas import Accepted, CampaignCreate, CampaignSummary, LaunchRequest
from outreach.errors import Conflict, InvalidInput
from outreach.journeys import service as journeys
from outreach.journeys.schemas import JourneyDetail, JourneyOut
from outreach.prospects.importer import parse_rows
from outreach.prospects.service import ImportResult, import_prospects
from outreach.runtime import Runtime
from outreach.web import actions
from outreach.web.deps import get_runtime, get_session, require_api_key

router = APIRouter(prefix="/api", dependencies=[Depends(require_api_key)])


@router.get("/health", tags=["system"])
def health(rt: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return {
        "status": "ok",
        "sim_time": rt.clock.now(),
        "time_scale": rt.clock.scale,
        "provider": rt.settings.linkedin_provider,
    }


@router.post("/accounts", status_code=201, response_model=AccountOut, tags=["accounts"])
def create_account(
    data: AccountCreate, rt: Runtime = Depends(get_runtime), session: Session = Depends(get_session)
) -> Any:
    driven_by = rt.settings.linkedin_provider
    return accounts.create_account(session, data, now=rt.clock.now(), driven_by=driven_by)


@router.get("/accounts", response_model=list[AccountOut], tags=["accounts"])
def list_accounts(session: Session = Depends(get_session)) -> Any:
    return accounts.list_accounts(session)


@router.get("/accounts/{account_id}", response_model=AccountOut, tags=["accounts"])
def get_account(account_id: int, session: Session = Depends(get_session)) -> Any:
    return accounts.get_account(session, account_id)


@router.post("/accounts/{account_id}/pause", response_model=AccountOut, tags=["accounts"])
def pause_account(account_id: int, session: Session = Depends(get_session)) -> Any:
    return accounts.pause_account(session, account_id)


@router.post("/accounts/{account_id}/resume", response_model=AccountOut, tags=["accounts"])
def resume_account(account_id: int, rt: Runtime = Depends(get_runtime)) -> Any:
    return actions.resume_account(rt, account_id)


@router.post("/campaigns", status_code=201, response_model=CampaignSummary, tags=["campaigns"])
def create_campaign(
    data: CampaignCreate,
    rt: Runtime = Depends(get_runtime),
    session: Session = Depends(get_session),
) -> Any:
    campaign = campaigns.create_campaign(session, data, now=rt.clock.now())
    return campaigns.summarize(session, campaign)


@router.get("/campaigns", response_model=list[CampaignSummary], tags=["campaigns"])
def list_campaigns(session: Session = Depends(get_session)) -> Any:
    return [campaigns.summarize(session, c) for c in campaigns.list_campaigns(session)]


@router.get("/campaigns/{campaign_id}", response_model=CampaignSummary, tags=["campaigns"])
def get_campaign(campaign_id: int, session: Session = Depends(get_session)) -> Any:
    return campaigns.summarize(session, campaigns.get_campaign(session, campaign_id))


async def _prospect_rows(request: Request) -> list[tuple[int, dict[str, Any]]]:
    body = (await request.body()).decode("utf-8-sig", errors="replace")
    json_format = "json" in request.headers.get("content-type", "")
    try:
        return parse_rows(body, json_format=json_format)
    except ValueError as exc:
        raise InvalidInput(f"the body is not a prospect list: {exc}") from exc


@router.post("/campaigns/{campaign_id}/prospects", tags=["campaigns"])
async def add_prospects(
    campaign_id: int, request: Request, rt: Runtime = Depends(get_runtime)
) -> ImportResult:
    """Import prospects as a JSON list or a CSV body; good rows are kept, bad rows reported."""
    rows = await _prospect_rows(request)
    with rt.sessions.begin() as session:
        return import_prospects(session, campaign_id, rows, now=rt.clock.now())


@router.post(
    "/campaigns/linkedin/execute", status_code=202, response_model=Accepted, tags=["campaigns"]
)
def execute_campaign(body: LaunchRequest, rt: Runtime = Depends(get_runtime)) -> Any:
    """Launch a campaign (the seed's endpoint): journeys are created and paced in the background."""
    return actions.launch_campaign(rt, body.campaign_id)


@router.post(
    "/campaigns/{campaign_id}/launch", status_code=202, response_model=Accepted, tags=["campaigns"]
)
def launch_campaign(campaign_id: int, rt: Runtime = Depends(get_runtime)) -> Any:
    return actions.launch_campaign(rt, campaign_id)


@router.post("/campaigns/{campaign_id}/pause", response_model=Accepted, tags=["campaigns"])
def pause_campaign(campaign_id: int, rt: Runtime = Depends(get_runtime)) -> Any:
    return actions.pause_campaign(rt, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/resume", status_code=202, response_model=Accepted, tags=["campaigns"]
)
def resume_campaign(campaign_id: int, rt: Runtime = Depends(get_runtime)) -> Any:
    return actions.resume_campaign(rt, campaign_id)


@router.get("/campaigns/{campaign_id}/journeys", response_model=list[JourneyOut], tags=["journeys"])
def campaign_journeys(
    campaign_id: int,
    status: str | None = Query(default=None),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    session: Session = Depends(get_session),
) -> Any:
    campaigns.get_campaign(session, campaign_id)
    try:
        return journeys.list_journeys(
            session, campaign_id, status=status, limit=limit, offset=offset
        )
    except ValueError as exc:
        raise InvalidInput(f"unknown status {status!r}") from exc


@router.get("/journeys/{journey_id}", response_model=JourneyDetail, tags=["journeys"])
def get_journey(journey_id: int, session: Session = Depends(get_session)) -> Any:
    return journeys.journey_detail(session, journey_id)


class SandboxReply(BaseModel):
    text: str | None = Field(default=None, max_length=8000, description="Default: a typical reply.")


@router.post("/sandbox/journeys/{journey_id}/reply", status_code=202, tags=["sandbox"])
def sandbox_reply(
    journey_id: int, body: SandboxReply, rt: Runtime = Depends(get_runtime)
) -> dict[str, str]:
    """Make the simulated prospect reply now; the sandbox delivers it like a webhook would."""
    if rt.simulator is None:
        raise Conflict("replies can only be simulated when the sandbox drives LinkedIn")
    with rt.sessions() as session:
        target = journeys.reply_target(session, journey_id)
    message_id = rt.simulator.reply(target.account, target.provider_id, body.text)
    return {"message_id": message_id}
