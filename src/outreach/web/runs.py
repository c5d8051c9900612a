"""Workflow runs as DBOS records them, for the dashboard's /runs and the JSON ``GET /api/runs``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from dbos import DBOS
from fastapi import APIRouter, Depends
from pydantic import BaseModel

from outreach.runtime import Runtime
from outreach.web.auth import api_principal
from outreach.web.deps import COMMON, Limit, Offset, get_runtime

RunStatus = Literal[
    "PENDING",
    "ENQUEUED",
    "DELAYED",
    "SUCCESS",
    "ERROR",
    "CANCELLED",
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED",
]
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
_JOURNEY_RUN = re.compile(r"^journey-(\d+)-")


class RunOut(BaseModel):
    workflow_id: str
    name: str
    status: str
    created_at: datetime | None
    updated_at: datetime | None
    queue_name: str | None
    executor_id: str | None
    app_version: str | None
    error: str | None
    result: str | None = None  # a short form of what the workflow returned
    journey_id: int | None
    due_at: datetime | None = None  # a DELAYED run's release time, in simulated time


def _real(epoch_ms: int | None) -> datetime | None:
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC)


def _short(output: Any, limit: int = 80) -> str | None:
    if output is None:
        return None
    text = output if isinstance(output, str) else repr(output)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def journey_of(workflow_id: str) -> int | None:
    """The journey a stage workflow belongs to (ids are ``journey-{id}-{stage}-{seq}``)."""
    match = _JOURNEY_RUN.match(workflow_id)
    return int(match.group(1)) if match else None


def list_runs(
    rt: Runtime, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[RunOut]:
    """The newest workflow runs first; ``created_at``/``updated_at`` are wall-clock UTC."""
    found = DBOS.list_workflows(
        status=status,
        limit=limit,
        offset=offset,
        sort_desc=True,
        load_input=False,
        load_output=True,
    )
    runs = []
    for w in found:
        delay = w.delay_until_epoch_ms
        runs.append(
            RunOut(
                workflow_id=w.workflow_id,
                name=w.name,
                status=str(w.status),
                created_at=_real(w.created_at),
                updated_at=_real(w.updated_at),
                queue_name=w.queue_name,
                executor_id=w.executor_id,
                app_version=w.app_version,
                error=None if w.error is None else f"{type(w.error).__name__}: {w.error}",
                result=_short(w.output),
                journey_id=journey_of(w.workflow_id),
                due_at=rt.clock.at_real(delay / 1000) if delay and w.status == "DELAYED" else None,
            )
        )
    return runs


api_router = APIRouter(
    prefix="/api", dependencies=[Depends(api_principal)], tags=["runs"], responses=COMMON
)


@api_router.get("/runs", response_model=list[RunOut])
def runs(
    status: RunStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Every workflow run (launches, sweeps, journey stages), newest first."""
    return list_runs(rt, status=status, limit=limit, offset=offset)
