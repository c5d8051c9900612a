"""One prospect row to a prospect: column names mapped, values checked, identity normalised.

Every row either becomes a ``ProspectRow`` or raises ``ValueError`` with a reason a person
can act on; nothing in a row can make the database insert fail later (lengths, NUL
characters, lone surrogates, NaN, nesting are all checked here). Pure: no I/O.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
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
IDENTITY = ("profile_url", "public_identifier", "provider_id")
STANDARD = ("provider_id", "first_name", "last_name", "company", "title")
# The prospects table's column widths (models.Prospect); PostgreSQL refuses longer text.
LENGTHS = {
    "profile_url": 500,
    "provider_id": 200,
    "first_name": 200,
    "last_name": 200,
    "company": 200,
    "title": 300,
}
VALUE_LIMIT = 131_072  # characters in one value (csv's default field limit, 128 Ki)
DEPTH_LIMIT = 20  # levels of lists and objects inside one JSON value
ECHO_LIMIT = 200  # characters of a value echoed back with a row's error
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


@dataclass(slots=True)  # one object a row, not two: a large import is lighter on the GC
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


def recognised_columns() -> str:
    """The column names the importer knows, for messages: ``profile_url (or linkedin_url, …)``."""
    return "; ".join(
        f"{name} (or {', '.join(aliases[1:])})" if len(aliases) > 1 else name
        for name, aliases in ALIASES.items()
    )


@functools.lru_cache(maxsize=4096)
def column(name: str) -> tuple[str, str]:
    """A column name as written → (its field, its own normalised name).

    ``Job Title`` → ``("title", "job_title")``; ``Favourite colour!`` → both
    ``favourite_colour``; letters stay letters (``Prénom`` → ``prénom``). Cached: a file
    repeats its header on every row.
    """
    normal = re.sub(r"[\W_]+", "_", name.strip().lower()).strip("_")
    return _LOOKUP.get(normal, normal), normal


def known_column(name: str) -> bool:
    return column(name)[0] in ALIASES


def normalise(raw: Mapping[Any, Any], row: int) -> ProspectRow:
    """One input row to a prospect; raises ValueError with a readable reason."""
    data = _named(raw)
    url = _text(data, "profile_url")
    slug = _text(data, "public_identifier")
    if slug:
        slug = identity.public_identifier(slug)
    if url:
        from_url = identity.slug_from_url(url)
        if slug and slug != from_url:
            raise ValueError(f"public_identifier {slug!r} does not match profile URL {url!r}")
        slug = from_url
    if not slug:
        raise ValueError("needs a LinkedIn profile URL or public identifier")
    standard = {name: _text(data, name) for name in STANDARD}
    profile_url = url or identity.profile_url(slug)
    for name, text in (*standard.items(), ("profile_url", profile_url)):
        if text is not None and len(text) > LENGTHS[name]:
            raise ValueError(f"{name} is longer than {LENGTHS[name]} characters")
    return ProspectRow(
        row=row, public_identifier=slug, profile_url=profile_url, fields=data, **standard
    )


def _named(raw: Mapping[Any, Any]) -> dict[str, Any]:
    """The row's non-empty values under their field names, each value checked.

    When two columns name one field (``title`` and ``Job Title``), the first keeps the
    field and the other is kept under its own name (``job_title``, or ``title_2``), so
    no value is silently dropped.
    """
    data: dict[str, Any] = {}
    for name, value in raw.items():
        if name is None:
            raise ValueError("more values than columns")
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue
            # isprintable() is False for NUL and lone surrogates: the regex runs only then.
            unusual = len(value) > VALUE_LIMIT or not value.isprintable()
            problem = _text_problem(value) if unusual else None
        elif value is None:
            continue
        else:
            problem = _problem(value)
        key = str(name)
        problem = problem or _column_problem(key)
        if problem:
            raise ValueError(f"column {_echo(key)!r} {problem}")
        target, normal = column(key)
        if target in data:
            target = _spare(normal, data)
        data[target] = value
    return data


def _spare(normal: str, taken: Mapping[str, Any]) -> str:
    if normal not in taken and normal not in ALIASES:
        return normal
    n = 2
    while f"{normal}_{n}" in taken:
        n += 1
    return f"{normal}_{n}"


def _text(data: dict[str, Any], name: str) -> str | None:
    """A standard field's value as text (numbers become their text), taken out of ``data``."""
    value = data.pop(name, None)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = {bool: "true or false", dict: "an object", list: "a list"}.get(type(value), "")
        raise ValueError(f"{name} must be text, not {kind or type(value).__name__}")
    return str(value)


@functools.lru_cache(maxsize=4096)
def _column_problem(name: str) -> str | None:
    return _text_problem(name)


def _text_problem(text: str) -> str | None:
    if len(text) > VALUE_LIMIT:
        return f"holds a value longer than {VALUE_LIMIT:,} characters"
    bad = _BAD_TEXT.search(text)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "contains a NUL character"
    return "contains text that is not valid Unicode"


def _problem(value: Any) -> str | None:
    """Why a value cannot be stored (NUL, lone surrogates, NaN, too long or deep), or None."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return problem
        elif isinstance(item, float) and not math.isfinite(item):
            return "holds a number that is not finite (NaN or Infinity)"
        elif isinstance(item, dict | list):
            if depth >= DEPTH_LIMIT:
                return f"nests lists or objects more than {DEPTH_LIMIT} levels deep"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _echo(value: Any, depth: int = 0) -> Any:
    """A value as echoed back with an error: short, shallow, and always encodable."""
    if isinstance(value, str):
        text = value if len(value) <= ECHO_LIMIT else value[:ECHO_LIMIT] + "…"
        return _BAD_TEXT.sub("\ufffd", text)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict | list) and depth >= 3:
        return "…"
    if isinstance(value, dict):
        return {str(_echo(str(k))): _echo(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, list):
        return [_echo(v, depth + 1) for v in value[:50]]
    return value


def printable(raw: Any) -> dict[str, Any] | None:
    """A row as echoed back with its error (long values cut, bad text replaced)."""
    if not isinstance(raw, Mapping):
        return None
    return {str(_echo(str(k))): _echo(v) for k, v in raw.items()}
