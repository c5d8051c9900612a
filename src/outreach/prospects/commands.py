"""Importing prospects into a campaign: good rows in, bad rows reported, nothing lost.

An active campaign schedules the new prospects at once (after the import commits); a
completed one reopens. The sweep stays as the safety net.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns import lifecycle
from outreach.campaigns.sequence import Templates, render_problems
from outreach.models import Prospect
from outreach.prospects.importer import RowError, normalise
from outreach.prospects.repository import prospect_variables
from outreach.runtime import Runtime
from outreach.uow import transaction


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_prospects(
    rt: Runtime, campaign_id: int, rows: list[tuple[int, dict[str, Any]]]
) -> ImportResult:
    """The import command: one transaction, then the new prospects' scheduling."""
    with transaction(rt) as session:
        return add_prospects(session, campaign_id, rows, now=rt.clock.now())


def add_prospects(
    session: Session, campaign_id: int, rows: list[tuple[int, dict[str, Any]]], *, now: datetime
) -> ImportResult:
    campaign = lifecycle.lock_campaign(session, campaign_id)
    templates = Templates.model_validate(campaign.templates)
    existing = set(
        session.execute(
            sa.select(Prospect.public_identifier).where(Prospect.campaign_id == campaign_id)
        ).scalars()
    )
    result = ImportResult()
    new: list[dict[str, Any]] = []
    for number, raw in rows:
        try:
            row = normalise(raw, number)
        except ValueError as exc:
            result.errors.append(RowError(number, str(exc), _printable(raw)))
            continue
        if row.public_identifier in existing:
            result.duplicates += 1
            continue
        prospect = Prospect(
            campaign_id=campaign_id,
            public_identifier=row.public_identifier,
            profile_url=row.profile_url,
            provider_id=row.provider_id,
            first_name=row.first_name,
            last_name=row.last_name,
            company=row.company,
            title=row.title,
            fields=row.fields,
            created_at=now,
        )
        problems = render_problems(templates, prospect_variables(prospect))
        if problems:
            result.errors.append(RowError(number, "; ".join(problems), _printable(raw)))
            continue
        existing.add(row.public_identifier)
        new.append(
            {
                c: getattr(prospect, c)
                for c in (
                    "campaign_id",
                    "public_identifier",
                    "profile_url",
                    "provider_id",
                    "first_name",
                    "last_name",
                    "company",
                    "title",
                    "fields",
                    "created_at",
                )
            }
        )
    if new:
        session.execute(sa.insert(Prospect), new)
        lifecycle.prospects_added(session, campaign)
    result.imported = len(new)
    return result


def _printable(raw: Any) -> dict[str, Any] | None:
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else None
