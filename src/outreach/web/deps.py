"""FastAPI dependencies: the runtime, a read-only session, bounded ids and pages; and
the CSV download both the API and the dashboard answer with.

Writes never go through a dependency: the routes call the domains' commands, which
commit (then start the work they asked for) before they return, so an answer leaves
only after its write is committed. (With the FastAPI we pin, a yield dependency's exit
code runs after the response is sent: a session committed there would commit too late.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from outreach.db import MAX_ID
from outreach.errors import ErrorBody
from outreach.prospects.export import export_csv
from outreach.runtime import Runtime

MAX_OFFSET = 10_000_000
MAX_PAGE = 100_000


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _read_session(rt: Runtime = Depends(get_runtime)) -> Iterator[Session]:
    """A session for reading, closed when the route returns (``scope="function"``): one
    snapshot of the database, never waiting for a writer (``db.make_read_sessionmaker``)."""
    with (rt.reads or rt.sessions)() as session:
        yield session


ReadSession = Annotated[Session, Depends(_read_session, scope="function")]
Rt = Annotated[Runtime, Depends(get_runtime)]


# Ids, pages and offsets are bounded in the schema: a number no database stores is a 422.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]


# Errors as the OpenAPI declares them: every one has the shape of ``ErrorBody``.
Responses = dict[int | str, dict[str, Any]]


def error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


COMMON: Responses = {
    401: error("No API key, or a wrong, revoked or disabled one"),
    422: error("The input is not valid: `details` lists each problem"),
}
NOT_FOUND: Responses = {404: error("No such resource")}
CONFLICT: Responses = {409: error("The request conflicts with the current state"), **NOT_FOUND}
ADMIN: Responses = {403: error("Only an admin may do this")}


def body_schema(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a body a route reads itself (to keep its raw bytes), with its
    ``$defs`` inlined, for ``openapi_extra``: the OpenAPI then declares the body."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(annotation).json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


def csv_download(rt: Runtime, campaign_id: int) -> StreamingResponse:
    """The campaign's prospects as a CSV attachment, streamed from its own session."""

    def chunks() -> Iterator[str]:
        with rt.sessions() as session:
            yield from export_csv(session, campaign_id)

    name = f"campaign-{campaign_id}-prospects.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8", headers=headers)
