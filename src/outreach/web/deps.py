"""FastAPI dependencies: the runtime, a request-owned transaction, the API key."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from outreach.errors import Unauthorized
from outreach.runtime import Runtime

_bearer = HTTPBearer(auto_error=False)


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def get_session(rt: Runtime = Depends(get_runtime)) -> Iterator[Session]:
    """The request owns the transaction: committed when the handler returns, else rolled back."""
    with rt.sessions() as session, session.begin():
        yield session


def require_api_key(
    rt: Runtime = Depends(get_runtime),
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> None:
    expected = rt.settings.api_key
    if expected is None:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise Unauthorized("missing or wrong API key (Authorization: Bearer $OUTREACH_API_KEY)")
