"""Workflow runs in a person's words, for the dashboard's /runs and the JSON ``/api/runs``.

A run is a DBOS workflow: a journey's stage (``journey-{id}-{stage}-{seq}``), a launch or
resume of a campaign, a sender's resume, the sweep. Each is shown with what it does
("Send follow-up 2 to Ada Lovelace"), its campaign and sender, when it ran on the
simulated clock, its steps as DBOS recorded them, and what its journey does next.

Stage runs carry their journey, campaign and sender as DBOS workflow attributes. On
PostgreSQL DBOS filters by them; on SQLite (where it cannot) the newest runs are read in
batches and matched here, up to ``SCAN_LIMIT`` runs back.

Actions keep the engine's rules. A stage is never resumed from its DBOS checkpoint: its
send might happen twice beside the doctor's repair. *Retry* runs the step again as the
doctor does (a new stage, picked up by the sender's governor); *cancel* cancels the
workflow and stops the journey, so nothing more is sent. Other runs (launches, resumes,
sweeps) are idempotent and resumed or cancelled as DBOS does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import sqlalchemy as sa
from dbos import DBOS
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from outreach.campaigns.sequence import Stage, StageRef
from outreach.db import MAX_ID
from outreach.errors import Conflict, InvalidInput, NotFound
from outreach.journeys import lifecycle
from outreach.models import TERMINAL_STATUSES, Account, Campaign, Journey, Prospect
from outreach.runtime import Runtime
from outreach.uow import transaction
from outreach.web.auth import ApiPrincipal, api_principal
from outreach.web.deps import COMMON, CONFLICT, NOT_FOUND, Limit, Offset, get_runtime

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
FAILED = ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")
WAITING = ("ENQUEUED", "DELAYED")
Since = Literal["", "1h", "24h", "7d"]
SINCE = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
SCAN_BATCH = 500
SCAN_LIMIT = 20_000  # SQLite: how far back a campaign or sender filter looks
_JOURNEY_RUN = re.compile(r"^journey-(\d+)-(.+)-(\d+)$")
_CAMPAIGN_RUN = re.compile(r"^campaign-(\d+)-")
_SENDER_RUN = re.compile(r"^account-(\d+)-")


class StepOut(BaseModel):
    number: int
    name: str
    ok: bool | None = Field(description="true: done; false: it raised; null: not finished")
    started_at: datetime | None = Field(description="Simulated time.")
    seconds: float | None = Field(description="How long it took, in real seconds.")
    error: str | None
    output: str | None


class RunOut(BaseModel):
    workflow_id: str
    name: str
    title: str = Field(description="What the run does, in words.")
    status: str
    created_at: datetime | None = Field(description="Wall-clock UTC.")
    updated_at: datetime | None = Field(description="Wall-clock UTC.")
    started: datetime | None = Field(default=None, description="Simulated time it was created.")
    finished: datetime | None = Field(
        default=None, description="Simulated time of its last change."
    )
    queue_name: str | None
    executor_id: str | None
    app_version: str | None
    error: str | None
    result: str | None = None  # a short form of what the workflow returned
    journey_id: int | None
    campaign_id: int | None = None
    campaign: str | None = None
    sender_id: int | None = None
    sender: str | None = None
    prospect: str | None = None
    attempt: int | None = Field(default=None, description="The journey's attempts at its step.")
    next_wake: datetime | None = Field(
        default=None, description="When the journey's next step is due (simulated)."
    )
    next_step: str | None = None
    due_at: datetime | None = None  # a DELAYED run's release time, in simulated time
    steps: list[StepOut] | None = None


@dataclass(frozen=True)
class RunFilters:
    status: str = ""
    campaign_id: int | None = None
    sender_id: int | None = None
    since: str = ""

    def check(self) -> RunFilters:
        if self.status and self.status not in RUN_STATUSES:
            allowed = {"allowed": list(RUN_STATUSES)}
            raise InvalidInput(f"unknown run status {self.status!r}", details=allowed)
        if self.since and self.since not in SINCE:
            raise InvalidInput(f"unknown period {self.since!r}", details={"allowed": list(SINCE)})
        return self

    @property
    def attributes(self) -> dict[str, int]:
        found = {}
        if self.campaign_id is not None:
            found["campaign_id"] = self.campaign_id
        if self.sender_id is not None:
            found["sender_id"] = self.sender_id
        return found


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


def _stage_of(workflow_id: str) -> tuple[int, str, int] | None:
    match = _JOURNEY_RUN.match(workflow_id)
    return (int(match.group(1)), match.group(2), int(match.group(3))) if match else None


def step_words(stage: str) -> str:
    try:
        ref = StageRef.parse(stage)
    except ValueError:
        return stage
    return {
        Stage.INVITE: "Send the invitation",
        Stage.CHECK_ACCEPTANCE: "Check the acceptance",
        Stage.WITHDRAW: "Withdraw the invitation",
    }.get(ref.stage, f"Send follow-up {ref.number}")


def _attribute(w: Any, key: str) -> int | None:
    value = (getattr(w, "attributes", None) or {}).get(key)
    return value if isinstance(value, int) else None


def _matches(w: Any, attributes: dict[str, int]) -> bool:
    return all(_ids_of(w).get(k) == v for k, v in attributes.items())


def _ids_of(w: Any) -> dict[str, int | None]:
    """Campaign and sender of a run: its attributes, or what its id says."""
    ids = {"campaign_id": _attribute(w, "campaign_id"), "sender_id": _attribute(w, "sender_id")}
    if ids["campaign_id"] is None and (m := _CAMPAIGN_RUN.match(w.workflow_id)):
        ids["campaign_id"] = int(m.group(1))
    if ids["sender_id"] is None and (m := _SENDER_RUN.match(w.workflow_id)):
        ids["sender_id"] = int(m.group(1))
    return ids


def _fetch(rt: Runtime, filters: RunFilters, limit: int, offset: int) -> list[Any]:
    query: dict[str, Any] = {
        "status": filters.status or None,
        "sort_desc": True,
        "load_input": False,
        "load_output": True,
    }
    if filters.since:
        query["start_time"] = (datetime.now(UTC) - SINCE[filters.since]).isoformat()
    wanted = filters.attributes
    if not wanted:
        return list(DBOS.list_workflows(limit=limit, offset=offset, **query))
    if not rt.settings.is_sqlite:
        return list(DBOS.list_workflows(limit=limit, offset=offset, attributes=wanted, **query))
    found: list[Any] = []
    for begin in range(0, SCAN_LIMIT, SCAN_BATCH):
        batch = DBOS.list_workflows(limit=SCAN_BATCH, offset=begin, **query)
        found += [w for w in batch if _matches(w, wanted)]
        if len(found) >= offset + limit or len(batch) < SCAN_BATCH:
            break
    return found[offset : offset + limit]


def list_runs(
    rt: Runtime,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
    filters: RunFilters | None = None,
) -> list[RunOut]:
    """The newest workflow runs first, in words, with their journey's next step."""
    filters = (filters or RunFilters()).check()
    if status:
        filters = replace(filters, status=status)
    found = _fetch(rt, filters, limit, offset)
    return _described(rt, found)


def _described(rt: Runtime, found: list[Any]) -> list[RunOut]:
    journey_ids = {jid for w in found if (jid := journey_of(w.workflow_id)) is not None}
    campaign_ids = {cid for w in found if (cid := _ids_of(w)["campaign_id"]) is not None}
    sender_ids = {sid for w in found if (sid := _ids_of(w)["sender_id"]) is not None}
    with rt.sessions() as session:
        journeys = {
            row.id: row
            for row in session.execute(
                sa.select(
                    Journey.id,
                    Journey.campaign_id,
                    Journey.account_id,
                    Journey.stage,
                    Journey.stage_seq,
                    Journey.next_run_at,
                    Journey.attempts,
                    Prospect.first_name,
                    Prospect.last_name,
                    Prospect.public_identifier,
                )
                .join(Prospect, Prospect.id == Journey.prospect_id)
                .where(Journey.id.in_(journey_ids))
            )
        }
        campaign_ids |= {j.campaign_id for j in journeys.values()}
        sender_ids |= {j.account_id for j in journeys.values()}
        campaigns: dict[int, str] = {
            cid: name
            for cid, name in session.execute(
                sa.select(Campaign.id, Campaign.name).where(Campaign.id.in_(campaign_ids))
            )
        }
        senders: dict[int, str] = {
            sid: name
            for sid, name in session.execute(
                sa.select(Account.id, Account.name).where(Account.id.in_(sender_ids))
            )
        }
    return [_run_out(rt, w, journeys, campaigns, senders) for w in found]


def _sim(rt: Runtime, at: datetime | None) -> datetime | None:
    return None if at is None else rt.clock.at_real(at.timestamp())


def _run_out(
    rt: Runtime,
    w: Any,
    journeys: dict[int, Any],
    campaigns: dict[int, str],
    senders: dict[int, str],
) -> RunOut:
    created, updated = _real(w.created_at), _real(w.updated_at)
    ids = _ids_of(w)
    delay = w.delay_until_epoch_ms
    out = RunOut(
        workflow_id=w.workflow_id,
        name=w.name,
        title=_title(w, ids, campaigns, senders),
        status=str(w.status),
        created_at=created,
        updated_at=updated,
        started=_sim(rt, created),
        finished=_sim(rt, updated),
        queue_name=w.queue_name,
        executor_id=w.executor_id,
        app_version=w.app_version,
        error=None if w.error is None else f"{type(w.error).__name__}: {w.error}",
        result=_short(w.output),
        journey_id=journey_of(w.workflow_id),
        campaign_id=ids["campaign_id"],
        campaign=campaigns.get(ids["campaign_id"] or 0),
        sender_id=ids["sender_id"],
        sender=senders.get(ids["sender_id"] or 0),
        due_at=rt.clock.at_real(delay / 1000) if delay and w.status == "DELAYED" else None,
    )
    stage = _stage_of(w.workflow_id)
    journey = journeys.get(stage[0]) if stage else None
    if stage is None or journey is None:
        return out
    name = " ".join(p for p in (journey.first_name, journey.last_name) if p)
    out.prospect = name or journey.public_identifier
    out.campaign_id, out.sender_id = journey.campaign_id, journey.account_id
    out.campaign, out.sender = campaigns.get(journey.campaign_id), senders.get(journey.account_id)
    out.title = f"{step_words(stage[1])} to {out.prospect}"
    this_run = (journey.stage, journey.stage_seq) == (stage[1], stage[2])
    out.attempt = journey.attempts + 1 if this_run else None
    if journey.stage is not None and not this_run:
        out.next_step, out.next_wake = step_words(journey.stage), journey.next_run_at
    return out


def _title(
    w: Any, ids: dict[str, int | None], campaigns: dict[int, str], senders: dict[int, str]
) -> str:
    campaign = campaigns.get(ids["campaign_id"] or 0, f"campaign {ids['campaign_id']}")
    sender = senders.get(ids["sender_id"] or 0, f"sender {ids['sender_id']}")
    if w.name == "schedule_campaign":
        return f"Schedule the pending prospects of {campaign}"
    if w.name == "resume_held":
        return f"Resume the held journeys of {campaign if ids['campaign_id'] else sender}"
    if w.name == "sweep":
        return "Sweep: pick up pending prospects, repair what stalled"
    return str(w.name).replace("_", " ").capitalize()


def get_run(rt: Runtime, workflow_id: str) -> RunOut:
    """One run with its steps as DBOS recorded them."""
    found = DBOS.list_workflows(workflow_ids=[workflow_id], load_input=False, load_output=True)
    if not found:
        raise NotFound(f"no run {workflow_id!r}")
    run = _described(rt, found)[0]
    steps = DBOS.list_workflow_steps(workflow_id)
    run.steps = [
        StepOut(
            number=s["function_id"],
            name=s["function_name"],
            ok=None if s["completed_at_epoch_ms"] is None else s["error"] is None,
            started_at=_sim(rt, _real(s["started_at_epoch_ms"])),
            seconds=(
                None
                if s["completed_at_epoch_ms"] is None or s["started_at_epoch_ms"] is None
                else (s["completed_at_epoch_ms"] - s["started_at_epoch_ms"]) / 1000
            ),
            error=None if s["error"] is None else f"{type(s['error']).__name__}: {s['error']}",
            output=_short(s["output"]),
        )
        for s in steps
    ]
    return run


# -- actions ------------------------------------------------------------------------------


class RunAction(BaseModel):
    workflow_id: str
    action: str
    done: bool
    detail: str


def cancel_run(rt: Runtime, workflow_id: str, *, by: str) -> RunAction:
    run = get_run(rt, workflow_id)
    if run.status not in (*WAITING, "PENDING"):
        raise Conflict(
            f"the run is {run.status.lower()}: only a waiting or running run can be cancelled"
        )
    DBOS.cancel_workflow(workflow_id)
    stage = _stage_of(workflow_id)
    if stage is None:
        return RunAction(workflow_id=workflow_id, action="cancel", done=True, detail="cancelled")
    with transaction(rt) as session:
        stopped = lifecycle.stop(
            session, stage[0], now=rt.clock.now(), by=f"{by} (run cancelled)", release=True
        )
    detail = "cancelled; the journey is stopped" if stopped else "cancelled"
    return RunAction(workflow_id=workflow_id, action="cancel", done=True, detail=detail)


def retry_run(rt: Runtime, workflow_id: str) -> RunAction:
    run = get_run(rt, workflow_id)
    if run.status not in (*FAILED, "CANCELLED"):
        raise Conflict(
            f"the run is {run.status.lower()}: only a failed or cancelled run is retried"
        )
    stage = _stage_of(workflow_id)
    if stage is None:
        DBOS.resume_workflow(workflow_id)
        return RunAction(workflow_id=workflow_id, action="retry", done=True, detail="resumed")
    journey_id, name, seq = stage
    with transaction(rt) as session:
        again = lifecycle.repair(
            session,
            rt.clock.now(),
            journey_id,
            name,
            seq,
            problem=f"retried by a person after {run.status.lower()}",
            max_attempts=10**6,
        )
    if not again:
        raise Conflict("its journey has moved on (or is held): nothing to retry")
    return RunAction(
        workflow_id=workflow_id, action="retry", done=True, detail="the step runs again"
    )


BulkAction = Literal["pause", "cancel", "retry"]


class BulkRequest(BaseModel):
    action: BulkAction
    campaign_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    sender_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class BulkResult(BaseModel):
    action: str
    touched: int = Field(description="Runs (or, for pause, waiting journeys) it acted on.")
    detail: str


def bulk_targets(rt: Runtime, request: BulkRequest) -> list[str]:
    """The runs a bulk cancel or retry would touch (newest first)."""
    statuses = WAITING if request.action == "cancel" else FAILED
    filters = RunFilters(campaign_id=request.campaign_id, sender_id=request.sender_id)
    if not filters.attributes:
        raise InvalidInput("a bulk action needs a campaign or a sender")
    found: list[str] = []
    for status in statuses:
        runs = _fetch(rt, replace(filters, status=status), SCAN_LIMIT, 0)
        found += [w.workflow_id for w in runs]
    return found


def open_journeys(rt: Runtime, request: BulkRequest) -> int:
    with rt.sessions() as session:
        query = (
            sa.select(sa.func.count())
            .select_from(Journey)
            .where(Journey.status.not_in(TERMINAL_STATUSES))
        )
        if request.campaign_id is not None:
            query = query.where(Journey.campaign_id == request.campaign_id)
        if request.sender_id is not None:
            query = query.where(Journey.account_id == request.sender_id)
        return int(session.execute(query).scalar_one())


def bulk(rt: Runtime, request: BulkRequest, *, by: str) -> BulkResult:
    from outreach.accounts.commands import pause_account
    from outreach.campaigns.commands import pause as pause_campaign

    if request.action == "pause":
        waiting = open_journeys(rt, request)
        if request.campaign_id is not None:
            pause_campaign(rt, request.campaign_id)
        elif request.sender_id is not None:
            pause_account(rt, request.sender_id)
        else:
            raise InvalidInput("a bulk action needs a campaign or a sender")
        return BulkResult(action="pause", touched=waiting, detail=f"{waiting} journeys held")
    done = 0
    for workflow_id in bulk_targets(rt, request):
        try:
            if request.action == "cancel":
                cancel_run(rt, workflow_id, by=by)
            else:
                retry_run(rt, workflow_id)
        except Conflict:
            continue  # it moved on meanwhile
        done += 1
    verb = "cancelled" if request.action == "cancel" else "retried"
    return BulkResult(action=request.action, touched=done, detail=f"{done} runs {verb}")


# -- the API ------------------------------------------------------------------------------

api_router = APIRouter(
    prefix="/api", dependencies=[Depends(api_principal)], tags=["runs"], responses=COMMON
)


@api_router.get("/runs", response_model=list[RunOut])
def runs(
    status: RunStatus | None = None,
    campaign_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    sender_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    since: Since = "",
    limit: Limit = 100,
    offset: Offset = 0,
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Every workflow run (launches, sweeps, journey stages), newest first, in words."""
    filters = RunFilters(status or "", campaign_id, sender_id, since)
    return list_runs(rt, limit=limit, offset=offset, filters=filters)


@api_router.get("/runs/{workflow_id}", response_model=RunOut, responses=NOT_FOUND)
def run_detail(workflow_id: str, rt: Runtime = Depends(get_runtime)) -> Any:
    """One run with its steps (each with its outcome, duration and error)."""
    return get_run(rt, workflow_id)


@api_router.post(
    "/runs/{workflow_id}/cancel", response_model=RunAction, responses={**NOT_FOUND, **CONFLICT}
)
def cancel(workflow_id: str, principal: ApiPrincipal, rt: Runtime = Depends(get_runtime)) -> Any:
    """Cancel a waiting or running run; a journey's stage run also stops its journey."""
    return cancel_run(rt, workflow_id, by=principal.username)


@api_router.post(
    "/runs/{workflow_id}/retry", response_model=RunAction, responses={**NOT_FOUND, **CONFLICT}
)
def retry(workflow_id: str, rt: Runtime = Depends(get_runtime)) -> Any:
    """Run a failed or cancelled run again (a journey's step: as a new stage run)."""
    return retry_run(rt, workflow_id)


@api_router.post("/runs/bulk", response_model=BulkResult)
def bulk_route(
    request: BulkRequest, principal: ApiPrincipal, rt: Runtime = Depends(get_runtime)
) -> Any:
    """Pause, cancel the waiting runs of, or retry the failed runs of a campaign or sender."""
    return bulk(rt, request, by=principal.username)
