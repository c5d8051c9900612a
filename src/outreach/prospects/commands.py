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
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns import lifecycle
from outreach.campaigns.sequence import Templates, problem_check
from outreach.models import DoNotContactKind, DoNotContactSource, Prospect
from outreach.prospects import dnc
from outreach.prospects.importer import ProspectRow, RowError, normalise, printable
from outreach.prospects.repository import (
    Owner,
    lock_imports,
    owners_elsewhere,
    prospect_variables,
)
from outreach.prospects.schemas import DoNotContactAdded, DoNotContactIn, DoNotContactOut
from outreach.prospects.upload import Upload
from outreach.runtime import Runtime
from outreach.uow import transaction

Rows = list[tuple[int, dict[str, Any]]]
INSERT_BATCH = 5_000  # prospects per INSERT executemany
PROSPECTS = cast(sa.Table, Prospect.__table__)  # a Core insert: no ORM bookkeeping per row


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
    are reported with the others' errors, so every row sent is accounted for.
    """
    with transaction(rt) as session:
        return add_prospects(session, campaign_id, rows, now=rt.clock.now(), rejected=rejected)


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
    campaign = lifecycle.lock_campaign(session, campaign_id)
    lock_imports(session)
    problems = problem_check(Templates.model_validate(campaign.templates))
    result = ImportResult(errors=list(rejected))
    candidates = _new_people(session, campaign_id, _parsed(rows, result), result)
    blocked = dnc.blocked_reasons(session, [row for row, _ in candidates])
    owners = _owners(session, campaign_id, [row for row, _ in candidates])
    new: list[dict[str, Any]] = []
    for (row, raw), reason in zip(candidates, blocked, strict=True):
        if reason is not None:
            result.blocked.append(RowBlocked(row.row, row.public_identifier, reason))
            continue
        if row.row in owners:
            result.conflicts.append(owners[row.row])
            continue
        found = problems(prospect_variables(row))
        if found:
            result.errors.append(RowError(row.row, "; ".join(found), printable(raw)))
            continue
        new.append(_values(row, campaign_id, now))
    for start in range(0, len(new), INSERT_BATCH):
        session.execute(sa.insert(PROSPECTS), new[start : start + INSERT_BATCH])
    if new:
        lifecycle.prospects_added(session, campaign)
    result.imported = len(new)
    result.errors.sort(key=lambda e: e.row)
    return result


def _parsed(rows: Rows, result: ImportResult) -> list[tuple[ProspectRow, Any]]:
    """The rows that read as prospects; the others are reported as errors."""
    parsed: list[tuple[ProspectRow, Any]] = []
    for number, raw in rows:
        try:
            parsed.append((normalise(raw, number), raw))
        except ValueError as exc:
            result.errors.append(RowError(number, str(exc), printable(raw)))
    return parsed


def _new_people(
    session: Session,
    campaign_id: int,
    parsed: list[tuple[ProspectRow, Any]],
    result: ImportResult,
) -> list[tuple[ProspectRow, Any]]:
    """The rows whose person is not in the campaign yet, nor earlier in this import."""
    seen = set(
        session.execute(
            sa.select(Prospect.public_identifier).where(Prospect.campaign_id == campaign_id)
        ).scalars()
    )
    fresh: list[tuple[ProspectRow, Any]] = []
    for row, raw in parsed:
        if row.public_identifier in seen:
            result.duplicates += 1
            continue
        seen.add(row.public_identifier)
        fresh.append((row, raw))
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
    """A new prospect's columns: plain values for one bulk insert, no ORM object per row."""
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
