"""Importing prospects into a campaign: good rows in, bad rows reported, nothing lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.campaigns.sequence import Templates, render_problems
from outreach.campaigns.service import get_campaign
from outreach.journeys.repository import prospect_variables
from outreach.models import CampaignStatus, Prospect
from outreach.prospects.importer import RowError, normalise


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_prospects(
    session: Session, campaign_id: int, rows: list[tuple[int, dict[str, Any]]], *, now: datetime
) -> ImportResult:
    campaign = get_campaign(session, campaign_id)
    if campaign.status is CampaignStatus.COMPLETED:
        campaign.status = CampaignStatus.ACTIVE  # new prospects reopen it; the sweep picks them up
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
    result.imported = len(new)
    return result


def _printable(raw: Any) -> dict[str, Any] | None:
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else None
