"""The dashboard: server-rendered pages over the same services and commands as the API.

Live parts (counts, tables, timelines) are polled by htmx every two seconds: a poll asks
for the page's own URL, names its element in ``HX-Target`` and gets only that partial.
When ``OUTREACH_API_KEY`` is set the pages ask for it once, on a login form, and keep an
HttpOnly, SameSite=Lax cookie holding an HMAC of the key (never the key itself); Lax
keeps other sites from posting the dashboard's forms with it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from outreach import __version__
from outreach.accounts import commands as account_commands
from outreach.accounts import pacing
from outreach.accounts.repository import get_account, list_accounts
from outreach.accounts.schemas import DAY_NAMES, AccountCreate
from outreach.campaigns import commands as campaign_commands
from outreach.campaigns import service as campaigns
from outreach.campaigns.forecast import forecast
from outreach.campaigns.schemas import CampaignCreate
from outreach.errors import InvalidInput, OutreachError
from outreach.journeys import service as journeys
from outreach.models import AccountStatus, DoNotContactKind, DoNotContactSource, JourneyStatus
from outreach.prospects import commands as prospect_commands
from outreach.prospects.commands import ImportResult, import_upload
from outreach.prospects.schemas import DoNotContactIn
from outreach.prospects.upload import rows_from_text
from outreach.runtime import Runtime
from outreach.web import runs
from outreach.web.deps import ReadSession, get_runtime

PAGE_SIZE = 100
RUNS_PAGE_SIZE = 100
COOKIE = "outreach_session"
JOURNEY_STATES = [s.value for s in JourneyStatus]
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
M = TypeVar("M", bound=BaseModel)
Rt = Annotated[Runtime, Depends(get_runtime)]
Db = ReadSession

# -- formatting helpers, available in every template --------------------------------------


def simtime(value: datetime | None, tz: str = "UTC") -> str:
    """A simulated time in a sender's zone, e.g. ``Tue 2025-06-03 09:18 CEST``."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M %Z")


def relative(value: datetime | None, now: datetime) -> str:
    """``in 3 days``, ``5 h ago``, ``now``: coarse on purpose, the exact time sits beside it."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    if span < 60:
        return "now"
    if span < 3600:
        text = f"{span // 60:.0f} min"
    elif span < 86400:
        text = f"{span // 3600:.0f} h"
    else:
        days = round(span / 86400)
        text = f"{days} day" if days == 1 else f"{days} days"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def scale_text(scale: float) -> str:
    if scale == 1:
        return "real time"
    return f"scale {scale:g}: one simulated day = {86400 / scale:.3g} s"


def detail(value: Any, tz: str = "UTC") -> str:
    """An event detail for people: ISO times become sender-local times."""
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            return simtime(parsed, tz)
    return str(value)


def number(value: float) -> str:
    return f"{value:g}"


TEMPLATES.env.globals.update(
    simtime=simtime, relative=relative, scale_text=scale_text, detail=detail, version=__version__
)
TEMPLATES.env.filters["num"] = number


# -- login --------------------------------------------------------------------------------


def session_token(key: str) -> str:
    """The cookie's value: derived from the key, so it changes when the key does."""
    return hmac.new(key.encode(), b"outreach dashboard session v1", hashlib.sha256).hexdigest()


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def safe_next(target: str | None) -> str:
    """Only local paths: the login form must not become an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _back(request: Request) -> str:
    """The page a form was posted from, if it is one of ours: never a foreign origin."""
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return "/"
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


def require_login(request: Request, rt: Rt) -> None:
    key = rt.settings.api_key
    if key is None:
        return
    given = request.cookies.get(COOKIE, "")
    if hmac.compare_digest(given.encode(), session_token(key.get_secret_value()).encode()):
        return
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = f"/login?next={quote(target, safe='/')}"
    if _is_htmx(request):  # htmx follows HX-Redirect with a full page load
        raise HTTPException(status_code=401, headers={"HX-Redirect": login})
    raise HTTPException(status_code=303, headers={"Location": login})


router = APIRouter()
public = APIRouter(include_in_schema=False)
pages = APIRouter(include_in_schema=False, dependencies=[Depends(require_login)])


def _render(
    request: Request, rt: Runtime, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    base = {
        "now": rt.clock.now(),
        "scale": rt.clock.scale,
        "auth": rt.settings.api_key is not None,
        "path": request.url.path,
        "provider": rt.settings.linkedin_provider,
    }
    return TEMPLATES.TemplateResponse(request, template, base | context, status_code=status_code)


def _page(
    request: Request,
    rt: Runtime,
    templates: dict[str, str],
    build: Callable[[], dict[str, Any]],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page, or the part of it an htmx poll targets (``HX-Target``: element id).

    ``templates`` maps target ids to partials; ``""`` is the whole page. A service
    error becomes a readable message instead of the content.
    """
    target = request.headers.get("HX-Target", "") if _is_htmx(request) else ""
    template = templates.get(target, templates[""])
    try:
        context = build()
    except OutreachError as exc:
        name = "_message.html" if target in templates and target else "error.html"
        return _render(request, rt, name, {"error": exc}, status_code=exc.status_code)
    return _render(request, rt, template, context, status_code=status_code)


@public.get("/login")
def login_form(request: Request, rt: Rt, next: str = "/") -> Response:
    if rt.settings.api_key is None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _render(request, rt, "login.html", {"next": safe_next(next), "hide_nav": True})


@public.post("/login")
def login(
    request: Request, rt: Rt, key: str = Form(default=""), next: str = Form(default="/")
) -> Response:
    expected = rt.settings.api_key
    if expected is None:
        return RedirectResponse(safe_next(next), status_code=303)
    if not hmac.compare_digest(key.encode(), expected.get_secret_value().encode()):
        context = {"next": safe_next(next), "failed": True, "hide_nav": True}
        return _render(request, rt, "login.html", context, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    token = session_token(expected.get_secret_value())
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=secure)
    return response


@public.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


# -- overview and set-up ------------------------------------------------------------------


def _overview(session: Session, now: datetime) -> dict[str, Any]:
    all_accounts = list_accounts(session)
    return {
        "accounts": all_accounts,
        "usage": {a.id: pacing.usage(session, a, now) for a in all_accounts},
        "account_names": {a.id: a.name for a in all_accounts},
        "campaigns": campaigns.summarize_all(session, campaigns.list_campaigns(session)),
        "states": JOURNEY_STATES,
        "day_names": DAY_NAMES,
        "setup": {},
    }


OVERVIEW = {"": "overview.html", "overview-live": "_overview_live.html"}


@pages.get("/", response_class=HTMLResponse)
def overview(request: Request, rt: Rt, session: Db) -> HTMLResponse:
    return _page(request, rt, OVERVIEW, lambda: _overview(session, rt.clock.now()))


def _setup_response(
    request: Request, rt: Runtime, setup: dict[str, Any], *, status_code: int
) -> HTMLResponse:
    """The set-up forms again, with the outcome of the one just sent."""
    with rt.sessions() as session:
        context = _overview(session, rt.clock.now()) | {"setup": setup}
        template = "_setup.html" if _is_htmx(request) else "overview.html"
        response = _render(request, rt, template, context, status_code=status_code)
    if status_code < 300:
        response.headers["HX-Trigger"] = "outreach-changed"  # refresh the live tables now
    return response


def _parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate form input with the API's own schema; problems are listed per field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [_problem(e["loc"], e["msg"]) for e in exc.errors()]
        raise InvalidInput("the form is not valid", details=details) from exc


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    return f"{'.'.join(str(p) for p in loc) or 'input'}: {message.removeprefix('Value error, ')}"


def _setup_error(
    request: Request, rt: Runtime, form: str, exc: OutreachError, values: dict[str, Any]
) -> HTMLResponse:
    setup = {"form": form, "error": exc, "values": values}
    return _setup_response(request, rt, setup, status_code=exc.status_code)


@pages.post("/setup/account", response_class=HTMLResponse)
def setup_account(
    request: Request,
    rt: Rt,
    name: str = Form(default=""),
    timezone: str = Form(default="UTC"),
    work_start: str = Form(default="09:00"),
    work_end: str = Form(default="18:00"),
    work_days: list[str] = Form(default_factory=list),
    daily_invite_cap: str = Form(default="25"),
    external_id: str = Form(default=""),
) -> HTMLResponse:
    values: dict[str, Any] = {"name": name, "timezone": timezone.strip(), "work_days": work_days}
    values |= {"work_start": work_start, "work_end": work_end, "daily_invite_cap": daily_invite_cap}
    values |= {"external_id": external_id.strip() or None}
    try:
        data = _parse(AccountCreate, values | {"name": name.strip()})
        account = account_commands.create_account(rt, data)
    except OutreachError as exc:
        return _setup_error(request, rt, "account", exc, values)
    setup = {
        "form": "account",
        "ok": f"{account.provider.title()} account “{account.name}” created.",
    }
    return _setup_response(request, rt, setup, status_code=201)


@pages.post("/setup/campaign", response_class=HTMLResponse)
def setup_campaign(
    request: Request, rt: Rt, name: str = Form(default=""), account_id: str = Form(default="")
) -> HTMLResponse:
    values = {"name": name, "account_id": account_id}
    try:
        data = _parse(CampaignCreate, {"name": name.strip(), "account_id": account_id})
        campaign = campaign_commands.create_campaign(rt, data)
    except OutreachError as exc:
        return _setup_error(request, rt, "campaign", exc, values)
    ok = f"Campaign “{campaign.name}” created with the default sequence."
    setup = {"form": "campaign", "ok": ok, "campaign_id": campaign.id}
    return _setup_response(request, rt, setup, status_code=201)


@pages.post("/setup/prospects", response_class=HTMLResponse)
def setup_prospects(
    request: Request, rt: Rt, campaign_id: str = Form(default=""), csv: str = Form(default="")
) -> HTMLResponse:
    values = {"campaign_id": campaign_id, "csv": csv}
    try:
        if not campaign_id.isdigit():
            raise InvalidInput("choose a campaign to import into")
        result = _import_csv(rt, int(campaign_id), csv)
    except OutreachError as exc:
        return _setup_error(request, rt, "prospects", exc, values)
    rejected = len(result.errors)
    setup = {
        "form": "prospects",
        "result": result,
        "ok": _import_summary(result),
        "values": values if rejected else {},
    }
    return _setup_response(request, rt, setup, status_code=200)


def _import_summary(result: ImportResult) -> str:
    text = f"{result.imported} imported, {result.duplicates} duplicates skipped"
    if result.conflicts:
        text += f", {len(result.conflicts)} already in another campaign"
    if result.blocked:
        text += f", {len(result.blocked)} on the do-not-contact list"
    return f"{text}, {len(result.errors)} rejected."


def _import_csv(rt: Runtime, campaign_id: int, text: str) -> ImportResult:
    """Import pasted CSV (or JSON): good rows are kept, each bad row is reported."""
    if not text.strip():
        raise InvalidInput("no prospect rows: paste a header line and at least one row")
    upload = rows_from_text(text)
    if not upload.sent:
        raise InvalidInput("no prospect rows: paste a header line and at least one row")
    return import_upload(rt, campaign_id, upload)


ACCOUNT_COMMANDS = {
    "pause": account_commands.pause_account,
    "resume": account_commands.resume_account,
}


@pages.post("/accounts/{account_id}/{command}", response_class=HTMLResponse)
def account_command(account_id: int, command: str, request: Request, rt: Rt) -> Response:
    try:
        if command not in ACCOUNT_COMMANDS:
            raise InvalidInput(f"unknown account command {command!r}")
        ACCOUNT_COMMANDS[command](rt, account_id)
    except OutreachError as exc:
        return _render(request, rt, "_message.html", {"error": exc}, status_code=exc.status_code)
    if not _is_htmx(request):
        return RedirectResponse(_back(request), status_code=303)
    with rt.sessions() as session:
        return _render(request, rt, "_overview_live.html", _overview(session, rt.clock.now()))


# -- campaigns ----------------------------------------------------------------------------


def _campaign(session: Session, campaign_id: int) -> dict[str, Any]:
    campaign = campaigns.get_campaign(session, campaign_id)
    return {
        "campaign": campaigns.summarize(session, campaign),
        "account": campaign.account,
        "senders": [get_account(session, sid) for sid in campaign.account_ids],
        "tz": campaign.account.timezone,
        "states": JOURNEY_STATES,
    }


def _campaign_page(session: Session, campaign_id: int, status: str, page: int) -> dict[str, Any]:
    if status and status not in JOURNEY_STATES:
        allowed = {"allowed": JOURNEY_STATES}
        raise InvalidInput(f"unknown journey status {status!r}", details=allowed)
    context = _campaign(session, campaign_id)
    counts = context["campaign"].journeys
    total = counts[status] if status else sum(counts.values())
    pages_total = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages_total)
    offset = (page - 1) * PAGE_SIZE
    rows = journeys.list_journeys(
        session, campaign_id, status=status or None, limit=PAGE_SIZE, offset=offset
    )
    paging = {"status": status, "page": page, "pages": pages_total, "total": total}
    return context | paging | {"journeys": rows}


CAMPAIGN = {
    "": "campaign.html",
    "campaign-summary": "_campaign_summary.html",
    "journeys": "_journeys_table.html",
}


@pages.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    campaign_id: int, request: Request, rt: Rt, session: Db, status: str = "", page: int = 1
) -> HTMLResponse:
    return _page(request, rt, CAMPAIGN, lambda: _campaign_page(session, campaign_id, status, page))


@pages.get("/campaigns/{campaign_id}/forecast", response_class=HTMLResponse)
def campaign_forecast(campaign_id: int, request: Request, rt: Rt, session: Db) -> HTMLResponse:
    """The governor's dry run for the campaign: when it ends, and each sender's days."""

    def context() -> dict[str, Any]:
        found = forecast(session, campaign_id, rt.clock.now())
        tz = campaigns.get_campaign(session, campaign_id).account.timezone
        return {"forecast": found, "tz": tz, "days_shown": 14}

    return _page(request, rt, {"": "_forecast.html"}, context)


CAMPAIGN_COMMANDS = {
    "launch": campaign_commands.launch,
    "pause": campaign_commands.pause,
    "resume": campaign_commands.resume,
}


@pages.post("/campaigns/{campaign_id}/{command}", response_class=HTMLResponse)
def campaign_command(campaign_id: int, command: str, request: Request, rt: Rt) -> Response:
    message: dict[str, Any] = {}
    status_code = 200
    try:
        if command not in CAMPAIGN_COMMANDS:
            raise InvalidInput(f"unknown campaign command {command!r}")
        accepted = CAMPAIGN_COMMANDS[command](rt, campaign_id)
        message["ok"] = f"{command.capitalize()}: the campaign is {accepted.status}."
    except OutreachError as exc:
        message["error"], status_code = exc, exc.status_code
    if not _is_htmx(request):  # a plain form post: back to the page, or the page with the error
        if status_code < 300:
            return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)
        with rt.sessions() as session:
            return _page(
                request,
                rt,
                CAMPAIGN,
                lambda: _campaign_page(session, campaign_id, "", 1) | message,
                status_code=status_code,
            )
    with rt.sessions() as session:
        partial = {"": "_campaign_summary.html"}
        return _page(request, rt, partial, lambda: _campaign(session, campaign_id) | message)


# -- the do-not-contact list -------------------------------------------------------------

DNC_PAGE_SIZE = 500
DNC = {"": "do_not_contact.html", "dnc": "_dnc.html"}


def _dnc(rt: Runtime, dnc: dict[str, Any]) -> dict[str, Any]:
    entries = prospect_commands.list_do_not_contact(rt, limit=DNC_PAGE_SIZE + 1)
    return {
        "dnc": dnc,
        "entries": entries[:DNC_PAGE_SIZE],
        "more": len(entries) > DNC_PAGE_SIZE,
        "kinds": [k.value for k in DoNotContactKind],
    }


def _dnc_response(
    request: Request, rt: Runtime, dnc: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """The list again (its partial for htmx), with the outcome of the form just sent."""
    template = "_dnc.html" if _is_htmx(request) else "do_not_contact.html"
    return _render(request, rt, template, _dnc(rt, dnc), status_code=status_code)


@pages.get("/do-not-contact", response_class=HTMLResponse)
def do_not_contact_page(request: Request, rt: Rt) -> HTMLResponse:
    return _page(request, rt, DNC, lambda: _dnc(rt, {}))


@pages.post("/do-not-contact", response_class=HTMLResponse)
def do_not_contact_add(
    request: Request,
    rt: Rt,
    kind: str = Form(default=""),
    value: str = Form(default=""),
    reason: str = Form(default=""),
) -> HTMLResponse:
    values = {"kind": kind, "value": value, "reason": reason}
    try:
        entry = _parse(DoNotContactIn, values | {"reason": reason or None})
        added = prospect_commands.add_do_not_contact(rt, [entry], source=DoNotContactSource.PERSON)
    except OutreachError as exc:
        return _dnc_response(
            request, rt, {"error": exc, "values": values}, status_code=exc.status_code
        )
    listed = added.entries[0]
    what = "added to the list" if added.added else "was on the list already"
    stopped = added.stopped_journeys
    ok = f"{listed.kind.value.capitalize()} “{listed.value}” {what}; "
    ok += f"{stopped} {'journey' if stopped == 1 else 'journeys'} in flight stopped."
    return _dnc_response(
        request, rt, {"ok": ok, "values": {"kind": kind}}, status_code=201 if added.added else 200
    )


@pages.post("/do-not-contact/{entry_id}/delete", response_class=HTMLResponse)
def do_not_contact_remove(entry_id: int, request: Request, rt: Rt) -> Response:
    try:
        removed = prospect_commands.remove_do_not_contact(rt, entry_id)
    except OutreachError as exc:
        return _dnc_response(request, rt, {"error": exc}, status_code=exc.status_code)
    if not _is_htmx(request):
        return RedirectResponse(_back(request), status_code=303)
    ok = f"{removed.kind.value.capitalize()} “{removed.value}” is off the list."
    return _dnc_response(request, rt, {"ok": ok})


# -- journeys, runs, errors ---------------------------------------------------------------


def _journey(session: Session, journey_id: int) -> dict[str, Any]:
    journey = journeys.journey_detail(session, journey_id)
    campaign = campaigns.get_campaign(session, journey.campaign_id)
    sender = get_account(session, journey.account_id)
    return {"journey": journey, "campaign": campaign, "sender": sender, "tz": sender.timezone}


JOURNEY = {"": "journey.html", "journey-live": "_journey_live.html"}


@pages.get("/journeys/{journey_id}", response_class=HTMLResponse)
def journey_page(journey_id: int, request: Request, rt: Rt, session: Db) -> HTMLResponse:
    return _page(request, rt, JOURNEY, lambda: _journey(session, journey_id))


def _runs(rt: Runtime, status: str, page: int) -> dict[str, Any]:
    if status and status not in runs.RUN_STATUSES:
        allowed = {"allowed": list(runs.RUN_STATUSES)}
        raise InvalidInput(f"unknown run status {status!r}", details=allowed)
    page = max(page, 1)
    offset = (page - 1) * RUNS_PAGE_SIZE
    found = runs.list_runs(rt, status=status or None, limit=RUNS_PAGE_SIZE + 1, offset=offset)
    return {
        "runs": found[:RUNS_PAGE_SIZE],
        "has_more": len(found) > RUNS_PAGE_SIZE,
        "page": page,
        "status": status,
        "run_states": runs.RUN_STATUSES,
    }


RUNS = {"": "runs.html", "runs": "_runs_table.html"}


@pages.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, rt: Rt, status: str = "", page: int = 1) -> HTMLResponse:
    return _page(request, rt, RUNS, lambda: _runs(rt, status, page))


@dataclass(frozen=True)
class Troubles:
    """What needs a person's attention: failed or erroring journeys, stopped senders."""

    journeys: list[Any]
    accounts: list[Any]


def _errors(session: Session) -> dict[str, Any]:
    names = {c.id: c.name for c in campaigns.list_campaigns(session)}
    stopped = [a for a in list_accounts(session) if a.status is not AccountStatus.ACTIVE]
    troubles = Troubles(journeys.troubled_journeys(session, limit=500), stopped)
    return {"troubles": troubles, "campaign_names": names}


@pages.get("/errors", response_class=HTMLResponse)
def errors_page(request: Request, rt: Rt, session: Db) -> HTMLResponse:
    return _page(request, rt, {"": "errors.html"}, lambda: _errors(session))


router.include_router(public)
router.include_router(pages)
# The JSON twin of /runs, under /api with the bearer key like the rest of the API.
router.include_router(runs.api_router)
