"""The ``outreach`` command: serve, worker, demo, and campaign/account management."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from outreach.config import Settings
from outreach.errors import OutreachError

if TYPE_CHECKING:
    from outreach.runtime import Runtime

app = typer.Typer(help="Self-hosted LinkedIn outreach automation.", no_args_is_help=True)
campaigns_app = typer.Typer(
    help="Create, import, launch, pause, resume and inspect campaigns.", no_args_is_help=True
)
accounts_app = typer.Typer(help="Sender accounts.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The LinkedIn simulator.", no_args_is_help=True)
unipile_app = typer.Typer(help="Unipile set-up.", no_args_is_help=True)
dnc_app = typer.Typer(
    help="The do-not-contact list: people, companies and domains no campaign contacts.",
    no_args_is_help=True,
)
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(accounts_app, name="accounts")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(unipile_app, name="unipile")
users_app = typer.Typer(
    help="Who may use the dashboard and the API: users, roles and API keys.", no_args_is_help=True
)
app.add_typer(dnc_app, name="dnc")
app.add_typer(users_app, name="users")
console = Console()


JsonFlag = Annotated[
    bool, typer.Option("--json", help="JSON: one object per line for a list, else one object.")
]
runs_app = typer.Typer(
    help="Workflow runs, in words: list, and one run's steps.", no_args_is_help=True
)
app.add_typer(runs_app, name="runs")
replies_app = typer.Typer(help="Replies: what they mean.", no_args_is_help=True)
app.add_typer(replies_app, name="replies")


ModelFlag = Annotated[
    bool,
    typer.Option(
        "--model",
        help="Read each reply with the configured model (OUTREACH_LLM_*), within its daily "
        "budget; a failed call falls back to the built-in classifier and says why.",
    ),
]


@replies_app.command("classify")
def replies_classify(as_json: JsonFlag = False, with_model: ModelFlag = False) -> None:
    """Classify replies read from standard input, one per line: its intent and confidence
    (and a return date, a person named, a question), by the built-in classifier or, with
    ``--model``, the configured model."""

    lines = (line.rstrip("\n") for line in sys.stdin)
    texts = (text for text in lines if text.strip())
    table = None if as_json else Table("intent", "confidence", "extracted", "by", "reply")
    with ExitStack() as stack:
        reader: Callable[[str], dict[str, Any]] = _rules_reader
        if with_model:
            if _settings().llm_provider is None:
                console.print(
                    "[red]--model needs OUTREACH_LLM_PROVIDER and OUTREACH_LLM_MODEL.[/red]"
                )
                raise typer.Exit(2)
            reader = _model_reader(stack.enter_context(_runtime()))
        for text in texts:
            read = reader(text)
            if table is None:
                print(json.dumps(read | {"text": text}, ensure_ascii=False), flush=True)
                continue
            found = read["return_date"] or read["referral"] or read["question"] or ""
            by = read["classifier"] + (" (fallback)" if "fallback" in read else "")
            table.add_row(
                read["intent"], f"{read['confidence']:.2f}", escape(str(found)), by, escape(text)
            )
    if table is not None:
        console.print(table)


def _rules_reader(text: str) -> dict[str, Any]:
    from outreach.replies.classify import classify

    return classify(text).as_dict()


def _model_reader(rt: Runtime) -> Callable[[str], dict[str, Any]]:
    """Each reply read by the configured model, recorded in the day's spend."""
    from outreach.clock import wall_now
    from outreach.replies import model
    from outreach.replies.classify import classify

    settings = rt.settings

    def read(text: str) -> dict[str, Any]:
        try:
            reading, _usage, cost = model.ask_within_budget(
                rt.sessions, settings, text, {}, wall_now().date()
            )
        except model.ModelFailed as failed:
            return classify(text).as_dict() | {"fallback": failed.reason}
        return {
            "intent": reading.intent.value,
            "confidence": reading.confidence,
            "classifier": f"{settings.llm_provider}:{settings.llm_model}",
            "prompt_version": model.PROMPT_VERSION,
            "return_date": reading.return_date.isoformat() if reading.return_date else None,
            "referral": reading.referral,
            "question": reading.question,
            "cost_usd": round(cost, 6),
        }

    return read


def _print_json(found: Any) -> None:
    """A model as one JSON object, or a list of models as one object per line."""
    if isinstance(found, list):
        for item in found:
            print(item.model_dump_json() if hasattr(item, "model_dump_json") else json.dumps(item))
    else:
        print(found.model_dump_json() if hasattr(found, "model_dump_json") else json.dumps(found))


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        console.print("[red]Invalid configuration (OUTREACH_* variables or .env):[/red]")
        for error in exc.errors():
            console.print(f"  - {'.'.join(str(p) for p in error['loc'])}: {error['msg']}")
        raise typer.Exit(2) from exc


def _structured_logs(settings: Settings) -> None:
    from outreach import logs

    secrets = [settings.api_key, settings.unipile_api_key, settings.webhook_secret]
    logs.configure(
        settings.log_level,
        json=settings.log_json,
        secrets=[s.get_secret_value() for s in secrets if s is not None],
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        bool,
        typer.Option(
            help="Run stages, the sweep and webhook processing here too; with --no-workers "
            "this process only answers (the API, the dashboard, webhooks stored) and "
            "`outreach worker` processes do the rest."
        ),
    ] = True,
) -> None:
    """Run the API, the dashboard, the workers and the sweep in one process."""
    import uvicorn

    from outreach.web.app import create_app

    settings = _settings(host=host, port=port)
    _structured_logs(settings)
    console.print(
        f"Outreach on http://{settings.host}:{settings.port}  (dashboard /, API /api, docs /docs)"
        + ("" if workers else "; no workers here: start `outreach worker` processes")
    )
    app_ = create_app(settings, workers=workers)
    uvicorn.run(app_, host=settings.host, port=settings.port, log_level="warning")


@app.command()
def worker() -> None:
    """Run workers and the sweep only (scale out: give each worker its own OUTREACH_EXECUTOR_ID)."""
    from outreach import runtime

    settings = _settings()
    _structured_logs(settings)
    runtime.start(settings)
    console.print(f"worker {settings.executor_id} running; Ctrl-C to stop")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()


@app.command()
def demo(
    prospects: Annotated[
        int, typer.Option(min=1, max=500, help="How many generated prospects.")
    ] = 30,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 43200.0,
    database: Annotated[
        str, typer.Option(help="Database for the demo (a fresh SQLite file by default).")
    ] = "sqlite:///outreach-demo.db",
    seed: Annotated[int, typer.Option(help="Simulator seed: same seed, same story.")] = 7,
    keep: Annotated[
        bool, typer.Option(help="Keep an existing demo database instead of starting afresh.")
    ] = False,
) -> None:
    """Launch a compressed campaign on the simulator and watch it until every journey ends."""
    from outreach.demo import run_demo

    settings = _settings(
        log_level="ERROR",  # step retries of the simulator's transient errors are expected
        database_url=database,
        time_scale=time_scale,
        sandbox_seed=seed,
        linkedin_provider="sandbox",
    )
    ok = run_demo(settings, prospects=prospects, fresh=not keep, console=console)
    raise typer.Exit(0 if ok else 1)


@contextmanager
def _runtime() -> Iterator[Runtime]:
    """The runtime, without queue workers, for one command; business errors are printed.

    It runs under an executor id of its own, so it never recovers a server's or a
    worker's in-flight work, and it waits for the workflows its command started (a
    launch's scheduling, say) before it exits.
    """
    from outreach import runtime

    settings = _settings(executor_id=f"cli-{uuid.uuid4().hex[:12]}", log_level="ERROR")
    rt = runtime.start(settings, workers=False)
    try:
        yield rt
        _wait_for_started_work(settings.executor_id)
    except OutreachError as exc:
        _fail(exc)
    finally:
        runtime.stop()


def _wait_for_started_work(executor_id: str) -> None:
    from dbos import DBOS

    while DBOS.list_workflows(
        executor_id=executor_id, status="PENDING", load_input=False, load_output=False
    ):
        time.sleep(0.1)


def _invalid(exc: ValidationError) -> NoReturn:
    """Print what is wrong with the input, one line per field, and exit 2."""
    console.print("[red]Invalid input:[/red]")
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "input"
        console.print(f"  - {where}: {error['msg']}")
    raise typer.Exit(2)


def _fail(exc: OutreachError) -> NoReturn:
    console.print(f"[red]{exc.message}[/red]")
    details = exc.details or []
    for detail in details if isinstance(details, list) else [details]:
        console.print(f"  - {detail}")
    raise typer.Exit(1)


@accounts_app.command("create")
def accounts_create(
    name: str,
    timezone: Annotated[str, typer.Option()] = "UTC",
    external_id: Annotated[str | None, typer.Option(help="Unipile account id")] = None,
    daily_invites: Annotated[int, typer.Option()] = 25,
    weekly_invites: Annotated[int, typer.Option()] = 100,
) -> None:
    """Add a sender account (its LinkedIn account is checked with the provider first)."""
    from outreach.accounts.commands import create_account
    from outreach.accounts.schemas import AccountCreate

    try:
        data = AccountCreate(
            name=name,
            timezone=timezone,
            external_id=external_id,
            daily_invite_cap=daily_invites,
            weekly_invite_cap=weekly_invites,
        )
    except ValidationError as exc:
        _invalid(exc)
    with _runtime() as rt:
        account = create_account(rt, data)
    console.print(f"account [bold]{account.id}[/bold] created ({account.external_id})")


@accounts_app.command("list")
def accounts_list(as_json: JsonFlag = False) -> None:
    """Every sender, with its status and, in JSON, its caps and today's usage."""
    from outreach.accounts.commands import list_all

    table = Table("id", "name", "provider", "external id", "status", "reason")
    with _runtime() as rt:
        found = list_all(rt)
    if as_json:
        _print_json(found)
        return
    for a in found:
        cells = (a.name, a.provider, a.external_id, a.status, a.status_reason or "")
        table.add_row(str(a.id), *(escape(c) for c in cells))
    console.print(table)


@accounts_app.command("pause")
def accounts_pause(account_id: int) -> None:
    """Pause a sender: its journeys hold until it is resumed."""
    from outreach.accounts.commands import pause_account

    with _runtime() as rt:
        pause_account(rt, account_id)
    console.print(f"account {account_id} paused")


@accounts_app.command("resume")
def accounts_resume(account_id: int) -> None:
    """Resume a sender and reschedule the journeys its pause held."""
    from outreach.accounts.commands import resume_account

    with _runtime() as rt:
        resume_account(rt, account_id)
    console.print(f"account {account_id} resumed")


@campaigns_app.command("create")
def campaigns_create(
    name: str,
    account_id: Annotated[int, typer.Option(help="Sender account id.")],
    spec: Annotated[
        Path | None, typer.Option(help="JSON file with 'sequence' and/or 'templates'.")
    ] = None,
) -> None:
    """Create a draft campaign (default sequence unless --spec says otherwise)."""
    from outreach.campaigns.commands import create_campaign
    from outreach.campaigns.schemas import CampaignCreate

    data = _with_spec(CampaignCreate, spec, name=name, account_id=account_id)
    with _runtime() as rt:
        campaign = create_campaign(rt, data)
    console.print(f"campaign [bold]{campaign.id}[/bold] created (draft)")


SpecModel = TypeVar("SpecModel", bound=BaseModel)


def _with_spec(model: type[SpecModel], spec: Path | None, **fields: Any) -> SpecModel:
    """``model`` from ``fields`` and the JSON object in ``spec``; exit 2 on a bad one."""
    try:
        extra = json.loads(spec.read_text()) if spec else {}
    except (OSError, ValueError) as exc:
        console.print(f"[red]Cannot read {spec}: {exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        return model(**fields, **extra)
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            _invalid(exc)
        console.print(f"[red]{spec} must hold a JSON object: {exc}[/red]")
        raise typer.Exit(2) from exc


@campaigns_app.command("edit")
def campaigns_edit(
    campaign_id: int,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    spec: Annotated[
        Path | None, typer.Option(help="JSON file with 'sequence' and/or 'templates'.")
    ] = None,
) -> None:
    """Rename a campaign, or save a new version of its sequence and texts (running or not):
    journeys not yet at a step get the new text and day; a removed follow-up ends the
    journeys waiting for it as completed."""
    from outreach.campaigns.commands import update_campaign
    from outreach.campaigns.schemas import CampaignUpdate

    data = _with_spec(CampaignUpdate, spec, **({"name": name} if name is not None else {}))
    with _runtime() as rt:
        edited = update_campaign(rt, campaign_id, data, saved_by="cli")
    if not edited.new_version:
        console.print(
            f"campaign {campaign_id}: sequence unchanged (version {edited.campaign.version})"
        )
        return
    console.print(
        f"campaign {campaign_id}: version [bold]{edited.campaign.version}[/bold] saved; "
        f"{edited.replanned} waiting journeys re-planned, {edited.ended} ended"
    )


@campaigns_app.command("versions")
def campaigns_versions(
    campaign_id: int, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Every saved version of a campaign's sequence and texts, the newest first."""
    from outreach.campaigns.schemas import CampaignVersionOut
    from outreach.campaigns.service import list_versions

    with _runtime() as rt, rt.sessions() as session:
        versions = [
            CampaignVersionOut.model_validate(v) for v in list_versions(session, campaign_id)
        ]
    if as_json:
        print(json.dumps([v.model_dump(mode="json") for v in versions], indent=2))
        return
    table = Table("version", "saved", "by", "days", "note")
    for v in versions:
        days = ", ".join(f"{d:g}" for d in v.sequence.follow_up_days)
        note = v.templates.invitation_note or "—"
        table.add_row(
            str(v.version),
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            escape(v.saved_by or "—"),
            f"check {v.sequence.acceptance_check_days:g} · {days}",
            escape(note[:60]),
        )
    console.print(table)


@campaigns_app.command("import")
def campaigns_import(campaign_id: int, file: Path) -> None:
    """Import prospects from a CSV or JSON file; bad rows are listed, good rows kept.

    An active campaign schedules the new prospects at once.
    """
    from outreach.prospects.commands import import_upload
    from outreach.prospects.upload import rows_from_upload

    content_type = "application/json" if file.suffix.lower() == ".json" else "text/csv"
    try:
        upload = rows_from_upload(file.read_bytes(), content_type)
    except (OSError, OutreachError) as exc:
        console.print(f"[red]Cannot read {file}: {escape(getattr(exc, 'message', str(exc)))}[/red]")
        raise typer.Exit(2) from exc
    with _runtime() as rt:
        result = import_upload(rt, campaign_id, upload)
    console.print(
        f"imported [bold]{result.imported}[/bold], duplicates {result.duplicates}, "
        f"in another campaign {len(result.conflicts)}, do not contact {len(result.blocked)}, "
        f"errors {len(result.errors)}"
    )
    for conflict in result.conflicts:
        console.print(
            f"  row {conflict.row}: {escape(conflict.public_identifier)} is in campaign "
            f"{conflict.campaign_id} ({escape(conflict.campaign_name)})",
            highlight=False,
        )
    for blocked in result.blocked:
        console.print(
            f"  row {blocked.row}: {escape(blocked.public_identifier)} is {escape(blocked.reason)}",
            highlight=False,
        )
    for error in result.errors:
        console.print(f"  row {error.row}: [red]{escape(error.error)}[/red]")
    if result.errors:
        raise typer.Exit(1)


@campaigns_app.command("export")
def campaigns_export(
    campaign_id: int,
    output: Annotated[
        Path | None, typer.Option(help="CSV file to write (UTF-8 with a BOM, for Excel).")
    ] = None,
) -> None:
    """Export the campaign's prospects as CSV (to stdout unless --output); values that a
    spreadsheet would run as formulas start with a single quote."""
    from outreach.campaigns.service import get_campaign
    from outreach.prospects.export import write_csv

    with _runtime() as rt, rt.sessions() as session:
        get_campaign(session, campaign_id)  # before a file is created for nothing
        if output is None:
            written = write_csv(session, campaign_id, sys.stdout)
            sys.stdout.flush()
            Console(stderr=True).print(f"{written} prospects exported")
            return
        try:
            with output.open("w", newline="", encoding="utf-8-sig") as out:
                written = write_csv(session, campaign_id, out)
        except OSError as exc:
            console.print(f"[red]Cannot write {output}: {exc}[/red]")
            raise typer.Exit(2) from exc
    console.print(f"{written} prospects exported to {output}")


def _follow(workflow_id: str, what: str) -> Any:
    """Wait for a workflow, with a bar fed by its ``total`` and ``started`` events."""
    from dbos import DBOS
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    handle: Any = DBOS.retrieve_workflow(workflow_id)
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(what, total=None)
        while handle.get_status().status in ("PENDING", "ENQUEUED"):
            events = DBOS.get_all_events(workflow_id)
            bar.update(task, total=events.get("total"), completed=events.get("started", 0))
            time.sleep(0.2)
    return handle.get_result()


@campaigns_app.command("launch")
def campaigns_launch(campaign_id: int) -> None:
    """Launch: create the journeys and schedule their invitations."""
    from outreach.campaigns.commands import launch

    with _runtime() as rt:
        accepted = launch(rt, campaign_id)
        assert accepted.workflow_id is not None
        count = _follow(accepted.workflow_id, "scheduling invitations")
    if not accepted.started:
        console.print(f"campaign {campaign_id} was launched already ({count} journeys then)")
        return
    console.print(
        f"campaign {campaign_id} launched: {count} journeys scheduled; "
        "a running `outreach serve` or `outreach worker` carries them out."
    )


@campaigns_app.command("pause")
def campaigns_pause(campaign_id: int) -> None:
    from outreach.campaigns.commands import pause

    with _runtime() as rt:
        pause(rt, campaign_id)
    console.print(f"campaign {campaign_id} paused")


@campaigns_app.command("resume")
def campaigns_resume(campaign_id: int) -> None:
    from outreach.campaigns.commands import resume

    with _runtime() as rt:
        accepted = resume(rt, campaign_id)
        assert accepted.workflow_id is not None
        count = _follow(accepted.workflow_id, "rescheduling held journeys")
    console.print(f"campaign {campaign_id} resumed: {count} journeys rescheduled")


@campaigns_app.command("status")
def campaigns_status(campaign_id: int, as_json: JsonFlag = False) -> None:
    """Counts per journey state."""
    from outreach.campaigns.service import get_campaign, summarize

    with _runtime() as rt, rt.sessions() as session:
        summary = summarize(session, get_campaign(session, campaign_id))
    if as_json:
        _print_json(summary)
        return
    table = Table(title=f"{summary.name} — {summary.status}")
    table.add_column("state")
    table.add_column("journeys", justify="right")
    table.add_row("pending prospects", str(summary.pending_prospects))
    for state, count in summary.journeys.items():
        table.add_row(state, str(count))
    table.add_row("held (paused)", str(summary.held))
    console.print(table)


@campaigns_app.command("forecast")
def campaigns_forecast(campaign_id: int, as_json: JsonFlag = False) -> None:
    """When the campaign's steps are expected and each sender's busiest day (a dry run)."""
    from outreach.campaigns.forecast import forecast

    with _runtime() as rt, rt.sessions() as session:
        found = forecast(session, campaign_id, rt.clock.now())
    if as_json:
        _print_json(found)
        return
    if not found.prospects:
        console.print("nothing left to forecast: every journey has ended or is held")
        return
    console.print(
        f"{found.prospects} prospects; "
        f"invitations all out by {found.invitations_done_at:%Y-%m-%d}; "
        f"last action {found.last_action_at:%Y-%m-%d %H:%M} UTC, "
        f"[bold]{found.days}[/bold] days from now ({found.assumption})"
    )
    table = Table("sender", "days active", "busiest day")
    for sender in found.senders:
        busiest = ", ".join(f"{n} {kind}s" for kind, n in sender.busiest_day.items())
        table.add_row(str(sender.sender_id), str(len(sender.days)), busiest)
    console.print(table)


@campaigns_app.command("list")
def campaigns_list(as_json: JsonFlag = False) -> None:
    """Every campaign with its counts per journey state."""
    from outreach.campaigns.service import list_campaigns, summarize_all

    table = Table("id", "name", "account", "status", "prospects")
    with _runtime() as rt, rt.sessions() as session:
        found = summarize_all(session, list_campaigns(session))
    if as_json:
        _print_json(found)
        return
    for c in found:
        table.add_row(str(c.id), escape(c.name), str(c.account_id), c.status, str(c.prospects))
    console.print(table)


@campaigns_app.command("prospects")
def campaigns_prospects(
    campaign_id: int,
    q: Annotated[str, typer.Option("--search", "-q", help="In name, company, identifier.")] = "",
    state: Annotated[str, typer.Option(help="pending, or a journey state.")] = "",
    sort: Annotated[str, typer.Option(help="added | name | company | status | next")] = "added",
    desc: Annotated[bool, typer.Option("--desc", help="Newest or last first.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """The campaign's prospects with their journey's state, searched, filtered, sorted."""
    from outreach.campaigns.service import get_campaign
    from outreach.prospects import listing

    if state and state not in listing.STATES:
        console.print(f"[red]--state must be one of {', '.join(listing.STATES)}[/red]")
        raise typer.Exit(2)
    if sort not in listing.SORTS:
        console.print(f"[red]--sort must be one of {', '.join(listing.SORTS)}[/red]")
        raise typer.Exit(2)
    query = listing.ProspectQuery(
        q=q, state=state, sort=sort, order="desc" if desc else "asc", limit=limit, offset=offset
    )
    with _runtime() as rt, rt.sessions() as session:
        get_campaign(session, campaign_id)
        page = listing.list_prospects(session, campaign_id, query)
    if as_json:
        _print_json(page.rows)
        return
    table = Table("id", "name", "company", "state", "waiting for", title=f"{page.total} prospects")
    for row in page.rows:
        cells = (row.name, row.company or "", row.state, row.waiting_for or "")
        table.add_row(str(row.id), *(escape(c) for c in cells))
    console.print(table)


@campaigns_app.command("analytics")
def campaigns_analytics(campaign_id: int, as_json: JsonFlag = False) -> None:
    """The campaign's funnel (invited, accepted, replied, positive, rates) and its last 30 days."""
    from outreach.campaigns import analytics
    from outreach.campaigns.service import get_campaign

    with _runtime() as rt, rt.sessions() as session:
        get_campaign(session, campaign_id)
        funnel = analytics.funnel(session, campaign_id=campaign_id)
        daily = analytics.daily(session, now=rt.clock.now(), campaign_id=campaign_id)
    if as_json:
        print(
            json.dumps(
                {"funnel": funnel.model_dump(mode="json"), "daily": daily.model_dump(mode="json")}
            )
        )
        return
    table = Table("step", "count", "rate")
    table.add_row("journeys", str(funnel.journeys), "")
    table.add_row("invited", str(funnel.invited), "")
    table.add_row("accepted", str(funnel.accepted), _rate(funnel.acceptance_rate))
    table.add_row("replied", str(funnel.replied), _rate(funnel.reply_rate))
    table.add_row("positive", str(funnel.positive), _rate(funnel.positive_rate))
    console.print(table)
    console.print(
        f"last 30 days: {sum(daily.invitations)} invitations, {sum(daily.messages)} messages, "
        f"{sum(daily.replies)} replies"
    )


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@runs_app.command("list")
def runs_list(
    status: Annotated[str, typer.Option(help="PENDING, ENQUEUED, SUCCESS, ERROR, …")] = "",
    campaign: Annotated[int | None, typer.Option(min=1)] = None,
    sender: Annotated[int | None, typer.Option(min=1)] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Workflow runs, newest first, in words."""
    from outreach.web import runs

    with _runtime() as rt:
        found = runs.list_runs(
            rt, limit=limit, filters=runs.RunFilters(status.upper(), campaign, sender)
        )
    if as_json:
        _print_json(found)
        return
    table = Table("run", "status", "campaign", "error")
    for r in found:
        table.add_row(escape(r.title), r.status, escape(r.campaign or ""), escape(r.error or ""))
    console.print(table)


@runs_app.command("show")
def runs_show(workflow_id: str, as_json: JsonFlag = False) -> None:
    """One run and its steps."""
    from outreach.web import runs

    with _runtime() as rt:
        run = runs.get_run(rt, workflow_id)
    if as_json:
        _print_json(run)
        return
    console.print(f"[bold]{escape(run.title)}[/bold] — {run.status}", highlight=False)
    for step in run.steps or []:
        mark = "…" if step.ok is None else ("✓" if step.ok else "✗")
        console.print(
            f"  {mark} {step.number}. {step.name} {escape(step.error or '')}", highlight=False
        )


@dnc_app.command("add")
def dnc_add(
    kind: Annotated[str, typer.Argument(help="person | company | domain")],
    value: Annotated[
        str, typer.Argument(help="profile URL, public identifier or provider id; name; domain")
    ],
    reason: Annotated[str | None, typer.Option(help="Why (shown wherever it blocks).")] = None,
) -> None:
    """Put a person, a company or a domain on the list; their journeys in flight stop now."""
    from outreach.models import DoNotContactSource
    from outreach.prospects.commands import add_do_not_contact
    from outreach.prospects.schemas import DoNotContactIn

    try:
        entry = DoNotContactIn(kind=kind, value=value, reason=reason)
    except ValidationError as exc:
        _invalid(exc)
    with _runtime() as rt:
        added = add_do_not_contact(rt, [entry], source=DoNotContactSource.PERSON)
    listed = added.entries[0]
    what = "added" if added.added else "was already on the list"
    stopped = added.stopped_journeys
    console.print(
        f"entry [bold]{listed.id}[/bold] ({listed.kind.value} {escape(listed.value)}) {what}; "
        f"{stopped} {'journey' if stopped == 1 else 'journeys'} stopped",
        highlight=False,
    )


@dnc_app.command("list")
def dnc_list(
    kind: Annotated[str | None, typer.Option(help="Only person, company or domain.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
    as_json: JsonFlag = False,
) -> None:
    """Entries, newest first."""
    from outreach.models import DoNotContactKind
    from outreach.prospects.commands import list_do_not_contact

    kinds = [k.value for k in DoNotContactKind]
    if kind is not None and kind.strip().lower() not in kinds:
        console.print(f"[red]--kind must be one of {', '.join(kinds)}[/red]")
        raise typer.Exit(2)
    chosen = DoNotContactKind(kind.strip().lower()) if kind else None
    table = Table("id", "kind", "value", "reason", "source", "added")
    with _runtime() as rt:
        found = list_do_not_contact(rt, kind=chosen, limit=limit)
    if as_json:
        _print_json(found)
        return
    for e in found:
        added = e.created_at.strftime("%Y-%m-%d %H:%M")
        row = (e.kind.value, e.value, e.reason or "", e.source.value, added)
        table.add_row(str(e.id), *(escape(cell) for cell in row))
    console.print(table)


@dnc_app.command("remove")
def dnc_remove(entry_id: int) -> None:
    """Take an entry off the list (journeys it stopped stay ended)."""
    from outreach.prospects.commands import remove_do_not_contact

    with _runtime() as rt:
        removed = remove_do_not_contact(rt, entry_id)
    console.print(
        f"entry {entry_id} ({removed.kind.value} {escape(removed.value)}) removed",
        highlight=False,
    )


@app.command()
def doctor(
    repair: Annotated[
        bool, typer.Option(help="Repair what is found (the sweep does too).")
    ] = False,
) -> None:
    """List journeys that are not finished yet have no live workflow behind them."""
    from outreach.journeys.doctor import problems, repair_all

    with _runtime():
        found = problems()
        table = Table("journey", "campaign", "stage", "problem", "detail")
        for p in found:
            table.add_row(str(p.journey_id), str(p.campaign_id), p.stage or "", p.kind, p.detail)
        if found:
            console.print(table)
        console.print(f"{len(found)} journeys without a live workflow or a reason")
        if repair and found:
            console.print(f"repaired {repair_all()}")


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option(help="Port for the fake Unipile API.")] = 8010,
    webhook_url: Annotated[str | None, typer.Option(help="Where to send webhooks.")] = None,
    database: Annotated[
        str | None,
        typer.Option(help="Its database; the app's (and so the app's clock) by default."),
    ] = None,
) -> None:
    """Serve the simulator behind Unipile's v1 HTTP API (a fake Unipile, with webhooks)."""
    from outreach.sandbox.fake_unipile import DEFAULT_ACCOUNT_ID, DEFAULT_API_KEY
    from outreach.sandbox.fake_unipile import serve as serve_fake

    keyed = "the key in UNIPILE_API_KEY" if os.environ.get("UNIPILE_API_KEY") else DEFAULT_API_KEY
    console.print(
        f"Fake Unipile on http://127.0.0.1:{port} (UNIPILE_DSN), accepting {keyed}; "
        f"connected LinkedIn account [bold]{DEFAULT_ACCOUNT_ID}[/bold]; "
        f"webhooks to {webhook_url or 'the URLs registered with POST /api/v1/webhooks'}"
    )
    serve_fake(port=port, webhook_url=webhook_url, database_url=database)


@unipile_app.command("webhooks")
def unipile_webhooks(
    url: Annotated[str, typer.Option(help="Public URL of /api/webhooks/unipile.")],
) -> None:
    """Register the message, relation and account-status webhooks with Unipile."""
    from outreach.linkedin.unipile import UnipileProvider, register_webhooks

    settings = _settings()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret or not settings.unipile_dsn:
        console.print(
            "[red]Set UNIPILE_DSN, UNIPILE_API_KEY and OUTREACH_WEBHOOK_SECRET first.[/red]"
        )
        raise typer.Exit(2)
    provider = UnipileProvider.from_settings(settings)
    ids = register_webhooks(provider, url, secret)
    console.print(f"webhooks registered: {', '.join(ids) or 'already there'}")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


# -- users and API keys (the server's operator: full rights) -------------------------------


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt(
        "Password (12 characters at least)", hide_input=True, confirmation_prompt=True
    )
    return value


def _new_user(username: str, role: str, password_stdin: bool) -> None:
    from outreach.users.commands import create_user
    from outreach.users.schemas import BOOTSTRAP, UserCreate

    password = _password(password_stdin)
    try:
        data = UserCreate(username=username, password=password, role=role)
    except ValidationError as exc:
        _invalid(exc)
    with _runtime() as rt:
        user = create_user(rt, BOOTSTRAP, data)
    console.print(f"{user.role.value} [bold]{escape(user.username)}[/bold] created (id {user.id})")


@users_app.command("create-admin")
def users_create_admin(
    username: str,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (for scripts).")
    ] = False,
) -> None:
    """Create an admin (the first one, or another: the way back in when one is lost)."""
    _new_user(username, "admin", password_stdin)


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="member or admin.")] = "member",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Create a user."""
    _new_user(username, role, password_stdin)


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    from outreach.users.commands import list_users
    from outreach.users.schemas import BOOTSTRAP

    with _runtime() as rt:
        found = list_users(rt, BOOTSTRAP)
    if as_json:
        for user in found:
            print(user.model_dump_json())
        return
    table = Table("id", "username", "role", "state")
    for user in found:
        state = "disabled" if user.disabled_at else "active"
        table.add_row(str(user.id), escape(user.username), user.role.value, state)
    console.print(table)


@users_app.command("disable")
def users_disable(user_id: int) -> None:
    """Disable a user: their sessions end and their API keys stop working."""
    from outreach.users.commands import disable_user
    from outreach.users.schemas import BOOTSTRAP

    with _runtime() as rt:
        user = disable_user(rt, BOOTSTRAP, user_id)
    console.print(f"user {escape(user.username)} disabled")


@users_app.command("key")
def users_key(
    username: str,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
) -> None:
    """Create an API key for a user and print it (the only time it is shown)."""
    from outreach.errors import NotFound
    from outreach.users.commands import create_key
    from outreach.users.repository import by_username
    from outreach.users.schemas import BOOTSTRAP, ApiKeyCreate

    with _runtime() as rt:
        with rt.sessions() as session:
            user = by_username(session, username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        created = create_key(rt, BOOTSTRAP, ApiKeyCreate(name=name), user_id=user.id)
    console.print(f"API key {escape(created.name)!r} for {escape(username)} (shown once):")
    print(created.key)
