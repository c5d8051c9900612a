"""A campaign's prospects as CSV, safe to open in a spreadsheet.

Values are stored as they were imported, formulas included; the export neutralises them:
a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
single quote in front (OWASP's advice against CSV injection), so a spreadsheet shows it
as text instead of running ``=HYPERLINK(…)``. Rows are streamed from the database in
batches and written as they come: 100,000 prospects never sit in memory at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.errors import NotFound
from outreach.models import Campaign, Journey, Prospect

COLUMNS = (
    "public_identifier",
    "profile_url",
    "provider_id",
    "first_name",
    "last_name",
    "company",
    "title",
    "status",
    "imported_at",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1_000  # prospects read, and written, at a time


def neutralised(value: Any) -> str:
    """A value as a cell no spreadsheet runs as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_csv(session: Session, campaign_id: int) -> Iterator[str]:
    """The campaign's prospects as CSV text, in chunks of ``BATCH`` rows (the header
    first): the standard columns, the journey's status (``pending`` before launch), when
    it was imported, then one column per extra field any prospect has (sorted). Raises
    ``NotFound``."""
    for chunk, _ in _chunks(session, campaign_id):
        yield chunk


def write_csv(session: Session, campaign_id: int, out: TextIO) -> int:
    """Write the campaign's prospects as CSV to ``out`` (opened with ``newline=""``);
    how many prospects were written. Raises ``NotFound``."""
    written = 0
    for chunk, rows in _chunks(session, campaign_id):
        out.write(chunk)
        written += rows
    return written


def _chunks(session: Session, campaign_id: int) -> Iterator[tuple[str, int]]:
    if session.get(Campaign, campaign_id) is None:
        raise NotFound(f"no campaign {campaign_id}")
    extra = _field_names(session, campaign_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = [*COLUMNS, *(f"field_{n}" if n in COLUMNS else n for n in extra)]
    writer.writerow([neutralised(name) for name in header])
    yield _drain(buffer), 0
    for rows in _batches(session, campaign_id):
        for row in rows:
            fields = row.fields or {}
            values = [*(getattr(row, c) for c in COLUMNS[:7]), _status(row.status)]
            values += [row.created_at.isoformat(), *(fields.get(name) for name in extra)]
            writer.writerow([neutralised(v) for v in values])
        yield _drain(buffer), len(rows)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _status(status: Any) -> str:
    return "pending" if status is None else str(getattr(status, "value", status))


def _batches(session: Session, campaign_id: int) -> Iterator[list[Any]]:
    """The prospects with their journey's status, by id, ``BATCH`` at a time (keyset
    paging: each batch is one short query, whatever the database and driver)."""
    after = 0
    while True:
        rows = session.execute(
            sa.select(
                *(getattr(Prospect, c) for c in COLUMNS[:7]),
                Prospect.id,
                Prospect.fields,
                Prospect.created_at,
                Journey.status,
            )
            .outerjoin(
                Journey,
                sa.and_(Journey.prospect_id == Prospect.id, Journey.campaign_id == campaign_id),
            )
            .where(Prospect.campaign_id == campaign_id, Prospect.id > after)
            .order_by(Prospect.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield list(rows)
        after = rows[-1].id


def _field_names(session: Session, campaign_id: int) -> list[str]:
    """Every extra field name, sorted (one pass over the fields only)."""
    names: dict[str, None] = {}
    after = 0
    while True:
        rows = session.execute(
            sa.select(Prospect.id, Prospect.fields)
            .where(Prospect.campaign_id == campaign_id, Prospect.id > after)
            .order_by(Prospect.id)
            .limit(BATCH * 10)
        ).all()
        if not rows:
            return sorted(names)  # PostgreSQL's JSONB keeps no order of its own
        for row in rows:
            names.update(dict.fromkeys(row.fields or {}))
        after = rows[-1].id
