"""The app factory: one FastAPI app, whose lifespan starts the runtime (DBOS, workers, sweep).

Requests pass the front door's guards first (``web/security.py``), then the routes: the
JSON API, the webhooks, the dashboard. Every error leaves in one shape (``errors.py``);
the dashboard shows its errors as pages.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware import Middleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from outreach import __version__, metrics, runtime
from outreach.config import Settings
from outreach.errors import OutreachError, error_body
from outreach.web.auth import LoginLimiter, api_principal
from outreach.web.security import (
    BodyLimit,
    BodyTooLarge,
    SameOrigin,
    SecurityHeaders,
    TextGuard,
)

log = logging.getLogger("outreach.web")
STATIC = Path(__file__).parent / "static"
SWAGGER = Path(str(files("fastapi_offline") / "static"))
IMPORT_ROUTES = (
    r"/api/campaigns/\d+/prospects",
    r"/setup/prospects",
    r"/campaigns/\d+/import(/preview)?",
)
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def create_app(
    settings: Settings | None = None, *, workers: bool = True, **start_options: Any
) -> FastAPI:
    """The app; its lifespan starts the runtime (``start_options`` go to ``runtime.start``:
    a provider, a clock, a simulator of one's own)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # DBOS refuses to launch or register queues from a running event loop.
        app.state.runtime = await asyncio.to_thread(
            functools.partial(runtime.start, settings, workers=workers, **start_options)
        )
        await asyncio.to_thread(_say_how_to_get_in, app.state.runtime)
        try:
            yield
        finally:
            await asyncio.to_thread(runtime.stop)

    app = FastAPI(
        title="Outreach",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served by the dashboard, from the package, behind a login
        redoc_url=None,
        openapi_url=None,  # likewise: /openapi.json needs a login or a key
        middleware=_guards(settings),
    )
    app.state.login_limiter = LoginLimiter()
    _error_handlers(app)

    @app.get("/healthz", tags=["system"])
    def healthz() -> dict[str, str]:
        """Liveness, without credentials: the process answers."""
        return {"status": "ok"}

    @app.get(
        "/metrics",
        tags=["system"],
        dependencies=[Depends(api_principal)],
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    )
    def metrics_route(request: Request) -> PlainTextResponse:
        """Prometheus metrics (scrape with the API key as a bearer token): stages waiting,
        due, running and late; journeys per state; actions per sender and kind; stages
        run, provider errors and webhook deliveries counted by this process."""
        body = metrics.exposition(request.app.state.runtime)
        return PlainTextResponse(body, media_type=metrics.CONTENT_TYPE)

    from outreach.replies.webhooks import router as webhooks_router
    from outreach.web.api import router as api_router
    from outreach.web.views import router as views_router

    # Webhooks first: the route matched most often under load is looked at before the API's.
    app.include_router(webhooks_router, prefix="/api/webhooks")
    app.include_router(api_router)
    app.include_router(views_router)
    # Swagger UI's assets come from a pinned package (fastapi-offline ships them): /docs
    # works offline, and nobody's minified bundle sits in our source tree.
    app.mount("/static/swagger", StaticFiles(directory=SWAGGER), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _guards(settings: Settings) -> list[Middleware]:
    """Outermost first: headers on every answer, then the host, size, origin and text checks."""
    return [
        Middleware(SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts),
        Middleware(
            BodyLimit,
            default=settings.max_body_bytes,
            larger={route: settings.max_import_bytes for route in IMPORT_ROUTES},
        ),
        Middleware(SameOrigin, exempt_prefixes=("/api/",)),
        # Webhooks keep such text, replaced; an import reports the rows that hold it.
        Middleware(TextGuard, exempt=(r"/api/webhooks/.*", *IMPORT_ROUTES)),
    ]


def _say_how_to_get_in(rt: runtime.Runtime) -> None:
    from outreach.users.commands import has_users

    settings = rt.settings
    if settings.host not in ("127.0.0.1", "localhost", "::1") and "*" not in (
        settings.allowed_hosts
    ):
        log.warning(
            "Listening on %s: only requests for the host names %s are answered; set "
            "OUTREACH_ALLOWED_HOSTS to the names people use to reach this server.",
            settings.host,
            ", ".join(settings.allowed_hosts),
        )
    if not has_users(rt):
        where = f"http://{rt.settings.host}:{rt.settings.port}/welcome"
        log.warning(
            "No user yet: open %s to create the first admin (or run `outreach users "
            "create-admin`). Until then the dashboard and the API let nobody in.",
            where,
        )


def wants_html(request: Request) -> bool:
    """A dashboard page (not the API) asked for by a browser."""
    path = request.url.path
    return not path.startswith(("/api/", "/openapi.json", "/healthz", "/metrics", "/static/")) and (
        "text/html" in request.headers.get("accept", "")
        or request.headers.get("HX-Request") == "true"
    )


def _error_handlers(app: FastAPI) -> None:
    from outreach.web.views import error_page

    def answer(request: Request, status: int, body: dict[str, Any], **kw: Any) -> Response:
        if wants_html(request):
            return error_page(request, status, body["error"], **kw)
        return JSONResponse(body, status_code=status, **kw)

    @app.exception_handler(OutreachError)
    async def _outreach_error(request: Request, exc: OutreachError) -> Response:
        wait = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        headers = {"Retry-After": str(wait)} if wait else None
        return answer(request, exc.status_code, exc.to_dict(), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        body = error_body("invalid_input", "the request is not valid", details)
        return answer(request, 422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code < 400:  # a redirect (to the login page)
            return Response(status_code=exc.status_code, headers=headers)
        if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI's body parsing wrapped it
            return answer(request, 413, error_body("too_large", str(exc.__cause__)))
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return answer(request, exc.status_code, error_body(code, message), headers=headers)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        # The database refused a value the schemas let through (a NUL in a form field, for
        # PostgreSQL): the transaction rolled back, nothing was written.
        message = "a value could not be stored: it holds a character the database refuses"
        return answer(request, 422, error_body("invalid_input", message))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The server logs it with its traceback (Starlette re-raises it after this
        # answer); the answer says nothing of its text.
        body = error_body("internal_error", "an internal error occurred; it was logged")
        return JSONResponse(body, status_code=500)
