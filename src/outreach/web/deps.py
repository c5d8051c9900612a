"""FastAPI dependencies: the runtime, a read-only session, the API key.

Writes never go through a dependency: the routes call the domains' commands, which
commit (then start the work they asked for) before they return, so an answer leaves
only after its write is committed. (With the FastAPI we pin, a yield dependency's exit
code runs after the response is sent: a session committed there would commit too late.)
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from outreach.errors import Unauthorized
from outreach.runtime import Runtime

_bearer = HTTPBearer(auto_error=False)


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _read_session(rt: Runtime = Depends(get_runtime)) -> Iterator[Session]:
    """A session for reading, closed when the route returns (``scope="function"``)."""
    with rt.sessions() as session:
        yield session


ReadSession = Annotated[Session, Depends(_read_session, scope="function")]
Rt = Annotated[Runtime, Depends(get_runtime)]


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
