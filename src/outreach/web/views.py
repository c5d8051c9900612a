"""The dashboard: server-rendered pages over the same services and commands as the API.

Live parts (counts, tables, timelines) are polled by htmx every two seconds: a poll asks
for the page's own URL, names its element in ``HX-Target`` and gets only that partial.
Every page needs a logged-in user (``auth.page_user``: a server-side session behind an
HttpOnly cookie); every form carries the session's CSRF token. A fresh install has no
user: the first visit (from this machine, or with the bootstrap key) creates the admin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security.utils import get_authorization_scheme_param
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from outreach import __version__, notices
from outreach.accounts import commands as account_commands
from outreach.accounts import pacing
from outreach.accounts.repository import get_account, list_accounts
from outreach.accounts.schemas import DAY_NAMES, AccountCreate, AccountUpdate, Governor
from outreach.campaigns import analytics
from outreach.campaigns import commands as campaign_commands
from outreach.campaigns import service as campaigns
from outreach.campaigns.forecast import forecast
from outreach.campaigns.schemas import CampaignCreate, CampaignUpdate
from outreach.campaigns.sequence import ANSWERED_INTENTS, MESSAGE_LIMIT, SequenceSpec, Templates
from outreach.db import MAX_ID
from outreach.errors import Forbidden, InvalidInput, OutreachError, Unauthorized
from outreach.journeys import commands as journey_commands
from outreach.journeys import service as journeys
from outreach.journeys.waiting import hours_text
from outreach.models import (
    Account,
    AccountStatus,
    DoNotContactKind,
    DoNotContactSource,
    JourneyStatus,
    PausedBy,
    ReplyIntent,
)
from outreach.prospects import actions as prospect_actions
from outreach.prospects import commands as prospect_commands
from outreach.prospects import importer, listing
from outreach.prospects.commands import ImportResult, import_upload
from outreach.prospects.schemas import DoNotContactIn
from outreach.prospects.upload import (
    IGNORE,
    Upload,
    columns_of,
    guess,
    mapped,
    rows_from_file,
    rows_from_text,
)
from outreach.replies import commands as reply_commands
from outreach.replies import conversation, inbox, referral
from outreach.replies.drafts import DEFAULT_ANSWERS
from outreach.runtime import Runtime
from outreach.users import commands as users
from outreach.users.schemas import ApiKeyCreate, UserCreate
from outreach.web import auth, runs
from outreach.web.deps import Id, Page, ReadSession, csv_download, get_runtime

PAGE_SIZE = 100
RUNS_PAGE_SIZE = 100
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


# -- rendering, login, the first admin, logout --------------------------------------------


@pass_context
def csrf_field(context: Any) -> Markup:
    """The hidden field that carries a form's CSRF token."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(
        context.get("csrf_token", "")
    )


TEMPLATES.env.globals["csrf_field"] = csrf_field

router = APIRouter()
public = APIRouter(include_in_schema=False)
pages = APIRouter(include_in_schema=False, dependencies=[Depends(auth.page_user)])


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _render(
    request: Request, rt: Runtime, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    base = {
        "now": rt.clock.now(),
        "scale": rt.clock.scale,
        "user": getattr(request.state, "principal", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "path": request.url.path,
        "provider": rt.settings.linkedin_provider,
    }
    response = TEMPLATES.TemplateResponse(
        request, template, base | context, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, status: int, error: dict[str, Any], **kw: Any) -> Response:
    """An error as a page (or, for htmx, the message in place of the part it asked for)."""
    rt: Runtime = request.app.state.runtime
    name = "_message.html" if _is_htmx(request) else "error.html"
    response = _render(request, rt, name, {"error": error}, status_code=status)
    response.headers.update(kw.get("headers") or {})
    return response


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


def _anonymous_form(
    request: Request, rt: Runtime, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A form shown before login, with its token in a cookie of its own."""
    token = auth.form_token(request)
    context = context | {"csrf_token": token, "hide_nav": True}
    response = _render(request, rt, template, context, status_code=status_code)
    response.set_cookie(
        auth.FORM_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=3600,
    )
    return response


def _set_session(request: Request, response: Response, token: str, rt: Runtime) -> None:
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(rt.settings.session_max_days * 86400),
    )
    response.delete_cookie(auth.FORM_COOKIE)


@public.get("/login")
async def login_form(request: Request, rt: Rt, next: str = "/") -> Response:
    if not await run_in_threadpool(users.has_users, rt):
        return RedirectResponse("/welcome", status_code=303)
    return _anonymous_form(request, rt, "login.html", {"next": auth.safe_next(next)})


@public.post("/login", dependencies=[Depends(auth.check_form_token)])
async def login(
    request: Request,
    rt: Rt,
    username: str = Form(default="", max_length=200),
    password: str = Form(default="", max_length=1000),
    next: str = Form(default="/", max_length=2000),
) -> Response:
    """Password login; failures are counted per address and username (429 past the limit)."""
    limiter: auth.LoginLimiter = request.app.state.login_limiter
    address = request.client.host if request.client else "?"
    context: dict[str, Any] = {"next": auth.safe_next(next), "username": username}
    try:
        limiter.check(address, username)
        found = await run_in_threadpool(users.login, rt, username.strip(), password)
        if found is None:
            limiter.failed(address, username)
            raise Unauthorized("that username and password do not match")
    except OutreachError as exc:
        context["error"] = exc
        page = _anonymous_form(request, rt, "login.html", context, status_code=exc.status_code)
        if isinstance(exc.details, dict) and "retry_after" in exc.details:
            page.headers["Retry-After"] = str(exc.details["retry_after"])
        return page
    response = RedirectResponse(auth.safe_next(next), status_code=303)
    _set_session(request, response, found.token, rt)
    return response


@public.get("/welcome")
async def welcome_form(request: Request, rt: Rt) -> Response:
    """The first visit: create the admin (only while nobody exists)."""
    if await run_in_threadpool(users.has_users, rt):
        return RedirectResponse("/login", status_code=303)
    context = {"needs_key": not auth.is_loopback(request), "values": {}}
    return _anonymous_form(request, rt, "welcome.html", context)


@public.post("/welcome", dependencies=[Depends(auth.check_form_token)])
async def welcome(
    request: Request,
    rt: Rt,
    username: str = Form(default="", max_length=200),
    password: str = Form(default="", max_length=1000),
    repeat: str = Form(default="", max_length=1000),
    bootstrap_key: str = Form(default="", max_length=1000),
) -> Response:
    """Create the first admin and log them in. From another machine this needs the
    bootstrap key: whoever reaches a fresh server first must not become its admin."""
    needs_key = not auth.is_loopback(request)
    context: dict[str, Any] = {"needs_key": needs_key, "values": {"username": username}}
    try:
        if needs_key and not auth.is_bootstrap_key(rt, bootstrap_key):
            raise Forbidden(
                "from another machine, the first admin needs the server's bootstrap key "
                "(OUTREACH_API_KEY); or run `outreach users create-admin` on the server"
            )
        if password != repeat:
            raise InvalidInput("the two passwords differ")
        data = _parse(UserCreate, {"username": username, "password": password, "role": "admin"})
        await run_in_threadpool(users.create_first_admin, rt, data)
        found = await run_in_threadpool(users.login, rt, data.username, password)
    except OutreachError as exc:
        context["error"] = exc
        return _anonymous_form(request, rt, "welcome.html", context, status_code=exc.status_code)
    response = RedirectResponse("/", status_code=303)
    if found is not None:
        _set_session(request, response, found.token, rt)
    return response


@pages.post("/logout")
async def logout(request: Request, rt: Rt) -> Response:
    """End this session for good (the row is deleted, not only the cookie)."""
    await run_in_threadpool(users.logout, rt, request.cookies.get(auth.SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
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
        if not (campaign_id.isascii() and campaign_id.isdigit() and 0 < int(campaign_id) <= MAX_ID):
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
def account_command(
    account_id: Id,
    command: str,
    request: Request,
    rt: Rt,
    next: str = Form(default="/", max_length=2000),
) -> Response:
    try:
        if command not in ACCOUNT_COMMANDS:
            raise InvalidInput(f"unknown account command {command!r}")
        ACCOUNT_COMMANDS[command](rt, account_id)
    except OutreachError as exc:
        return _render(request, rt, "_message.html", {"error": exc}, status_code=exc.status_code)
    if not _is_htmx(request):
        return RedirectResponse(auth.safe_next(next), status_code=303)
    with rt.sessions() as session:
        return _render(request, rt, "_overview_live.html", _overview(session, rt.clock.now()))


# -- the notification area ---------------------------------------------------------------

NOTICES = {"": "notifications.html", "notice-badge": "_notice_badge.html"}


@pages.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, rt: Rt, session: Db) -> HTMLResponse:
    """What needs a person; its count is the top bar's badge (polled)."""
    return _page(
        request, rt, NOTICES, lambda: {"notices": notices.notices(session, rt.clock.now())}
    )


# -- analytics ---------------------------------------------------------------------------


def _chart(daily: analytics.Daily) -> dict[str, Any]:
    """What charts.js draws: days as UTC epoch seconds, one series per activity."""
    return {
        "x": [int(datetime.combine(d, time(0), tzinfo=UTC).timestamp()) for d in daily.days],
        "series": {
            "Invitations": daily.invitations,
            "Messages": daily.messages,
            "Replies": daily.replies,
        },
    }


def _analytics(session: Session, now: datetime) -> dict[str, Any]:
    senders = list_accounts(session)
    funnels = analytics.by_sender(session, [a.id for a in senders])
    return {
        "compared": analytics.compare(session),
        "senders": [(a, funnels[a.id]) for a in senders],
        "chart": _chart(analytics.daily(session, now=now)),
    }


@pages.get("/analytics", response_class=HTMLResponse)
def analytics_page(request: Request, rt: Rt, session: Db) -> HTMLResponse:
    return _page(request, rt, {"": "analytics.html"}, lambda: _analytics(session, rt.clock.now()))


@pages.get("/campaigns/{campaign_id}/analytics", response_class=HTMLResponse)
def campaign_analytics(campaign_id: Id, request: Request, rt: Rt, session: Db) -> HTMLResponse:
    def context() -> dict[str, Any]:
        campaigns.get_campaign(session, campaign_id)
        daily = analytics.daily(session, now=rt.clock.now(), campaign_id=campaign_id)
        return {
            "funnel": analytics.funnel(session, campaign_id=campaign_id),
            "chart": _chart(daily),
            "campaign_id": campaign_id,
        }

    return _page(request, rt, {"": "_campaign_analytics.html"}, context)


# -- the accounts page: every sender's caps, usage, health; edited in place ---------------

ACCOUNT_FIELDS = (
    "name",
    "timezone",
    "work_start",
    "work_end",
    "daily_invite_cap",
    "weekly_invite_cap",
    "daily_message_cap",
    "weekly_message_cap",
    "daily_view_cap",
    "weekly_view_cap",
    "invite_gap_min_minutes",
    "invite_gap_max_minutes",
    "message_gap_min_minutes",
    "message_gap_max_minutes",
    "warmup_days",
    "warmup_start",
    "withdraw_after_days",
)
ZONES = sorted(available_timezones() - {"localtime", "Factory"})


def health(account: Account, usage: Governor, now: datetime) -> str:
    """The sender's state as a person would say it."""
    if account.status is AccountStatus.PAUSED:
        if account.paused_by is PausedBy.PROVIDER:
            why = account.status_reason or "LinkedIn reported a problem with the account"
            return (
                f"Paused by LinkedIn: {why}. It resumes when LinkedIn reports the account "
                "OK, or when a person resumes it."
            )
        why = f" ({account.status_reason})" if account.status_reason else ""
        return f"Paused by a person{why}: nothing is sent until someone resumes it."
    if account.status is AccountStatus.BACKOFF:
        until = simtime(account.paused_until, account.timezone)
        why = account.status_reason or "a LinkedIn limit"
        return (
            f"Backing off until {until} ({relative(account.paused_until, now)}): {why}. "
            "It resumes by itself."
        )
    text = "Active: it sends within its working hours, at its pace."
    if usage.warming_up:
        text += (
            f" Warming up: {usage.invitations.day_cap} invitations a day today, rising to "
            f"{account.daily_invite_cap}."
        )
    if usage.pending_invitations >= usage.pending_limit:
        text += (
            f" {usage.pending_invitations} invitations wait for an answer (the limit is "
            f"{usage.pending_limit}): no new one goes out until some are answered or withdrawn."
        )
    return text


def _accounts(session: Session, now: datetime) -> dict[str, Any]:
    found = list_accounts(session)
    usage = {a.id: pacing.usage(session, a, now) for a in found}
    return {
        "accounts": found,
        "usage": usage,
        "health": {a.id: health(a, usage[a.id], now) for a in found},
        "hours": {a.id: hours_text(pacing.working_hours(a)) for a in found},
    }


ACCOUNTS = {"": "accounts.html", "accounts-live": "_accounts_live.html"}


@pages.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, rt: Rt, session: Db) -> HTMLResponse:
    return _page(request, rt, ACCOUNTS, lambda: _accounts(session, rt.clock.now()))


def _account_values(account: Account) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(account, name, None) for name in ACCOUNT_FIELDS}
    values |= {
        "work_start": account.work_start.strftime("%H:%M"),
        "work_end": account.work_end.strftime("%H:%M"),
        "work_days": [DAY_NAMES[int(d)] for d in account.work_days.split(",") if d.strip()],
        "invite_gap_min_minutes": _num(account.invite_gap_min_s / 60),
        "invite_gap_max_minutes": _num(account.invite_gap_max_s / 60),
        "message_gap_min_minutes": _num(account.message_gap_min_s / 60),
        "message_gap_max_minutes": _num(account.message_gap_max_s / 60),
    }
    return values


def _account_page(
    rt: Runtime, account_id: int, form: dict[str, Any] | None = None, **outcome: Any
) -> dict[str, Any]:
    with rt.sessions() as session:
        account = get_account(session, account_id)
        now = rt.clock.now()
        usage = pacing.usage(session, account, now)
        return {
            "account": account,
            "usage": usage,
            "health": health(account, usage, now),
            "hours": hours_text(pacing.working_hours(account)),
            "values": form if form is not None else _account_values(account),
            "zones": ZONES,
            "day_names": DAY_NAMES,
            "outcome": outcome,
        }


@pages.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(account_id: Id, request: Request, rt: Rt) -> HTMLResponse:
    return _page(request, rt, {"": "account.html"}, lambda: _account_page(rt, account_id))


@pages.post("/accounts/{account_id}", response_class=HTMLResponse)
async def account_save(account_id: Id, request: Request, rt: Rt) -> HTMLResponse:
    """Save the edit form: every field is checked by the API's own schema."""
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in ACCOUNT_FIELDS}
    values["work_days"] = [str(d) for d in form.getlist("work_days")]

    def save() -> HTMLResponse:
        try:
            data = _parse(AccountUpdate, {k: v for k, v in values.items() if v != ""})
            account_commands.update_account(rt, account_id, data)
        except OutreachError as exc:
            context = _account_page(rt, account_id, values, error=exc)
            return _render(request, rt, "account.html", context, status_code=exc.status_code)
        context = _account_page(rt, account_id, ok="Saved: the governor uses the new values now.")
        return _render(request, rt, "account.html", context)

    return await run_in_threadpool(save)


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


@dataclass(frozen=True)
class ProspectFilters:
    """The prospect list's search, state, sort and page, as the page's URL carries them."""

    q: str = ""
    status: str = ""
    sort: str = "added"
    order: str = "asc"
    page: int = 1

    def check(self) -> ProspectFilters:
        if self.status and self.status not in listing.STATES:
            raise InvalidInput(
                f"unknown prospect state {self.status!r}", details={"allowed": listing.STATES}
            )
        if self.sort not in listing.SORTS or self.order not in ("asc", "desc"):
            allowed = {"sort": list(listing.SORTS), "order": ["asc", "desc"]}
            raise InvalidInput("unknown sort order", details=allowed)
        return self

    def url(self, campaign_id: int, **changes: Any) -> str:
        """This list's URL with ``changes`` (a new search or state goes back to page 1)."""
        values = asdict(self) | changes
        if "page" not in changes:
            values["page"] = 1 if changes else self.page
        defaults = asdict(ProspectFilters())
        query = {k: v for k, v in values.items() if v != defaults[k]}
        return f"/campaigns/{campaign_id}" + (f"?{urlencode(query)}" if query else "")


def _campaign_page(session: Session, campaign_id: int, filters: ProspectFilters) -> dict[str, Any]:
    filters = filters.check()
    context = _campaign(session, campaign_id)
    summary = context["campaign"]
    counts = {listing.PENDING: summary.pending_prospects} | summary.journeys
    offset = (filters.page - 1) * PAGE_SIZE
    query = listing.ProspectQuery(
        q=filters.q, state=filters.status, sort=filters.sort, order=filters.order
    )
    found = listing.list_prospects(
        session, campaign_id, replace(query, limit=PAGE_SIZE, offset=offset)
    )
    pages_total = max(1, -(-found.total // PAGE_SIZE))
    if filters.page > pages_total:  # past the end (the list shrank): its last page
        filters = replace(filters, page=pages_total)
        offset = (pages_total - 1) * PAGE_SIZE
        found = listing.list_prospects(
            session, campaign_id, replace(query, limit=PAGE_SIZE, offset=offset)
        )
    return context | {
        "filters": filters,
        "status": filters.status,
        "page": filters.page,
        "pages": pages_total,
        "total": found.total,
        "prospects": found.rows,
        "counts": counts,
        "prospect_states": listing.STATES,
    }


CAMPAIGN = {
    "": "campaign.html",
    "campaign-summary": "_campaign_summary.html",
    "journeys": "_journeys_table.html",
}


@pages.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    campaign_id: Id,
    request: Request,
    rt: Rt,
    session: Db,
    q: Annotated[str, Query(max_length=200)] = "",
    status: str = "",
    sort: str = "added",
    order: str = "asc",
    page: Page = 1,
) -> HTMLResponse:
    filters = ProspectFilters(q=q, status=status, sort=sort, order=order, page=page)
    shown: dict[str, Any] = {}

    def build() -> dict[str, Any]:
        shown.update(_campaign_page(session, campaign_id, filters))
        return shown

    response = _page(request, rt, CAMPAIGN, build)
    if request.headers.get("HX-Target") == "journeys" and "filters" in shown:
        # The address bar follows the list (search, sort, page) without a history entry
        # per keystroke or poll.
        response.headers["HX-Replace-Url"] = shown["filters"].url(campaign_id, page=shown["page"])
    return response


@pages.get("/campaigns/{campaign_id}/prospects.csv")
def campaign_export(campaign_id: Id, rt: Rt, session: Db) -> Response:
    campaigns.get_campaign(session, campaign_id)
    return csv_download(rt, campaign_id)


IMPORT_FIELDS = list(importer.ALIASES)
PREVIEW_ROWS = 5


async def _uploaded(request: Request) -> tuple[Any, Upload]:
    """The form sent and the rows of its file (CSV, TSV, JSON or XLSX)."""
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, StarletteUpload) or not file.filename:
        raise InvalidInput("choose a file: CSV, TSV, JSON or XLSX, with a header row")
    body = await file.read()
    upload = await run_in_threadpool(rows_from_file, body, file.filename, file.content_type or "")
    if not upload.sent:
        raise InvalidInput("the file holds no prospect row, only its header")
    return form, upload


def _mapping(form: Any, columns: list[str]) -> dict[str, str]:
    """What the mapping step chose: ``target`` selects in the order of the columns."""
    chosen = [str(v) for v in form.getlist("target")]
    if len(chosen) != len(columns):
        return {name: guess(name) for name in columns}
    return dict(zip(columns, chosen, strict=True))


def _import_context(campaign_id: int, **values: Any) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "fields": IMPORT_FIELDS, "ignore": IGNORE} | values


@pages.post("/campaigns/{campaign_id}/import/preview", response_class=HTMLResponse)
async def import_preview(campaign_id: Id, request: Request, rt: Rt) -> HTMLResponse:
    """The mapping step: the file's columns, where each goes, its first rows."""
    try:
        _, upload = await _uploaded(request)
    except OutreachError as exc:
        context = _import_context(campaign_id, error=exc)
        return _render(request, rt, "_import.html", context, status_code=exc.status_code)
    columns = columns_of(upload)
    context = _import_context(
        campaign_id,
        columns=columns,
        mapping={name: guess(name) for name in columns},  # a new file: fresh guesses
        sample=[row for _, row in upload.rows[:PREVIEW_ROWS]],
        rows=len(upload.rows),
        unreadable=upload.rejected,
        format=upload.format,
    )
    return _render(request, rt, "_import.html", context)


@pages.post("/campaigns/{campaign_id}/import", response_class=HTMLResponse)
async def import_file(campaign_id: Id, request: Request, rt: Rt) -> HTMLResponse:
    """Import the file with the chosen mapping; the report of every row not imported."""
    try:
        form, upload = await _uploaded(request)
        chosen = mapped(upload, _mapping(form, columns_of(upload)))
        result = await run_in_threadpool(import_upload, rt, campaign_id, chosen)
    except OutreachError as exc:
        context = _import_context(campaign_id, error=exc)
        return _render(request, rt, "_import.html", context, status_code=exc.status_code)
    context = _import_context(campaign_id, result=result, summary=_import_summary(result))
    response = _render(request, rt, "_import.html", context)
    response.headers["HX-Trigger"] = "outreach-changed"
    return response


PROSPECT_ACTIONS = ("stop", "remove", "do-not-contact")


@pages.post(
    "/campaigns/{campaign_id}/prospects/{prospect_id}/{action}", response_class=HTMLResponse
)
def prospect_action(
    campaign_id: Id,
    prospect_id: Id,
    action: str,
    request: Request,
    rt: Rt,
    principal: auth.PageUser,
    next: str = Form(default="", max_length=2000),
) -> Response:
    """Stop, remove or block one prospect; the list again, with what it did."""
    message: dict[str, Any] = {}
    status_code = 200
    try:
        message["ok"] = _prospect_action(rt, campaign_id, prospect_id, action, principal.username)
    except OutreachError as exc:
        message["error"], status_code = exc, exc.status_code
    back = auth.safe_next(next) if next.startswith(f"/campaigns/{campaign_id}") else ""
    if not _is_htmx(request) and status_code < 300:
        return RedirectResponse(back or f"/campaigns/{campaign_id}", status_code=303)
    filters = _filters_of(back)
    with rt.sessions() as session:
        return _page(
            request,
            rt,
            CAMPAIGN,
            lambda: _campaign_page(session, campaign_id, filters) | {"action": message},
            status_code=status_code,
        )


def _prospect_action(rt: Runtime, campaign_id: int, prospect_id: int, action: str, by: str) -> str:
    if action not in PROSPECT_ACTIONS:
        raise InvalidInput(
            f"unknown prospect action {action!r}", details={"allowed": PROSPECT_ACTIONS}
        )
    if action == "stop":
        row = prospect_actions.stop_prospect(rt, campaign_id, prospect_id, by=by)
        return f"{row.name}: journey {row.state}; nothing more is sent."
    if action == "remove":
        with rt.sessions() as session:
            name = prospect_actions.get_prospect(session, campaign_id, prospect_id).name
        prospect_actions.remove_prospect(rt, campaign_id, prospect_id)
        return f"{name} removed from the campaign."
    added = prospect_actions.block_prospect(rt, campaign_id, prospect_id)
    stopped = added.stopped_journeys
    what = "is on the do-not-contact list" if added.added else "was on the do-not-contact list"
    journeys_ = "journey" if stopped == 1 else "journeys"
    return f"“{added.entries[0].value}” {what}; {stopped} {journeys_} stopped."


def _filters_of(url: str) -> ProspectFilters:
    """The list's filters back from its URL (what the action's form sent as ``next``)."""
    params = dict(parse_qsl(urlsplit(url).query))
    page = params.get("page", "1")
    return ProspectFilters(
        q=params.get("q", "")[:200],
        status=params.get("status", ""),
        sort=params.get("sort", "added"),
        order=params.get("order", "asc"),
        page=int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 10**6 else 1,
    )


@pages.get("/campaigns/{campaign_id}/forecast", response_class=HTMLResponse)
def campaign_forecast(campaign_id: Id, request: Request, rt: Rt, session: Db) -> HTMLResponse:
    """The governor's dry run for the campaign: when it ends, and each sender's days."""

    def context() -> dict[str, Any]:
        found = forecast(session, campaign_id, rt.clock.now())
        tz = campaigns.get_campaign(session, campaign_id).account.timezone
        return {"forecast": found, "tz": tz, "days_shown": 14}

    return _page(request, rt, {"": "_forecast.html"}, context)


# -- the campaign's sequence and texts: edited with a live preview, saved as a version ----

SEQUENCE_ROWS_SPARE = 1  # an empty follow-up row under the others, to add a step


@dataclass(frozen=True)
class SequenceForm:
    """The editor's fields as sent; ``parsed`` turns them into the API's schemas."""

    acceptance_check_days: str
    follow_up_on_acceptance: bool
    invitation_note: str
    days: list[str]
    texts: list[str]
    auto_approve_out_of_office: bool = False
    resume_after_out_of_office: bool = False
    # The answers to replies, per intent; an empty text is the built-in one.
    answers: dict[str, str] = field(default_factory=dict)

    def parsed(self) -> tuple[SequenceSpec, Templates]:
        """A follow-up row with neither a day nor a text is no step; half of one is a problem."""
        rows = [(d.strip(), t.strip()) for d, t in zip(self.days, self.texts, strict=False)]
        missing = [
            f"follow-up {i}: {'a day' if not day else 'a text'} is needed"
            for i, (day, text) in enumerate(rows, 1)
            if bool(day) != bool(text)
        ]
        if missing:
            raise InvalidInput("the form is not valid", details=missing)
        steps = [(day, text) for day, text in rows if day]
        sequence = _parse(
            SequenceSpec,
            {
                "acceptance_check_days": self.acceptance_check_days.strip() or None,
                "follow_up_days": [day for day, _ in steps],
                "follow_up_on_acceptance": self.follow_up_on_acceptance,
                "auto_approve_out_of_office": self.auto_approve_out_of_office,
                "resume_after_out_of_office": self.resume_after_out_of_office,
            },
        )
        note = self.invitation_note.strip()
        answers = {k: v.strip() for k, v in self.answers.items() if v.strip()}
        templates = _parse(
            Templates,
            {
                "invitation_note": note or None,
                "follow_ups": [t for _, t in steps],
                "answers": answers,
            },
        )
        return sequence, templates

    @classmethod
    def of(cls, sequence: SequenceSpec, templates: Templates) -> SequenceForm:
        return cls(
            acceptance_check_days=_num(sequence.acceptance_check_days),
            follow_up_on_acceptance=sequence.follow_up_on_acceptance,
            invitation_note=templates.invitation_note or "",
            days=[_num(d) for d in sequence.follow_up_days],
            texts=list(templates.follow_ups),
            auto_approve_out_of_office=sequence.auto_approve_out_of_office,
            resume_after_out_of_office=sequence.resume_after_out_of_office,
            answers=dict(templates.answers),
        )

    def rows(self) -> list[tuple[str, str]]:
        pairs = list(zip(self.days, self.texts, strict=False))
        return pairs + [("", "")] * SEQUENCE_ROWS_SPARE


def _num(value: float) -> str:
    return f"{value:g}"


def sequence_form(
    acceptance_check_days: Annotated[str, Form()] = "",
    follow_up_on_acceptance: Annotated[str, Form()] = "",
    invitation_note: Annotated[str, Form()] = "",
    day: Annotated[list[str] | None, Form()] = None,
    text: Annotated[list[str] | None, Form()] = None,
    auto_approve_out_of_office: Annotated[str, Form()] = "",
    resume_after_out_of_office: Annotated[str, Form()] = "",
    answer_intent: Annotated[list[str] | None, Form()] = None,
    answer: Annotated[list[str] | None, Form()] = None,
) -> SequenceForm:
    return SequenceForm(
        acceptance_check_days,
        bool(follow_up_on_acceptance),
        invitation_note,
        day or [],
        text or [],
        bool(auto_approve_out_of_office),
        bool(resume_after_out_of_office),
        dict(zip(answer_intent or [], answer or [], strict=False)),
    )


SequenceFields = Annotated[SequenceForm, Depends(sequence_form)]


def _editor(session: Session, campaign_id: int, form: SequenceForm | None) -> dict[str, Any]:
    campaign = campaigns.get_campaign(session, campaign_id)
    if form is None:
        form = SequenceForm.of(
            SequenceSpec.model_validate(campaign.sequence),
            Templates.model_validate(campaign.templates),
        )
    return {
        "campaign": campaigns.summarize(session, campaign),
        "form": form,
        "built_in_answers": {
            intent: (REPLY_INTENTS[intent], DEFAULT_ANSWERS[intent]) for intent in ANSWERED_INTENTS
        },
        "versions": campaigns.list_versions(session, campaign_id)[:10],
        "tz": campaign.account.timezone,
    }


@pages.get("/campaigns/{campaign_id}/sequence", response_class=HTMLResponse)
def sequence_page(
    campaign_id: Id,
    request: Request,
    rt: Rt,
    session: Db,
    saved: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    replanned: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    ended: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse:
    """The editor: each step's day and text, a live preview on a prospect, the versions."""
    outcome = {"saved": saved, "replanned": replanned, "ended": ended}
    return _page(
        request, rt, {"": "sequence.html"}, lambda: _editor(session, campaign_id, None) | outcome
    )


@pages.post("/campaigns/{campaign_id}/sequence/preview", response_class=HTMLResponse)
def sequence_preview(
    campaign_id: Id, request: Request, rt: Rt, session: Db, form: SequenceFields
) -> HTMLResponse:
    """The texts being typed, rendered for the campaign's first prospect, with their
    lengths and problems; nothing is saved."""

    def context() -> dict[str, Any]:
        try:
            sequence, templates = form.parsed()
        except InvalidInput as exc:
            return {"form_error": exc}
        found = campaigns.preview_campaign(
            session, campaign_id, sequence=sequence, templates=templates
        )
        return {"preview": found}

    return _page(request, rt, {"": "_preview.html"}, context)


@pages.post("/campaigns/{campaign_id}/sequence", response_class=HTMLResponse)
def sequence_save(campaign_id: Id, request: Request, rt: Rt, form: SequenceFields) -> Response:
    """Save a new version; on a problem the editor comes back with what was typed."""
    principal = request.state.principal
    try:
        sequence, templates = form.parsed()
        data = CampaignUpdate(sequence=sequence, templates=templates)
        edited = campaign_commands.update_campaign(
            rt, campaign_id, data, saved_by=principal.username
        )
    except OutreachError as exc:
        error = exc
    else:
        version = edited.campaign.version
        query = f"saved={version}&replanned={edited.replanned}&ended={edited.ended}"
        if not edited.new_version:
            query = "saved=0"
        return RedirectResponse(f"/campaigns/{campaign_id}/sequence?{query}", status_code=303)
    with rt.sessions() as session:
        return _page(
            request,
            rt,
            {"": "sequence.html"},
            lambda: _editor(session, campaign_id, form) | {"error": error},
            status_code=error.status_code,
        )


CAMPAIGN_COMMANDS = {
    "launch": campaign_commands.launch,
    "pause": campaign_commands.pause,
    "resume": campaign_commands.resume,
}


@pages.post("/campaigns/{campaign_id}/{command}", response_class=HTMLResponse)
def campaign_command(campaign_id: Id, command: str, request: Request, rt: Rt) -> Response:
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
                lambda: _campaign_page(session, campaign_id, ProspectFilters()) | message,
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
def do_not_contact_remove(entry_id: Id, request: Request, rt: Rt) -> Response:
    try:
        removed = prospect_commands.remove_do_not_contact(rt, entry_id)
    except OutreachError as exc:
        return _dnc_response(request, rt, {"error": exc}, status_code=exc.status_code)
    if not _is_htmx(request):
        return RedirectResponse("/do-not-contact", status_code=303)
    ok = f"{removed.kind.value.capitalize()} “{removed.value}” is off the list."
    return _dnc_response(request, rt, {"ok": ok})


# -- journeys, runs, errors ---------------------------------------------------------------


def _journey(session: Session, journey_id: int, rt: Runtime) -> dict[str, Any]:
    now, scale = rt.clock.now(), rt.clock.scale
    journey = journeys.journey_detail(session, journey_id, now=now, scale=scale)
    campaign = campaigns.get_campaign(session, journey.campaign_id)
    sender = get_account(session, journey.account_id)
    talk = conversation.conversation(session, journey_id)
    return {
        "journey": journey,
        "campaign": campaign,
        "sender": sender,
        "tz": sender.timezone,
        "intents": REPLY_INTENTS,
        "conversation": talk,
        "draft_only": rt.settings.draft_only,
        "referral": talk.referral,
    }


JOURNEY = {"": "journey.html", "journey-live": "_journey_live.html"}


@pages.get("/journeys/{journey_id}", response_class=HTMLResponse)
def journey_page(
    journey_id: Id, request: Request, rt: Rt, session: Db, principal: auth.PageUser
) -> HTMLResponse:
    """The journey; opening it (or its live part showing a new reply) reads its replies."""

    def build() -> dict[str, Any]:
        context = _journey(session, journey_id, rt)
        if inbox.unread_of(session, journey_id):  # a write only when there is news
            reply_commands.mark_read(rt, journey_id, by=principal.username)
        return context

    return _page(request, rt, JOURNEY, build)


REPLY_INTENTS = {intent.value: intent.value.replace("_", " ") for intent in ReplyIntent}


@pages.post("/journeys/{journey_id}/reply-intent", response_class=HTMLResponse)
def mark_reply(
    journey_id: Id,
    request: Request,
    rt: Rt,
    principal: auth.PageUser,
    intent: str = Form(default="", max_length=40),
) -> Response:
    """Mark what the reply means; the journey's page again (with the error, if any)."""
    try:
        if intent and intent not in REPLY_INTENTS:
            raise InvalidInput(
                f"unknown intent {intent!r}", details={"allowed": list(REPLY_INTENTS)}
            )
        chosen = ReplyIntent(intent) if intent else None
        journey_commands.mark_reply(rt, journey_id, chosen, by=principal.username)
    except OutreachError as exc:
        with rt.sessions() as session:
            context = _journey(session, journey_id, rt) | {"mark_error": exc}
        return _render(request, rt, "journey.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/journeys/{journey_id}", status_code=303)


DECISIONS = {
    "approve": reply_commands.approve,
    "mark-sent": reply_commands.mark_sent,
}


@pages.post("/drafts/{draft_id}/{decision}", response_class=HTMLResponse)
def decide_draft(
    draft_id: Id,
    decision: Literal["approve", "mark-sent", "reject"],
    request: Request,
    rt: Rt,
    principal: auth.PageUser,
    text: str = Form(default="", max_length=MESSAGE_LIMIT),
) -> Response:
    """A person's decision on a draft; the journey's page again (with the error, if any)."""
    with rt.sessions() as session:
        journey_id = reply_commands.get_draft(session, draft_id).journey_id
    try:
        if decision == "reject":
            reply_commands.reject(rt, draft_id, None, by=principal.username)
        else:
            DECISIONS[decision](rt, draft_id, text.strip() or None, by=principal.username)
    except OutreachError as exc:
        with rt.sessions() as session:
            context = _journey(session, journey_id, rt) | {"draft_error": exc, "typed": text}
        return _render(request, rt, "journey.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/journeys/{journey_id}#conversation", status_code=303)


@pages.post("/journeys/{journey_id}/referral", response_class=HTMLResponse)
def add_referral(
    journey_id: Id,
    request: Request,
    rt: Rt,
    profile_url: str = Form(default="", max_length=500),
    first_name: str = Form(default="", max_length=200),
    last_name: str = Form(default="", max_length=200),
) -> Response:
    """The person a reply named becomes a prospect of the campaign; the page again."""
    typed = {"profile_url": profile_url, "first_name": first_name, "last_name": last_name}
    context: dict[str, Any] = {"referral_typed": typed}
    status_code = 200
    try:
        data = _parse(referral.ReferralIn, {k: v.strip() or None for k, v in typed.items()})
        added = referral.add_referral(rt, journey_id, data)
        context = {"referral_added": added.public_identifier}
    except OutreachError as exc:
        context["referral_error"], status_code = exc, exc.status_code
    with rt.sessions() as session:
        context = _journey(session, journey_id, rt) | context
    return _render(request, rt, "journey.html", context, status_code=status_code)


def _runs(rt: Runtime, filters: runs.RunFilters, page: int) -> dict[str, Any]:
    filters = filters.check()
    page = max(page, 1)
    offset = (page - 1) * RUNS_PAGE_SIZE
    found = runs.list_runs(rt, limit=RUNS_PAGE_SIZE + 1, offset=offset, filters=filters)
    with rt.sessions() as session:
        all_campaigns = campaigns.list_campaigns(session)
        all_senders = list_accounts(session)
    context: dict[str, Any] = {
        "runs": found[:RUNS_PAGE_SIZE],
        "has_more": len(found) > RUNS_PAGE_SIZE,
        "page": page,
        "status": filters.status,
        "filters": filters,
        "query": _runs_query(filters),
        "query_with": lambda **changes: _runs_query(filters, **changes),
        "run_states": runs.RUN_STATUSES,
        "periods": list(runs.SINCE),
        "all_campaigns": all_campaigns,
        "all_senders": all_senders,
        "bulk": None,
    }
    if filters.attributes:  # counted only when the whole page is drawn (not by its poll)
        request = runs.BulkRequest(
            action="cancel", campaign_id=filters.campaign_id, sender_id=filters.sender_id
        )
        context["bulk"] = lambda: {
            "waiting": len(runs.bulk_targets(rt, request)),
            "failed": len(runs.bulk_targets(rt, request.model_copy(update={"action": "retry"}))),
            "journeys": runs.open_journeys(rt, request),
        }
    return context


def _runs_query(filters: runs.RunFilters, **changes: Any) -> str:
    values = {
        "status": filters.status,
        "campaign": filters.campaign_id or "",
        "sender": filters.sender_id or "",
        "since": filters.since,
    } | changes
    return urlencode({k: v for k, v in values.items() if v})


def _id_param(value: str, what: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID):
        raise InvalidInput(f"{what} must be an id")
    return int(value)


RUNS = {"": "runs.html", "runs": "_runs_table.html", "bulk-area": "_runs_bulk.html"}


@pages.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    rt: Rt,
    status: str = "",
    campaign: str = "",
    sender: str = "",
    since: str = "",
    page: Page = 1,
) -> HTMLResponse:
    def build() -> dict[str, Any]:
        filters = runs.RunFilters(
            status, _id_param(campaign, "campaign"), _id_param(sender, "sender"), since
        )
        return _runs(rt, filters, page)

    return _page(request, rt, RUNS, build)


INBOX = {"": "inbox.html", "inbox-live": "_inbox_table.html"}
INBOX_PAGE_SIZE = 50


@pages.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    rt: Rt,
    session: Db,
    intent: str = "",
    campaign: str = "",
    sender: str = "",
    unread: str = "",
    page: Page = 1,
) -> HTMLResponse:
    """Every prospect who replied, newest first, with what the reply means (``unread=1``:
    only the conversations with a reply nobody has read)."""

    def build() -> dict[str, Any]:
        if intent and intent not in REPLY_INTENTS:
            raise InvalidInput(
                f"unknown intent {intent!r}", details={"allowed": list(REPLY_INTENTS)}
            )
        filters = inbox.InboxFilters(
            ReplyIntent(intent) if intent else None,
            _id_param(campaign, "campaign"),
            _id_param(sender, "sender"),
            unread=bool(unread),
        )
        found = inbox.list_inbox(
            session, filters, limit=INBOX_PAGE_SIZE, offset=(page - 1) * INBOX_PAGE_SIZE
        )
        values = {"intent": intent, "campaign": campaign, "sender": sender, "unread": unread}

        def query_with(**changes: Any) -> str:
            return urlencode({k: v for k, v in (values | changes).items() if v})

        return {
            "inbox": found,
            "unread": filters.unread,
            "unread_total": inbox.unread_total(session),
            "intent": intent,
            "campaign": filters.campaign_id,
            "sender": filters.account_id,
            "page": page,
            "pages": max(1, -(-found.total // INBOX_PAGE_SIZE)),
            "query_with": query_with,
            "intents": REPLY_INTENTS,
            "all_campaigns": campaigns.list_campaigns(session),
            "all_senders": list_accounts(session),
        }

    return _page(request, rt, INBOX, build)


RUN = {"": "run.html", "run-live": "_run_live.html"}


@pages.get("/runs/{workflow_id}", response_class=HTMLResponse)
def run_page(workflow_id: str, request: Request, rt: Rt) -> HTMLResponse:
    return _page(request, rt, RUN, lambda: {"run": runs.get_run(rt, workflow_id), "outcome": {}})


@pages.post("/runs/bulk", response_class=HTMLResponse)
def runs_bulk(
    request: Request,
    rt: Rt,
    principal: auth.PageUser,
    action: str = Form(default=""),
    campaign: str = Form(default=""),
    sender: str = Form(default=""),
) -> Response:
    outcome: dict[str, Any] = {}
    status_code = 200
    filters = runs.RunFilters()
    try:
        filters = runs.RunFilters(
            campaign_id=_id_param(campaign, "campaign"), sender_id=_id_param(sender, "sender")
        )
        body = _parse(
            runs.BulkRequest,
            {"action": action, "campaign_id": filters.campaign_id, "sender_id": filters.sender_id},
        )
        done = runs.bulk(rt, body, by=principal.username)
        outcome["ok"] = f"{action.capitalize()}: {done.detail}."
    except OutreachError as exc:
        outcome["error"], status_code = exc, exc.status_code
    return _page(
        request,
        rt,
        RUNS,
        lambda: _runs(rt, filters, 1) | {"outcome": outcome},
        status_code=status_code,
    )


@pages.post("/runs/{workflow_id}/{command}", response_class=HTMLResponse)
def run_command(
    workflow_id: str, command: str, request: Request, rt: Rt, principal: auth.PageUser
) -> Response:
    outcome: dict[str, Any] = {}
    status_code = 200
    try:
        if command == "cancel":
            done = runs.cancel_run(rt, workflow_id, by=principal.username)
        elif command == "retry":
            done = runs.retry_run(rt, workflow_id)
        else:
            raise InvalidInput(f"unknown run command {command!r}")
        outcome["ok"] = f"{command.capitalize()}: {done.detail}."
    except OutreachError as exc:
        outcome["error"], status_code = exc, exc.status_code
    return _page(
        request,
        rt,
        RUN,
        lambda: {"run": runs.get_run(rt, workflow_id), "outcome": outcome},
        status_code=status_code,
    )


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


# -- settings: API keys and users ----------------------------------------------------------


def _settings(rt: Runtime, principal: Any, outcome: dict[str, Any]) -> dict[str, Any]:
    return {
        "keys": users.list_keys(rt, principal),
        "users": users.list_users(rt, principal) if principal.is_admin else [],
        "roles": ["member", "admin"],
        "outcome": outcome,
    }


def _settings_page(
    request: Request, rt: Runtime, principal: Any, outcome: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return _render(
        request, rt, "settings.html", _settings(rt, principal, outcome), status_code=status_code
    )


@pages.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, rt: Rt, principal: auth.PageUser) -> HTMLResponse:
    return _settings_page(request, rt, principal, {})


@pages.post("/settings/keys", response_class=HTMLResponse)
def create_key(
    request: Request, rt: Rt, principal: auth.PageUser, name: str = Form(default="")
) -> HTMLResponse:
    try:
        created = users.create_key(rt, principal, _parse(ApiKeyCreate, {"name": name}))
    except OutreachError as exc:
        outcome = {"form": "key", "error": exc, "values": {"name": name}}
        return _settings_page(request, rt, principal, outcome, exc.status_code)
    return _settings_page(request, rt, principal, {"form": "key", "created": created}, 201)


@pages.post("/settings/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(key_id: Id, request: Request, rt: Rt, principal: auth.PageUser) -> HTMLResponse:
    try:
        key = users.revoke_key(rt, principal, key_id)
    except OutreachError as exc:
        return _settings_page(
            request, rt, principal, {"form": "key", "error": exc}, exc.status_code
        )
    ok = f"Key “{key.name}” ({key.prefix}…) is revoked: it opens nothing any more."
    return _settings_page(request, rt, principal, {"form": "key", "ok": ok})


@pages.post("/settings/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    rt: Rt,
    principal: auth.PageUser,
    username: str = Form(default="", max_length=200),
    password: str = Form(default="", max_length=1000),
    role: str = Form(default="member", max_length=20),
) -> HTMLResponse:
    values = {"username": username, "role": role}
    try:
        data = _parse(UserCreate, values | {"password": password})
        user = users.create_user(rt, principal, data)
    except OutreachError as exc:
        outcome = {"form": "user", "error": exc, "values": values}
        return _settings_page(request, rt, principal, outcome, exc.status_code)
    ok = f"User “{user.username}” ({user.role.value}) can log in now."
    return _settings_page(request, rt, principal, {"form": "user", "ok": ok}, 201)


@pages.post("/settings/users/{user_id}/disable", response_class=HTMLResponse)
def disable_user(user_id: Id, request: Request, rt: Rt, principal: auth.PageUser) -> HTMLResponse:
    try:
        user = users.disable_user(rt, principal, user_id)
    except OutreachError as exc:
        outcome = {"form": "user", "error": exc}
        return _settings_page(request, rt, principal, outcome, exc.status_code)
    ok = f"User “{user.username}” is disabled: their sessions ended and their keys stopped."
    return _settings_page(request, rt, principal, {"form": "user", "ok": ok})


# -- the API's documentation, from the package ----------------------------------------------


@pages.get("/docs", response_class=HTMLResponse)
def docs(request: Request, rt: Rt) -> HTMLResponse:
    """Swagger UI, served from the package (no CDN) and started by a script of ours (the
    page's policy allows no inline script)."""
    return _render(request, rt, "docs.html", {"hide_nav": True})


@public.get("/openapi.json")
async def openapi(request: Request, rt: Rt) -> JSONResponse:
    """The OpenAPI document, for a logged-in user or an API key."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme.lower() == "bearer":
        await run_in_threadpool(auth.key_principal, rt, token.strip())
    else:
        token = request.cookies.get(auth.SESSION_COOKIE, "")
        if await run_in_threadpool(users.session_principal, rt, token) is None:
            raise Unauthorized("log in, or send Authorization: Bearer <key>")
    return JSONResponse(request.app.openapi())


router.include_router(public)
router.include_router(pages)
# The JSON twin of /runs, under /api with the bearer key like the rest of the API.
router.include_router(runs.api_router)
