"""``outreach demo``: a whole campaign on the simulator, time-compressed, watched live.

The closing summary is computed three ways — from the journeys' states, from their
event timelines, and from the simulator's own record of what it received — and the
demo says whether they agree.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from dbos import DBOS
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from outreach import runtime
from outreach.accounts.commands import create_account
from outreach.accounts.schemas import AccountCreate
from outreach.campaigns.commands import create_campaign, launch
from outreach.campaigns.schemas import CampaignCreate
from outreach.campaigns.service import get_campaign, summarize
from outreach.config import Settings
from outreach.journeys.service import events_of_campaign
from outreach.models import TERMINAL_STATUSES, Journey, JourneyStatus
from outreach.prospects.commands import import_prospects
from outreach.runtime import Runtime
from outreach.sandbox.simulator import Simulator


def _remove_sqlite_file(url: str) -> None:
    path = sa.make_url(url).database
    if path and path != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)


def _simulator(rt: Runtime) -> Simulator:
    assert rt.simulator is not None, "the demo runs on the sandbox"
    return rt.simulator


def _prepare(rt: Runtime, prospects: int) -> int:
    """A sender, a campaign with generated prospects, launched: the same commands a user runs."""
    account = create_account(rt, AccountCreate(name="Demo sender", timezone="Europe/Paris"))
    name = f"Demo campaign ({prospects} prospects)"
    campaign = create_campaign(rt, CampaignCreate(name=name, account_id=account.id))
    rows = []
    for i in range(1, prospects + 1):
        slug = f"demo-prospect-{i:03d}"
        person = _simulator(rt).person(slug)
        row = {
            "profile_url": f"https://www.linkedin.com/in/{slug}/",
            "first_name": person.first_name,
            "last_name": person.last_name,
            "company": person.company,
            "title": person.headline,
        }
        rows.append((i, row))
    import_prospects(rt, campaign.id, rows)
    accepted = launch(rt, campaign.id)
    assert accepted.workflow_id is not None
    DBOS.retrieve_workflow(accepted.workflow_id).get_result()
    return campaign.id


@dataclass
class Tally:
    states: Counter[str]
    ended: int
    total: int


def _tally(rt: Runtime, campaign_id: int) -> Tally:
    with rt.sessions() as session:
        rows = session.execute(
            sa.select(Journey.status, sa.func.count())
            .where(Journey.campaign_id == campaign_id)
            .group_by(Journey.status)
        ).all()
    states = Counter({status.value: count for status, count in rows})
    ended = sum(count for status, count in rows if status in TERMINAL_STATUSES)
    return Tally(states, ended, sum(states.values()))


def _live_view(rt: Runtime, tally: Tally, progress: Progress) -> Group:
    table = Table(title=f"simulated time {rt.clock.now():%a %d %b %Y %H:%M} UTC", expand=False)
    for status in JourneyStatus:
        table.add_column(status.value, justify="right")
    table.add_row(*(str(tally.states.get(s.value, 0)) for s in JourneyStatus))
    return Group(table, progress)


def run_demo(settings: Settings, *, prospects: int, fresh: bool, console: Console) -> bool:
    if fresh and settings.is_sqlite:
        _remove_sqlite_file(settings.database_url)
    started = time.monotonic()
    rt = runtime.start(settings)
    try:
        campaign_id = _prepare(rt, prospects)
        progress = Progress(
            TextColumn("journeys ended"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        task = progress.add_task("journeys", total=prospects)
        with Live(console=console, refresh_per_second=4) as live:
            while True:
                tally = _tally(rt, campaign_id)
                progress.update(task, completed=tally.ended)
                live.update(_live_view(rt, tally, progress))
                if tally.total == prospects and tally.ended == prospects:
                    break
                time.sleep(0.25)
        elapsed = time.monotonic() - started
        return _summary(rt, campaign_id, elapsed, console)
    finally:
        runtime.stop()


def _summary(rt: Runtime, campaign_id: int, elapsed: float, console: Console) -> bool:
    with rt.sessions() as session:
        campaign = get_campaign(session, campaign_id)
        summary = summarize(session, campaign)
        events = events_of_campaign(session, campaign_id)
        account = campaign.account.external_id
    kinds = Counter(kind for _, kind, _ in events)
    # A prospect may write more than once, and after the last follow-up (the journey then
    # counts as replied, not completed): count journeys, not messages.
    replied = {jid for jid, kind, _ in events if kind == "reply_received"}
    completed = {jid for jid, kind, _ in events if kind == "completed"} - replied
    follow_ups = Counter(
        details.get("follow_up") for _, kind, details in events if kind == "message_sent"
    )
    log = _simulator(rt).log(account)
    sim = Counter(entry["kind"] for entry in log)
    first_sends = sum(
        1 for _, kind, d in events if kind == "invitation_sent" and not d.get("already_pending")
    )
    new_messages = sum(
        1 for _, kind, d in events if kind == "message_sent" and not d.get("found_after_retry")
    )
    j = summary.journeys
    rows = [
        ("invitations sent", None, kinds["invitation_sent"], sim.get("invitation", 0), first_sends),
        ("already connected", None, kinds["already_connected"], None, None),
        ("accepted", None, kinds["invitation_accepted"], None, None),
        ("not accepted", j["not_accepted"], kinds["not_accepted"], None, None),
        *[
            (f"follow-up {n} sent", None, follow_ups[n], None, None)
            for n in sorted(n for n in follow_ups if n is not None)
        ],
        ("messages sent", None, kinds["message_sent"], sim.get("message", 0), new_messages),
        ("replied", j["replied"], len(replied), None, None),
        ("completed", j["completed"], len(completed), None, None),
        ("failed", j["failed"], kinds["failed"], None, None),
    ]
    assert summary.launched_at is not None
    days = (rt.clock.now() - summary.launched_at).total_seconds() / 86400
    table = Table(title=f"{summary.name}: {days:.0f} simulated days in {elapsed:.0f} s real time")
    for column in ("", "journeys", "events", "simulator", "match"):
        table.add_column(column, justify="right" if column else "left")
    ok = True
    for label, journeys_count, event_count, sim_count, expected_sim in rows:
        good = (journeys_count is None or journeys_count == event_count) and (
            sim_count is None or sim_count == expected_sim
        )
        ok &= good
        table.add_row(
            label,
            _cell(journeys_count),
            str(event_count),
            _cell(sim_count),
            "✓" if good else "[red]✗[/red]",
        )
    console.print(table)
    verdict = (
        "[green]summary matches the journeys' events and the simulator's record[/green]"
        if ok
        else "[red]MISMATCH[/red]"
    )
    console.print(verdict)
    return ok


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)
