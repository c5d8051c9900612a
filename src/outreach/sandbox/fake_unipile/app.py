"""The simulator served as Unipile's v1 HTTP API, webhooks included.

``outreach sandbox serve`` runs it (``serve``) so that ``UnipileProvider`` and the
webhook receiver are exercised end to end over loopback; tests build it with
``create_fake_unipile_app`` and serve it with uvicorn in a thread (lifespan on: it runs
the webhook dispatcher). Envelopes, status codes and error bodies follow the official
spec; faults injected into the simulator come back as the errors Unipile answers
(429/500/503, 401 ``disconnected_account``, 403 ``account_restricted``, 422
``invalid_recipient`` / ``limit_exceeded`` / …). ``/_sandbox/errors`` can also lose the
answers to the next invitations or messages: performed, then answered 504.

One clock for both sides: the simulator and the app each read their simulated clock
from the ``clock_state`` row of their database. Under a compressed clock two different
anchors disagree by days (the anchors' real-time difference times the scale), so the
fake serves from the app's own database by default (``OUTREACH_DATABASE_URL``) at the
app's time scale: its ``sandbox_*`` tables sit beside the app's tables, apart from the
journeys, and both sides read the same anchor: the fake follows a clock it finds
stored, and never re-anchors it under the running app. (Each side keeps the clock it
read at start: restart the fake after restarting the app with another time scale.)
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from outreach.clock import load_clock
from outreach.config import Settings
from outreach.db import Base, create_engine, make_sessionmaker
from outreach.linkedin.provider import ProviderError, TransientError
from outreach.migrations import upgrade
from outreach.models import ClockState
from outreach.sandbox.fake_unipile.routes import (
    FakeUnipile,
    UnipileError,
    api,
    json_error,
    steering,
)
from outreach.sandbox.fake_unipile.webhooks import (
    RETRY_DELAYS,
    WebhookDispatcher,
    WebhookRegistry,
    startup_target,
)
from outreach.sandbox.simulator import SandboxBehaviour, Simulator

DEFAULT_ACCOUNT_ID = "sandbox-account-1"
DEFAULT_API_KEY = "sandbox-key"
_TABLES = ("clock_state", "sandbox_actions", "sandbox_invitations", "sandbox_messages")

# Simulator error codes as Unipile answers them: status, title, detail.
_ERRORS: dict[str, tuple[int, str, str]] = {
    "too_many_requests": (
        429,
        "Too many requests",
        "The provider cannot accept any more requests at the moment. Please try again later.",
    ),
    "provider_error": (
        500,
        "Provider error",
        "The provider is experiencing operational problems. Please try again later.",
    ),
    "service_unavailable": (
        503,
        "Service unavailable",
        "The service is temporarily unavailable. Please try again later.",
    ),
    "disconnected_account": (
        401,
        "Disconnected account",
        "The account appears to be disconnected from the provider service.",
    ),
    "account_restricted": (
        403,
        "Account restricted",
        "Access to this account has been restricted by the provider.",
    ),
    "resource_not_found": (404, "Resource not found.", ""),  # detail: what was not found
    "invalid_recipient": (422, "Invalid recipient", "The recipient cannot be reached."),
    "no_connection_with_recipient": (
        422,
        "Recipient cannot be reached",
        "The recipient appears not to be first degree connection.",
    ),
    "limit_exceeded": (
        422,
        "Limit exceeded",
        "You have reached the provider limit for this action.",
    ),
    "cannot_resend_yet": (
        422,
        "Cannot resend yet",
        "You have reached a temporary provider limit. Please try again later.",
    ),
}

# The spec declares 429 on these operations only; elsewhere a rate limit is answered 503.
_RATE_LIMITED = {
    ("GET", "/api/v1/users/{identifier}"),
    ("GET", "/api/v1/users/me"),
    ("POST", "/api/v1/users/invite"),
    ("POST", "/api/v1/chats"),
    ("POST", "/api/v1/chats/{chat_id}/messages"),
}


def create_fake_unipile_app(
    simulator: Simulator,
    *,
    api_key: str,
    webhook_url: str | None,
    webhook_secret: str | None,
    account_ids: Sequence[str],
    new_relation_delay_hours: float = 0.0,
    retry_delays: Sequence[float] = RETRY_DELAYS,
    poll_interval: float = 0.2,
) -> FastAPI:
    """The fake Unipile over ``simulator``; its lifespan runs the webhook dispatcher."""
    if not account_ids:
        raise ValueError("the fake Unipile needs at least one account id")
    registry = WebhookRegistry([startup_target(webhook_url, webhook_secret)] if webhook_url else [])
    dispatcher = WebhookDispatcher(
        simulator,
        registry,
        account_ids=account_ids,
        new_relation_delay=timedelta(hours=new_relation_delay_hours),
        retry_delays=retry_delays,
        poll_interval=poll_interval,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        dispatcher.start()
        try:
            yield
        finally:
            dispatcher.stop()

    app = FastAPI(title="Fake Unipile (Outreach sandbox)", lifespan=lifespan)
    app.state.fake = FakeUnipile(simulator, api_key, list(account_ids), simulator.now(), registry)
    app.include_router(api)
    app.include_router(steering)
    app.add_exception_handler(UnipileError, _unipile_error)
    app.add_exception_handler(ProviderError, _provider_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    return app


def _unipile_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, UnipileError)
    return json_error(exc)


def _provider_error(request: Request, exc: Exception) -> Response:
    """A simulator error as Unipile's answer (a rate limit with ``Retry-After``)."""
    assert isinstance(exc, ProviderError)
    code = exc.code or "unexpected_error"
    status, title, detail = _ERRORS.get(code, (500, "Unexpected error", ""))
    route = getattr(request.scope.get("route"), "path", "")
    if status == 429 and (request.method, route) not in _RATE_LIMITED:
        code = "service_unavailable"
        status, title, detail = _ERRORS[code]
    headers = None
    if status == 429:
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        headers = {"Retry-After": str(math.ceil(retry_after or 1))}
    return json_error(UnipileError(status, code, title, detail or str(exc)), headers)


def _invalid_request(_: Request, exc: Exception) -> Response:
    """FastAPI's parameter validation, as Unipile's 400 bodies."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    code = (
        "missing_parameters"
        if any(e.get("type") == "missing" for e in errors)
        else "invalid_parameters"
    )
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    title = "Missing parameters" if code == "missing_parameters" else "Invalid parameters"
    return json_error(UnipileError(400, code, title, detail))


def open_simulator(
    database_url: str, *, time_scale: float = 1.0, behaviour: SandboxBehaviour | None = None
) -> Simulator:
    """A simulator on ``database_url`` and the simulated clock stored there.

    The database is brought to the app's schema (the app's migrations), so it may be the
    app's own database, opened before or after the app: then both share one clock. A
    database made by an older fake (simulator tables, no migrations) is kept as it is.
    A clock already stored is followed as it is, whatever ``time_scale`` says (which only
    sets up a new clock): re-anchoring it would move the clock under a running app.
    """
    engine = create_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    if "clock_state" in tables and "alembic_version" not in tables:
        Base.metadata.create_all(engine, tables=[Base.metadata.tables[name] for name in _TABLES])
    else:
        upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as session:
        stored = session.execute(sa.select(sa.func.count()).select_from(ClockState)).scalar_one()
    clock = load_clock(factory, None if stored else time_scale)
    return Simulator(factory, clock.now, behaviour)


def serve(
    port: int = 8765,
    webhook_url: str | None = None,
    *,
    host: str = "127.0.0.1",
    database_url: str | None = None,
    time_scale: float | None = None,
    account_ids: Sequence[str] = (DEFAULT_ACCOUNT_ID,),
    new_relation_delay_hours: float = 0.0,
    settings: Settings | None = None,
) -> None:
    """Run the fake Unipile until interrupted.

    The database (and with it the simulated clock) is the app's, ``OUTREACH_DATABASE_URL``,
    unless ``database_url`` says otherwise. The API key comes from ``UNIPILE_API_KEY``
    (default ``sandbox-key``), the webhook secret from ``OUTREACH_WEBHOOK_SECRET``, the
    people's behaviour and the default time scale from the ``OUTREACH_SANDBOX_*`` and
    ``OUTREACH_TIME_SCALE`` settings.
    """
    settings = settings or Settings()
    simulator = open_simulator(
        database_url or settings.database_url,
        time_scale=time_scale or settings.time_scale,
        behaviour=SandboxBehaviour.from_settings(settings),
    )
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    app = create_fake_unipile_app(
        simulator,
        api_key=os.environ.get("UNIPILE_API_KEY") or DEFAULT_API_KEY,
        webhook_url=webhook_url,
        webhook_secret=secret,
        account_ids=account_ids,
        new_relation_delay_hours=new_relation_delay_hours,
    )
    uvicorn.run(app, host=host, port=port)
