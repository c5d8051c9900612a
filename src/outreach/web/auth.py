"""Who is asking, for the API (a bearer key) and the dashboard (a session cookie).

The API takes ``Authorization: Bearer`` only: a user's API key, or the bootstrap key
(``OUTREACH_API_KEY``, an admin's rights). It never reads the dashboard's cookie, so no
other site can make a browser call it. The dashboard takes its session cookie only, and
every state change must carry the session's CSRF token (a hidden form field, or the
``X-CSRF-Token`` header htmx sends), besides coming from this origin (``SameOrigin``).
Forms shown before a login (the login itself, the first admin) carry a token that a
cookie of their own must match.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from outreach.errors import Forbidden, TooManyRequests, Unauthorized
from outreach.runtime import Runtime
from outreach.users import commands as users
from outreach.users.schemas import BOOTSTRAP, Principal
from outreach.web.deps import get_runtime
from outreach.web.security import SAFE_METHODS

SESSION_COOKIE = "outreach_session"
FORM_COOKIE = "outreach_form"  # the token of the forms shown before a login
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
STALE_FORM = "the form is stale or came from elsewhere: reload the page and retry"


# -- the API ------------------------------------------------------------------------------


# Declares the bearer scheme in the OpenAPI (Swagger's "Authorize"); the check is ours.
_bearer = HTTPBearer(auto_error=False, description="A user's API key, or the bootstrap key.")


def api_principal(
    request: Request,
    rt: Runtime = Depends(get_runtime),
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    token = credentials.credentials.strip() if credentials else ""
    principal = key_principal(rt, token)
    request.state.principal = principal
    return principal


def key_principal(rt: Runtime, token: str) -> Principal:
    """Who a bearer key acts for: the bootstrap key's admin, or a user by a live key."""
    if not token:
        raise Unauthorized("an API key is needed: Authorization: Bearer <key>")
    if is_bootstrap_key(rt, token):
        return BOOTSTRAP
    found = users.key_principal(rt, token)
    if found is None:
        raise Unauthorized("the API key is wrong, revoked, or its user is disabled")
    return found


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


def admin(principal: ApiPrincipal) -> Principal:
    if not principal.is_admin:
        raise Forbidden("only an admin may do this")
    return principal


# -- the dashboard ------------------------------------------------------------------------


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def safe_next(target: str | None) -> str:
    """Only a path of ours: the login's ``next`` must not become an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _to_login(request: Request, first_run: bool) -> HTTPException:
    if first_run:
        where = "/welcome"
    else:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        where = f"/login?next={quote(safe_next(here), safe='/')}"
    if _is_htmx(request):  # htmx follows HX-Redirect with a full page load
        return HTTPException(status_code=401, headers={"HX-Redirect": where})
    return HTTPException(status_code=303, headers={"Location": where})


async def _csrf_given(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def page_user(request: Request, rt: Runtime = Depends(get_runtime)) -> Principal:
    """The logged-in user of a dashboard page; for a state change, its CSRF token too."""
    token = request.cookies.get(SESSION_COOKIE, "")
    found = await run_in_threadpool(users.session_principal, rt, token)
    if found is None:
        first_run = not await run_in_threadpool(users.has_users, rt)
        raise _to_login(request, first_run)
    principal, csrf = found
    if request.method not in SAFE_METHODS and not same_secret(await _csrf_given(request), csrf):
        raise Forbidden(STALE_FORM)
    request.state.principal = principal
    request.state.csrf_token = csrf
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


def form_token(request: Request) -> str:
    """The token for a form shown before login: the cookie's, or a new one."""
    return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)


async def check_form_token(request: Request) -> None:
    """A form shown before login must send back the token its cookie holds."""
    cookie = request.cookies.get(FORM_COOKIE, "")
    if not cookie or not same_secret(await _csrf_given(request), cookie):
        raise Forbidden(STALE_FORM)


def is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- login attempts -----------------------------------------------------------------------


@dataclass
class LoginLimiter:
    """Failed logins per client address and per username, over a moving window.

    In memory, per process: a second process keeps its own count (an attacker then gets
    twice the attempts, still far too few to guess a 12-character password).
    """

    per_address: RateLimitItem = field(default_factory=lambda: RateLimitItemPerMinute(10))
    per_user: RateLimitItem = field(default_factory=lambda: RateLimitItemPerHour(30))

    def __post_init__(self) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def _keys(self, address: str, username: str) -> list[tuple[RateLimitItem, str]]:
        return [(self.per_address, f"addr:{address}"), (self.per_user, f"user:{username.lower()}")]

    def check(self, address: str, username: str) -> None:
        """Raise 429 while either count is used up."""
        for item, key in self._keys(address, username):
            if not self.limiter.test(item, key):
                reset, _ = self.limiter.get_window_stats(item, key)
                wait = max(1, int(reset - time.time()))
                raise TooManyRequests(
                    f"too many failed logins: try again in {wait} s", details={"retry_after": wait}
                )

    def failed(self, address: str, username: str) -> None:
        for item, key in self._keys(address, username):
            self.limiter.hit(item, key)


def is_bootstrap_key(rt: Runtime, given: str) -> bool:
    expected = rt.settings.api_key
    return expected is not None and same_secret(given, expected.get_secret_value())


def same_secret(given: str, expected: str) -> bool:
    """A constant-time comparison of what a request sent (any text) with a secret."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())
