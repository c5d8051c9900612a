"""The app factory: one FastAPI app, whose lifespan starts the runtime (DBOS, workers, sweep)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from outreach import __version__, runtime
from outreach.config import Settings
from outreach.errors import OutreachError

log = logging.getLogger("outreach.web")
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, *, workers: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # DBOS refuses to launch or register queues from a running event loop.
        app.state.runtime = await asyncio.to_thread(runtime.start, settings, workers=workers)
        if settings.api_key is None:
            log.warning("OUTREACH_API_KEY is not set: the API accepts requests without a key")
        try:
            yield
        finally:
            await asyncio.to_thread(runtime.stop)

    app = FastAPI(title="Outreach", version=__version__, lifespan=lifespan)

    @app.exception_handler(OutreachError)
    async def _outreach_error(_: Request, exc: OutreachError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        body = {"error": "invalid_input", "message": "the request is not valid", "details": details}
        return JSONResponse(body, status_code=422)

    @app.get("/healthz", tags=["system"], include_in_schema=True)
    def healthz() -> dict[str, str]:
        """Liveness, without credentials: the process answers."""
        return {"status": "ok"}

    from outreach.web.api import router as api_router

    app.include_router(api_router)
    _optional_routers(app)
    if STATIC.exists():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _optional_routers(app: FastAPI) -> None:
    from outreach.replies.webhooks import router as webhooks_router
    from outreach.web.views import router as views_router

    app.include_router(webhooks_router, prefix="/api/webhooks")
    app.include_router(views_router)
