"""The JSON API under /api: thin routes over the domains' commands and queries.

Every route needs a bearer key (``auth.api_principal``); every error has the shape of
``errors.ErrorBody`` and is declared as such in the OpenAPI.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field

from outreach import events as seed_events
from outreach import notices
from outreach.accounts import commands as accounts
from outreach.accounts.repository import get_account as get_account_row
from outreach.accounts.schemas import AccountCreate, AccountOut, AccountUpdate
from outreach.campaigns import analytics
from outreach.campaigns import commands as campaigns
from outreach.campaigns import service as campaign_reads
from outreach.campaigns.forecast import Forecast, forecast
from outreach.campaigns.schemas import (
    Accepted,
    CampaignCreate,
    CampaignEdited,
    CampaignPreview,
    CampaignSummary,
    CampaignUpdate,
    CampaignVersionOut,
    LaunchRequest,
    PreviewRequest,
)
from outreach.db import MAX_ID, DbId
from outreach.events import EventResult, SeedEvent
from outreach.journeys import commands as journey_commands
from outreach.journeys import service as journeys
from outreach.journeys.schemas import JourneyDetail, JourneyOut
from outreach.models import (
    DoNotContactKind,
    DoNotContactSource,
    DraftStatus,
    JourneyStatus,
    ReplyIntent,
)
from outreach.prospects import actions as prospect_actions
from outreach.prospects import commands as prospects
from outreach.prospects import dnc, listing
from outreach.prospects.commands import ImportResult, import_upload
from outreach.prospects.schemas import (
    DoNotContactAdded,
    DoNotContactIn,
    DoNotContactOut,
    one_or_many,
)
from outreach.prospects.upload import rows_from_upload
from outreach.replies import commands as reply_commands
from outreach.replies import conversation, inbox, referral
from outreach.runtime import Runtime
from outreach.sandbox.api import router as sandbox_router
from outreach.users import commands as users
from outreach.users.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    Principal,
    UserCreate,
    UserOut,
)
from outreach.web.auth import ApiPrincipal, admin, api_principal
from outreach.web.deps import (
    ADMIN,
    COMMON,
    CONFLICT,
    NOT_FOUND,
    Id,
    Limit,
    Offset,
    ReadSession,
    Rt,
    csv_download,
    error,
)

TOTAL = "X-Total-Count"  # on every list route: how many match, all pages
router = APIRouter(prefix="/api", dependencies=[Depends(api_principal)], responses=COMMON)


@router.get("/health", tags=["system"])
def health(rt: Rt) -> dict[str, Any]:
    return {
        "status": "ok",
        "sim_time": rt.clock.now(),
        "time_scale": rt.clock.scale,
        "provider": rt.settings.linkedin_provider,
    }


@router.post(
    "/accounts", status_code=201, response_model=AccountOut, tags=["accounts"], responses=CONFLICT
)
def create_account(data: AccountCreate, rt: Rt) -> Any:
    """Add a sender; its LinkedIn account is checked with the provider first."""
    return accounts.create_account(rt, data)


@router.get("/accounts", response_model=list[AccountOut], tags=["accounts"])
def list_accounts(rt: Rt, response: Response) -> Any:
    """Every sender with its governor's view (`X-Total-Count`: how many)."""
    found = accounts.list_all(rt)
    response.headers[TOTAL] = str(len(found))
    return found


@router.get(
    "/accounts/{account_id}", response_model=AccountOut, tags=["accounts"], responses=NOT_FOUND
)
def get_account(account_id: Id, rt: Rt) -> Any:
    return accounts.get(rt, account_id)


@router.patch(
    "/accounts/{account_id}", response_model=AccountOut, tags=["accounts"], responses=CONFLICT
)
def update_account(account_id: Id, data: AccountUpdate, rt: Rt) -> Any:
    """Change a sender's caps, gaps, working hours or warm-up; the governor applies the
    change at its next turn (nothing is booked ahead)."""
    return accounts.update_account(rt, account_id, data)


@router.post(
    "/accounts/{account_id}/pause", response_model=AccountOut, tags=["accounts"], responses=CONFLICT
)
def pause_account(account_id: Id, rt: Rt) -> Any:
    return accounts.pause_account(rt, account_id)


@router.post(
    "/accounts/{account_id}/resume",
    response_model=AccountOut,
    tags=["accounts"],
    responses=CONFLICT,
)
def resume_account(account_id: Id, rt: Rt) -> Any:
    return accounts.resume_account(rt, account_id)


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignSummary,
    tags=["campaigns"],
    responses=CONFLICT,
)
def create_campaign(data: CampaignCreate, rt: Rt) -> Any:
    return campaigns.create_campaign(rt, data)


@router.get("/campaigns", response_model=list[CampaignSummary], tags=["campaigns"])
def list_campaigns(session: ReadSession, response: Response) -> Any:
    """Every campaign with its counts per journey state (`X-Total-Count`: how many)."""
    found = campaign_reads.summarize_all(session, campaign_reads.list_campaigns(session))
    response.headers[TOTAL] = str(len(found))
    return found


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignSummary,
    tags=["campaigns"],
    responses=NOT_FOUND,
)
def get_campaign(campaign_id: Id, session: ReadSession) -> Any:
    return campaign_reads.summarize(session, campaign_reads.get_campaign(session, campaign_id))


@router.patch(
    "/campaigns/{campaign_id}",
    response_model=CampaignEdited,
    tags=["campaigns"],
    responses=NOT_FOUND,
)
def update_campaign(campaign_id: Id, data: CampaignUpdate, rt: Rt, principal: ApiPrincipal) -> Any:
    """Rename a campaign or save a new version of its sequence and texts, running or not.

    Journeys past a step keep what they were sent; journeys not yet at it get the new
    text and day (their timeline says so); a journey waiting for a follow-up the new
    version removes ends as completed. Templates that could not be sent answer 422.
    """
    return campaigns.update_campaign(rt, campaign_id, data, saved_by=principal.username)


@router.get(
    "/campaigns/{campaign_id}/versions",
    response_model=list[CampaignVersionOut],
    tags=["campaigns"],
    responses=NOT_FOUND,
)
def campaign_versions(campaign_id: Id, session: ReadSession) -> Any:
    """Every saved version of the sequence and its texts, the newest first."""
    return campaign_reads.list_versions(session, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/preview",
    response_model=CampaignPreview,
    tags=["campaigns"],
    responses=NOT_FOUND,
)
def preview_campaign(campaign_id: Id, data: PreviewRequest, session: ReadSession) -> Any:
    """The texts rendered for a prospect of the campaign (or a sample), each with its
    length against LinkedIn's limit (300 for a note, 8,000 for a message) and its
    problems. Nothing is saved."""
    return campaign_reads.preview_campaign(
        session,
        campaign_id,
        sequence=data.sequence,
        templates=data.templates,
        prospect_id=data.prospect_id,
    )


@router.get(
    "/campaigns/{campaign_id}/forecast",
    response_model=Forecast,
    tags=["campaigns"],
    responses=NOT_FOUND,
)
def campaign_forecast(campaign_id: Id, session: ReadSession, rt: Rt) -> Any:
    """When each step of each prospect is expected, how many days the campaign takes and
    each sender's daily load: a dry run of the governor that sends (nothing is sent)."""
    return forecast(session, campaign_id, rt.clock.now())


def _import_body(rt: Runtime, campaign_id: int, body: bytes, content_type: str) -> Response:
    """Read and import a body, and encode the answer: all of it off the event loop."""
    result = import_upload(rt, campaign_id, rows_from_upload(body, content_type))
    return JSONResponse(jsonable_encoder(result))


_ROW = {
    "type": "object",
    "description": "A prospect: `profile_url` or `public_identifier`, and any other fields.",
    "additionalProperties": True,
    "example": {"profile_url": "https://www.linkedin.com/in/ada/", "first_name": "Ada"},
}
IMPORT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"type": "array", "items": _ROW},
                    {
                        "type": "object",
                        "properties": {"prospects": {"type": "array", "items": _ROW}},
                        "required": ["prospects"],
                    },
                ]
            }
        },
        "text/csv": {
            "schema": {
                "type": "string",
                "example": "profile_url,first_name\nlinkedin.com/in/ada,Ada\n",
            }
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


@router.post(
    "/campaigns/{campaign_id}/prospects",
    response_model=ImportResult,
    tags=["campaigns"],
    responses={
        **CONFLICT,
        413: error("Over the import limit (OUTREACH_MAX_IMPORT_BYTES)"),
        415: error("Not JSON, CSV or a multipart file (XLSX: save it as CSV)"),
    },
    openapi_extra={"requestBody": IMPORT_BODY},
)
async def add_prospects(campaign_id: Id, request: Request, rt: Rt) -> Response:
    """Import prospects as a JSON list or a CSV body; good rows are kept, the others reported.

    The body may be JSON, CSV (any delimiter, line ending and encoding), or a file sent as
    `multipart/form-data` (the part named `file`). Row numbers are a spreadsheet's: the
    header is row 1; in a JSON list, the 1-based index. Reported: bad rows (`errors`),
    people already in this campaign (`duplicates`), people another open campaign has in
    hand (`conflicts`, naming it) and people on the do-not-contact list (`blocked`, with
    the reason). An active campaign schedules the new prospects at once.
    """
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return await run_in_threadpool(_import_body, rt, campaign_id, body, content_type)


@router.get("/notifications", response_model=notices.Notices, tags=["system"])
def list_notifications(session: ReadSession, rt: Rt) -> Any:
    """What needs a person: senders paused or backing off, journeys failed and replies
    received in the last 7 simulated days (the latest ten of each, and the totals)."""
    return notices.notices(session, rt.clock.now())


class Analytics(BaseModel):
    funnel: analytics.Funnel
    daily: analytics.Daily


@router.get(
    "/analytics/campaigns", response_model=list[analytics.CampaignStats], tags=["analytics"]
)
def compare_campaigns(session: ReadSession) -> Any:
    """Every campaign's funnel side by side: invited, accepted, replied, and the rates."""
    return analytics.compare(session)


@router.get(
    "/campaigns/{campaign_id}/analytics",
    response_model=Analytics,
    tags=["analytics"],
    responses=NOT_FOUND,
)
def campaign_analytics(campaign_id: Id, session: ReadSession, rt: Rt) -> Any:
    """The campaign's funnel and its last 30 UTC days: invitations, messages, replies."""
    campaign_reads.get_campaign(session, campaign_id)
    return Analytics(
        funnel=analytics.funnel(session, campaign_id=campaign_id),
        daily=analytics.daily(session, now=rt.clock.now(), campaign_id=campaign_id),
    )


@router.get(
    "/accounts/{account_id}/analytics",
    response_model=Analytics,
    tags=["analytics"],
    responses=NOT_FOUND,
)
def account_analytics(account_id: Id, session: ReadSession, rt: Rt) -> Any:
    """The sender's funnel over all its campaigns, and its last 30 UTC days."""
    get_account_row(session, account_id)
    return Analytics(
        funnel=analytics.funnel(session, account_id=account_id),
        daily=analytics.daily(session, now=rt.clock.now(), account_id=account_id),
    )


@router.get(
    "/campaigns/{campaign_id}/prospects",
    response_model=list[listing.ProspectRow],
    tags=["prospects"],
    responses=NOT_FOUND,
)
def campaign_prospects(
    campaign_id: Id,
    session: ReadSession,
    response: Response,
    q: Annotated[str, Query(max_length=200, description="in name, company, identifier")] = "",
    state: listing.ProspectState | None = None,
    sort: listing.Sort = "added",
    order: listing.Order = "asc",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """The campaign's prospects, before and after launch, each with its journey's state
    (`pending` before launch). The total matching, all pages, is in `X-Total-Count`."""
    campaign_reads.get_campaign(session, campaign_id)
    query = listing.ProspectQuery(
        q=q, state=state.value if state else "", sort=sort, order=order, limit=limit, offset=offset
    )
    page = listing.list_prospects(session, campaign_id, query)
    response.headers[TOTAL] = str(page.total)
    return page.rows


@router.get(
    "/campaigns/{campaign_id}/prospects.csv",
    tags=["prospects"],
    responses={**NOT_FOUND, 200: {"content": {"text/csv": {}}, "description": "The CSV file"}},
    response_class=StreamingResponse,
)
def export_prospects(campaign_id: Id, session: ReadSession, rt: Rt) -> StreamingResponse:
    """Every prospect of the campaign as CSV, streamed, with its journey's state; a cell
    that a spreadsheet would run as a formula starts with a quote."""
    campaign_reads.get_campaign(session, campaign_id)
    return csv_download(rt, campaign_id)


@router.get(
    "/campaigns/{campaign_id}/prospects/{prospect_id}",
    response_model=listing.ProspectRow,
    tags=["prospects"],
    responses=NOT_FOUND,
)
def get_prospect(campaign_id: Id, prospect_id: Id, session: ReadSession) -> Any:
    return prospect_actions.get_prospect(session, campaign_id, prospect_id)


@router.post(
    "/campaigns/{campaign_id}/prospects/{prospect_id}/stop",
    response_model=listing.ProspectRow,
    tags=["prospects"],
    responses={**NOT_FOUND, **CONFLICT},
)
def stop_prospect(campaign_id: Id, prospect_id: Id, rt: Rt, principal: ApiPrincipal) -> Any:
    """End the prospect's journey: nothing more is sent to them (an invitation still
    unanswered is withdrawn later). Stopping an ended journey changes nothing; one not
    launched yet answers 409 (remove it instead)."""
    return prospect_actions.stop_prospect(rt, campaign_id, prospect_id, by=principal.username)


@router.delete(
    "/campaigns/{campaign_id}/prospects/{prospect_id}",
    status_code=204,
    tags=["prospects"],
    responses={**NOT_FOUND, **CONFLICT},
)
def remove_prospect(campaign_id: Id, prospect_id: Id, rt: Rt) -> Response:
    """Take the prospect out of the campaign. One already contacted answers 409: stop it,
    its history stays."""
    prospect_actions.remove_prospect(rt, campaign_id, prospect_id)
    return Response(status_code=204)


@router.post(
    "/campaigns/{campaign_id}/prospects/{prospect_id}/do-not-contact",
    response_model=DoNotContactAdded,
    tags=["prospects"],
    responses=NOT_FOUND,
)
def block_prospect(campaign_id: Id, prospect_id: Id, rt: Rt) -> Any:
    """Put the person on the do-not-contact list: their journeys stop, in every campaign,
    and no import or campaign takes them again."""
    return prospect_actions.block_prospect(rt, campaign_id, prospect_id)


@router.post(
    "/events",
    response_model=list[EventResult],
    tags=["events"],
    responses={**NOT_FOUND, **CONFLICT},
)
def send_events(
    events: Annotated[SeedEvent | Annotated[list[SeedEvent], Field(max_length=100)], Body()],
    rt: Rt,
) -> Any:
    """The seed's events, one or a list, as a Campaign Hub written for Inngest sends them:
    `{"name": "campaign/connector/execute", "data": {"campaign_id": 1}}` launches a
    campaign; `{"name": "prospect/reply/received", "data": {"account_id", "provider_id",
    "message_id", "text"}}` records a reply (once per message id) and stops the sequence.
    Each event is done, and committed, in turn; the first that fails answers its error."""
    return [seed_events.handle(rt, event) for event in _listed(events)]


def _listed(events: SeedEvent | list[SeedEvent]) -> list[SeedEvent]:
    return events if isinstance(events, list) else [events]


@router.get("/do-not-contact", response_model=list[DoNotContactOut], tags=["do-not-contact"])
def list_do_not_contact(
    session: ReadSession,
    response: Response,
    kind: DoNotContactKind | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """Entries of the do-not-contact list, newest first; how many in all: `X-Total-Count`."""
    response.headers[TOTAL] = str(dnc.count_entries(session, kind=kind))
    entries = dnc.list_entries(session, kind=kind, limit=limit, offset=offset)
    return [DoNotContactOut.model_validate(e) for e in entries]


DoNotContactBody = Annotated[
    list[DoNotContactIn],
    BeforeValidator(one_or_many),
    Body(
        min_length=1,
        max_length=10_000,
        description="One entry, or a list of them.",
        examples=[[{"kind": "company", "value": "Acme GmbH", "reason": "a customer"}]],
    ),
]


@router.post(
    "/do-not-contact",
    status_code=201,
    response_model=DoNotContactAdded,
    tags=["do-not-contact"],
    responses=CONFLICT,
)
def add_do_not_contact(entries: DoNotContactBody, rt: Rt) -> Any:
    """Put people, companies or domains on the do-not-contact list (an entry already
    there is kept); journeys in flight they block are stopped at once."""
    return prospects.add_do_not_contact(rt, entries, source=DoNotContactSource.API)


@router.delete(
    "/do-not-contact/{entry_id}",
    response_model=DoNotContactOut,
    tags=["do-not-contact"],
    responses=NOT_FOUND,
)
def remove_do_not_contact(entry_id: Id, rt: Rt) -> Any:
    """Take an entry off the list (journeys it stopped stay ended); answers with it."""
    return prospects.remove_do_not_contact(rt, entry_id)


@router.post(
    "/campaigns/linkedin/execute",
    status_code=202,
    response_model=Accepted,
    tags=["campaigns"],
    responses=CONFLICT,
)
def execute_campaign(body: LaunchRequest, rt: Rt) -> Any:
    """Launch a campaign (the seed's endpoint): journeys are created and paced in the background."""
    return campaigns.launch(rt, body.campaign_id)


@router.post(
    "/campaigns/{campaign_id}/launch",
    status_code=202,
    response_model=Accepted,
    tags=["campaigns"],
    responses=CONFLICT,
)
def launch_campaign(campaign_id: Id, rt: Rt) -> Any:
    return campaigns.launch(rt, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/pause",
    response_model=Accepted,
    tags=["campaigns"],
    responses=CONFLICT,
)
def pause_campaign(campaign_id: Id, rt: Rt) -> Any:
    return campaigns.pause(rt, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/resume",
    status_code=202,
    response_model=Accepted,
    tags=["campaigns"],
    responses=CONFLICT,
)
def resume_campaign(campaign_id: Id, rt: Rt) -> Any:
    return campaigns.resume(rt, campaign_id)


@router.get(
    "/campaigns/{campaign_id}/journeys",
    response_model=list[JourneyOut],
    tags=["journeys"],
    responses=NOT_FOUND,
)
def campaign_journeys(
    campaign_id: Id,
    session: ReadSession,
    response: Response,
    status: JourneyStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """The campaign's journeys by id; how many match in all: `X-Total-Count`."""
    summary = campaign_reads.summarize(session, campaign_reads.get_campaign(session, campaign_id))
    counts = summary.journeys
    response.headers[TOTAL] = str(counts.get(status.value, 0) if status else sum(counts.values()))
    return journeys.list_journeys(
        session, campaign_id, status=status.value if status else None, limit=limit, offset=offset
    )


@router.get(
    "/journeys/{journey_id}", response_model=JourneyDetail, tags=["journeys"], responses=NOT_FOUND
)
def get_journey(journey_id: Id, session: ReadSession, rt: Rt) -> Any:
    """The journey, its timeline, and `wait`: what it waits for, until when, and why."""
    return journeys.journey_detail(session, journey_id, now=rt.clock.now(), scale=rt.clock.scale)


@router.get("/inbox", response_model=list[inbox.InboxRow], tags=["replies"])
def list_inbox(
    session: ReadSession,
    response: Response,
    intent: ReplyIntent | None = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    unread: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """Every prospect who replied, across senders and campaigns, newest first: what the
    reply means (the classifier's reading, or a person's), the latest reply, how many,
    how many nobody has read (`unread=true`: only those). How many match in all:
    `X-Total-Count`."""
    filters = inbox.InboxFilters(intent, campaign_id, account_id, unread)
    found = inbox.list_inbox(session, filters, limit=limit, offset=offset)
    response.headers[TOTAL] = str(found.total)
    return found.rows


@router.post(
    "/journeys/{journey_id}/read",
    response_model=reply_commands.ReadMark,
    tags=["replies"],
    responses=NOT_FOUND,
)
def mark_conversation_read(journey_id: Id, rt: Rt, principal: ApiPrincipal) -> Any:
    """Mark the conversation's replies so far as read (the dashboard does so when the
    conversation is opened)."""
    return reply_commands.mark_read(rt, journey_id, by=principal.username)


@router.post(
    "/journeys/{journey_id}/referral",
    response_model=referral.ReferralAdded,
    status_code=201,
    tags=["replies"],
    responses={**NOT_FOUND, **CONFLICT},
)
def add_referral(journey_id: Id, data: referral.ReferralIn, rt: Rt) -> Any:
    """The person the prospect's reply pointed to becomes a prospect of the same campaign
    (`referred_by` the prospect), checked as an imported row is: 422 for a bad address,
    409 when another campaign has them or they are on the do-not-contact list.
    `GET /api/journeys/{id}/conversation` offers what the reply gave (`referral`)."""
    return referral.add_referral(rt, journey_id, data)


class ReplyMark(BaseModel):
    intent: ReplyIntent | None = Field(
        description="What the reply means; null takes a mark back. `interested` counts as "
        "the funnel's positive step."
    )


@router.post(
    "/journeys/{journey_id}/reply-intent",
    response_model=JourneyOut,
    tags=["journeys"],
    responses={**NOT_FOUND, **CONFLICT},
)
def mark_reply(journey_id: Id, data: ReplyMark, rt: Rt, principal: ApiPrincipal) -> Any:
    """Say what the prospect's reply means (on the timeline, with who said it). A journey
    with no reply yet answers 409."""
    return journey_commands.mark_reply(rt, journey_id, data.intent, by=principal.username)


# -- the reply agent's drafts -------------------------------------------------------------


@router.get(
    "/journeys/{journey_id}/conversation",
    response_model=conversation.Conversation,
    tags=["replies"],
    responses=NOT_FOUND,
)
def get_conversation(journey_id: Id, session: ReadSession) -> Any:
    """Every message both ways, oldest first, and the drafts its replies were given."""
    return conversation.conversation(session, journey_id)


@router.get("/drafts", response_model=list[reply_commands.DraftOut], tags=["replies"])
def list_drafts(
    session: ReadSession,
    response: Response,
    status: DraftStatus | None = None,
    journey_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """The reply agent's drafts, newest first (`status=pending`: those waiting for a
    person). How many match in all: `X-Total-Count`."""
    found, total = reply_commands.list_drafts(
        session, status=status, journey_id=journey_id, limit=limit, offset=offset
    )
    response.headers[TOTAL] = str(total)
    return found


@router.get(
    "/drafts/{draft_id}",
    response_model=reply_commands.DraftOut,
    tags=["replies"],
    responses=NOT_FOUND,
)
def get_draft(draft_id: Id, session: ReadSession) -> Any:
    return reply_commands.get_draft(session, draft_id)


@router.post(
    "/drafts/{draft_id}/approve",
    response_model=reply_commands.DraftOut,
    tags=["replies"],
    responses={**NOT_FOUND, **CONFLICT},
)
def approve_draft(
    draft_id: Id,
    rt: Rt,
    principal: ApiPrincipal,
    data: Annotated[reply_commands.Approval | None, Body()] = None,
) -> Any:
    """Send the draft (or `text`: the draft edited, or your own answer) once, through the
    sender. 409 when it was decided already, expired, superseded by a newer reply, or in
    draft-only mode."""
    text = data.text if data else None
    return reply_commands.approve(rt, draft_id, text, by=principal.username)


@router.post(
    "/drafts/{draft_id}/reject",
    response_model=reply_commands.DraftOut,
    tags=["replies"],
    responses={**NOT_FOUND, **CONFLICT},
)
def reject_draft(
    draft_id: Id,
    rt: Rt,
    principal: ApiPrincipal,
    data: Annotated[reply_commands.Rejection | None, Body()] = None,
) -> Any:
    """Send nothing for this reply."""
    return reply_commands.reject(rt, draft_id, data.reason if data else None, by=principal.username)


@router.post(
    "/drafts/{draft_id}/mark-sent",
    response_model=reply_commands.DraftOut,
    tags=["replies"],
    responses={**NOT_FOUND, **CONFLICT},
)
def mark_draft_sent(
    draft_id: Id,
    rt: Rt,
    principal: ApiPrincipal,
    data: Annotated[reply_commands.Approval | None, Body()] = None,
) -> Any:
    """You sent the answer yourself (draft-only mode, or any time): Outreach records it and
    sends nothing. `text`: what you sent, if not the draft."""
    text = data.text if data else None
    return reply_commands.mark_sent(rt, draft_id, text, by=principal.username)


# -- users and API keys -------------------------------------------------------------------


@router.get("/me", response_model=Principal, tags=["users"])
def me(principal: ApiPrincipal) -> Any:
    """Who the key acts for (``user_id`` null for the bootstrap key)."""
    return principal


@router.get("/users", response_model=list[UserOut], tags=["users"], responses=ADMIN)
def list_users(rt: Rt, by: Principal = Depends(admin)) -> Any:
    return users.list_users(rt, by)


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    tags=["users"],
    responses=ADMIN | CONFLICT,
)
def create_user(data: UserCreate, rt: Rt, by: Principal = Depends(admin)) -> Any:
    """Add a user (admin or member); the password needs at least 12 characters."""
    return users.create_user(rt, by, data)


@router.post(
    "/users/{user_id}/disable",
    response_model=UserOut,
    tags=["users"],
    responses=ADMIN | CONFLICT,
)
def disable_user(user_id: Id, rt: Rt, by: Principal = Depends(admin)) -> Any:
    """Disable a user: their sessions end and their keys stop working (not the last admin)."""
    return users.disable_user(rt, by, user_id)


@router.get("/keys", response_model=list[ApiKeyOut], tags=["users"])
def list_keys(principal: ApiPrincipal, rt: Rt) -> Any:
    """Your API keys (an admin sees everyone's), by prefix: keys are stored hashed."""
    return users.list_keys(rt, principal)


class KeyRequest(ApiKeyCreate):
    user_id: DbId | None = Field(
        default=None, description="An admin may create a key for another user."
    )


@router.post(
    "/keys",
    status_code=201,
    response_model=ApiKeyCreated,
    tags=["users"],
    responses=ADMIN | CONFLICT,
)
def create_key(data: KeyRequest, principal: ApiPrincipal, rt: Rt) -> Any:
    """A new API key; the answer is the only time the key itself is shown."""
    return users.create_key(rt, principal, data, user_id=data.user_id)


@router.post("/keys/{key_id}/revoke", response_model=ApiKeyOut, tags=["users"], responses=NOT_FOUND)
def revoke_key(key_id: Id, principal: ApiPrincipal, rt: Rt) -> Any:
    return users.revoke_key(rt, principal, key_id)


router.include_router(sandbox_router)
