"""Prospect rows from JSON or CSV: normalised, validated, each bad row reported by number."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from outreach.prospects import identity

ALIASES = {
    "profile_url": (
        "profile_url",
        "linkedin_url",
        "linkedin",
        "url",
        "profile",
        "linkedin_profile",
    ),
    "public_identifier": ("public_identifier", "public_id", "slug", "linkedin_id", "username"),
    "provider_id": ("provider_id",),
    "first_name": ("first_name", "firstname", "first", "given_name"),
    "last_name": ("last_name", "lastname", "last", "surname", "family_name"),
    "company": ("company", "company_name", "organization", "organisation", "employer"),
    "title": ("title", "job_title", "position", "headline", "role"),
}
_LOOKUP = {alias: canonical for canonical, names in ALIASES.items() for alias in names}


@dataclass
class ProspectRow:
    row: int
    public_identifier: str
    profile_url: str | None
    provider_id: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    title: str | None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class RowError:
    row: int
    error: str
    data: dict[str, Any] | None = None


def _key(name: str) -> str:
    normal = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    return _LOOKUP.get(normal, normal)


def normalise(raw: dict[str, Any], row: int) -> ProspectRow:
    """One input row to a prospect; raises ValueError with a readable reason."""
    data: dict[str, Any] = {}
    for name, value in raw.items():
        if name is None:
            raise ValueError("more values than columns")
        value = value.strip() if isinstance(value, str) else value
        if value not in (None, ""):
            data[_key(str(name))] = value
    url = data.pop("profile_url", None)
    slug = data.pop("public_identifier", None)
    if slug:
        slug = identity.public_identifier(str(slug))
    if url:
        from_url = identity.slug_from_url(str(url))
        if slug and slug != from_url:
            raise ValueError(f"public_identifier {slug!r} does not match profile URL {url!r}")
        slug = from_url
    if not slug:
        raise ValueError("needs a LinkedIn profile URL or public identifier")
    standard = {
        k: (str(data.pop(k)) if k in data else None)
        for k in ("provider_id", "first_name", "last_name", "company", "title")
    }
    return ProspectRow(
        row=row,
        public_identifier=str(slug),
        profile_url=str(url) if url else identity.profile_url(slug),
        fields=data,
        **standard,
    )


def parse_csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV in whatever dialect it uses (comma, semicolon, tab), numbered from 1."""
    text = text.lstrip("\ufeff")
    sample = text[:8192]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter, spaced = sniffed.delimiter, sniffed.skipinitialspace
    except csv.Error:
        delimiter, spaced = ",", False
    # Only the delimiter is guessed; quoting is RFC 4180's, as every spreadsheet writes it:
    # the sniffer's guess of it misreads fields like "Sales, ""interim""".
    reader = csv.DictReader(
        io.StringIO(text), dialect=csv.excel, delimiter=delimiter, skipinitialspace=spaced
    )
    if not reader.fieldnames:
        raise ValueError("the CSV has no header row")
    return [
        (i, dict(r))
        for i, r in enumerate(reader, start=1)
        if any((v or "").strip() for v in r.values() if isinstance(v, str))
    ]


def parse_json(text: str) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a JSON list of prospects (or ``{"prospects": [...]}``), numbered from 1.

    An entry that is not an object is kept as a row, for the import to report it.
    """
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("prospects"), list):
        data = data["prospects"]
    if not isinstance(data, list):
        raise ValueError('expected a JSON list of prospects (or {"prospects": [...]})')
    return [(i, row if isinstance(row, dict) else {"?": row}) for i, row in enumerate(data, 1)]


def parse_rows(text: str, *, json_format: bool) -> list[tuple[int, dict[str, Any]]]:
    """Prospect rows from a JSON or CSV text; raises ValueError saying what is wrong."""
    return parse_json(text) if json_format else parse_csv(text)
