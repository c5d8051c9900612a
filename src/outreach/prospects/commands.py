"""Importing prospects into a campaign, and the do-not-contact list: what a person does.

An import keeps the good rows and reports every other row sent: rows that could not be
read or are not valid (errors), people already in the campaign (duplicates), people
another campaign has in hand (conflicts) and people on the do-not-contact list (blocked).
An active campaign schedules the new prospects at once (after the import commits); a
completed one reopens. The sweep stays as the safety net.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns import lifecycle
from outreach.campaigns.sequence import Templates, problem_check
from outreach.errors import NotFound
from outreach.models import Campaign, DoNotContactKind, DoNotContactSource, Prospect
from outreach.prospects import dnc
from outreach.prospects.importer import ProspectRow, RowError, normalise, printable
from outreach.prospects.repository import (
    Owner,
    insert_prospects,
    lock_imports,
    owners_elsewhere,
    prospect_variables,
)
from outreach.prospects.schemas import DoNotContactAdded, DoNotContactIn, DoNotContactOut
from outreach.prospects.upload import Upload
from outreach.runtime import Runtime
from outreach.uow import transaction

Rows = list[tuple[int, dict[str, Any]]]
INSERT_BATCH = 5_000  # new prospects inserted at a time


@dataclass
class RowConflict:
    """A row whose person another campaign has in hand (its journey has not ended)."""

    row: int
    public_identifier: str
    campaign_id: int
    campaign_name: str


@dataclass
class RowBlocked:
    """A row whose person is on the do-not-contact list."""

    row: int
    public_identifier: str
    reason: str


@dataclass
class ImportResult:
    """What an import did with every row sent: ``imported + len(errors) + duplicates +
    len(conflicts) + len(blocked)`` is the number of rows sent."""

    imported: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    conflicts: list[RowConflict] = field(default_factory=list)
    blocked: list[RowBlocked] = field(default_factory=list)


def import_prospects(
    rt: Runtime,
    campaign_id: int,
    rows: Rows,
    *,
    rejected: Sequence[RowError] = (),
) -> ImportResult:
    """The import command: one transaction, then the new prospects' scheduling.

    ``rejected`` are the rows that could not be read (``upload.Upload.rejected``): they
    are reported with the others' errors, so every row sent is accounted for. The rows
    are read and their messages checked before the transaction (a campaign's templates
    never change), so the write lock, SQLite's only one, is held for the queries and
    the insert alone, not for the long part.
    """
    with rt.sessions() as session:
        templates = _templates(session, campaign_id)
    checked = check_rows(rows, templates)
    with transaction(rt) as session:
        return _add(session, campaign_id, checked, now=rt.clock.now(), rejected=rejected)


def import_upload(rt: Runtime, campaign_id: int, upload: Upload) -> ImportResult:
    """Import what ``upload.rows_from_upload`` read: its rows, and its rejected rows."""
    return import_prospects(rt, campaign_id, upload.rows, rejected=upload.rejected)


def add_prospects(
    session: Session,
    campaign_id: int,
    rows: Rows,
    *,
    now: datetime,
    rejected: Sequence[RowError] = (),
) -> ImportResult:
    """The import in the caller's transaction."""
    checked = check_rows(rows, _templates(session, campaign_id))
    return _add(session, campaign_id, checked, now=now, rejected=rejected)


@dataclass
class Checked:
    """What an import works out without the database: the rows read as prospects, the
    template problems of some of them (by row number, with the row as echoed back),
    and the rows that are not valid. Flat on purpose: no object a row beyond the
    ``ProspectRow``, so the garbage collector has less to walk during a large import."""

    rows: list[ProspectRow] = field(default_factory=list)
    problems: dict[int, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


def check_rows(rows: Rows, templates: Templates) -> Checked:
    """Each row normalised (``importer.normalise``) and its messages checked (pure)."""
    problems = problem_check(templates)
    checked = Checked()
    for number, raw in rows:
        try:
            row = normalise(raw, number)
        except ValueError as exc:
            checked.errors.append(RowError(number, str(exc), printable(raw)))
            continue
        checked.rows.append(row)
        found = problems(prospect_variables(row))
        if found:
            checked.problems[number] = ("; ".join(found), printable(raw))
    return checked


def _templates(session: Session, campaign_id: int) -> Templates:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return Templates.model_validate(campaign.templates)


def _add(
    session: Session,
    campaign_id: int,
    checked: Checked,
    *,
    now: datetime,
    rejected: Sequence[RowError],
) -> ImportResult:
    """Sort checked rows into duplicates, blocked, conflicts, errors and new prospects;
    insert the new ones. A row lands in the first of these that applies."""
    campaign = lifecycle.lock_campaign(session, campaign_id)
    lock_imports(session)
    result = ImportResult(errors=[*rejected, *checked.errors])
    candidates = _new_people(session, campaign_id, checked.rows, result)
    blocked = dnc.blocked_reasons(session, candidates)
    owners = _owners(session, campaign_id, candidates)
    batch: list[dict[str, Any]] = []
    for row, reason in zip(candidates, blocked, strict=True):
        if reason is not None:
            result.blocked.append(RowBlocked(row.row, row.public_identifier, reason))
        elif row.row in owners:
            result.conflicts.append(owners[row.row])
        elif row.row in checked.problems:
            result.errors.append(RowError(row.row, *checked.problems[row.row]))
        else:
            batch.append(_values(row, campaign_id, now))
            result.imported += 1
        if len(batch) == INSERT_BATCH:  # inserted as they come: fewer objects alive at once
            insert_prospects(session, batch)
            batch = []
    insert_prospects(session, batch)
    if result.imported:
        lifecycle.prospects_added(session, campaign)
    result.errors.sort(key=lambda e: e.row)
    return result


def _new_people(
    session: Session, campaign_id: int, rows: list[ProspectRow], result: ImportResult
) -> list[ProspectRow]:
    """The rows whose person is not in the campaign yet, nor earlier in this import."""
    seen = set(
        session.execute(
            sa.select(Prospect.public_identifier).where(Prospect.campaign_id == campaign_id)
        ).scalars()
    )
    fresh: list[ProspectRow] = []
    for row in rows:
        if row.public_identifier in seen:
            result.duplicates += 1
            continue
        seen.add(row.public_identifier)
        fresh.append(row)
    return fresh


def _owners(session: Session, campaign_id: int, rows: list[ProspectRow]) -> dict[int, RowConflict]:
    """Each row whose person another campaign has in hand: the oldest such campaign."""
    people = [(r.public_identifier, r.provider_id) for r in rows]
    by_slug: dict[str, Owner] = {}
    by_provider_id: dict[str, Owner] = {}
    for owner in sorted(owners_elsewhere(session, campaign_id, people), key=_campaign_id):
        by_slug.setdefault(owner.public_identifier, owner)
        if owner.provider_id:
            by_provider_id.setdefault(owner.provider_id, owner)
    conflicts: dict[int, RowConflict] = {}
    for row in rows:
        found = [by_slug.get(row.public_identifier), by_provider_id.get(row.provider_id or "")]
        oldest = min((o for o in found if o), key=_campaign_id, default=None)
        if oldest is not None:
            conflicts[row.row] = RowConflict(
                row.row, row.public_identifier, oldest.campaign_id, oldest.campaign_name
            )
    return conflicts


def _campaign_id(owner: Owner) -> int:
    return owner.campaign_id


def _values(row: ProspectRow, campaign_id: int, now: datetime) -> dict[str, Any]:
    """A new prospect's columns (``repository.COLUMNS``), for a bulk insert."""
    return {
        "campaign_id": campaign_id,
        "public_identifier": row.public_identifier,
        "profile_url": row.profile_url,
        "provider_id": row.provider_id,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "company": row.company,
        "title": row.title,
        "fields": row.fields,
        "created_at": now,
    }


# -- the do-not-contact list --------------------------------------------------------------


def add_do_not_contact(
    rt: Runtime, entries: list[DoNotContactIn], *, source: DoNotContactSource
) -> DoNotContactAdded:
    """Put entries on the list and stop the journeys in flight they block, in one commit."""
    with transaction(rt) as session:
        return dnc.add_entries(session, entries, now=rt.clock.now(), source=source)


def remove_do_not_contact(rt: Runtime, entry_id: int) -> DoNotContactOut:
    with transaction(rt) as session:
        return dnc.remove_entry(session, entry_id)


def list_do_not_contact(
    rt: Runtime, *, kind: DoNotContactKind | None = None, limit: int = 100, offset: int = 0
) -> list[DoNotContactOut]:
    with rt.sessions() as session:
        entries = dnc.list_entries(session, kind=kind, limit=limit, offset=offset)
        return [DoNotContactOut.model_validate(e) for e in entries]
