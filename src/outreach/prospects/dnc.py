"""The do-not-contact list: people, companies and domains no campaign may contact.

A prospect is blocked when an entry names them (their public identifier or provider id),
their company (case-folded), or the domain of an email address or website among their
extra fields (a listed domain covers its subdomains). Imports leave blocked rows out;
adding entries stops, in the same transaction, every journey in flight whose prospect is
now blocked (ended as failed, the entry as its reason). ``blocked_prospect_ids`` is the
batch check for journey creation and for the moment before a send (both in
``journeys/lifecycle.py``: such a journey ends as failed, the entry as its reason).

Values are normalised on the way in (``schemas.DoNotContactIn``, ``identity``), so
matching is equality on stored keys; entries are unique per (kind, value).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.errors import NotFound
from outreach.models import (
    TERMINAL_STATUSES,
    DoNotContact,
    DoNotContactKind,
    DoNotContactSource,
    Journey,
    JourneyStatus,
    Prospect,
)
from outreach.prospects import identity
from outreach.prospects.schemas import DoNotContactAdded, DoNotContactIn, DoNotContactOut

BATCH = 500  # prospects or entries per query: well under either database's parameter limit
# Extra columns (as the importer names them) whose values give a prospect's domain.
DOMAIN_FIELDS = re.compile(r"mail|website|web_site|homepage|domain|^web$|^site$|^www$")
WHOLE_LIST = 10_000  # entries: a list this short is read whole for a large import
_URLISH = re.compile(r"://|[/?#]")
KIND_ORDER = (DoNotContactKind.PERSON, DoNotContactKind.COMPANY, DoNotContactKind.DOMAIN)
T = TypeVar("T")


class Someone(Protocol):
    """What matching reads of a prospect (a stored ``Prospect`` or an import row)."""

    @property
    def public_identifier(self) -> str: ...
    @property
    def provider_id(self) -> str | None: ...
    @property
    def company(self) -> str | None: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Match:
    """The entry that blocks someone."""

    entry_id: int
    kind: DoNotContactKind
    value: str
    reason: str | None

    def describe(self) -> str:
        why = f" (reason: {self.reason})" if self.reason else ""
        return f"{self.kind.value} {self.value}{why}"

    def sentence(self) -> str:
        return f"on the do-not-contact list: {self.describe()}"


# -- matching -----------------------------------------------------------------------------


def keys_of(someone: Someone) -> dict[DoNotContactKind, list[str]]:
    """The keys an entry could name someone by, most specific first (pure)."""
    people = [someone.public_identifier.lower()]
    if someone.provider_id and someone.provider_id.strip():
        people.append(someone.provider_id.strip().lower())
    domains: list[str] = []
    for name, value in (someone.fields or {}).items():
        if isinstance(value, str) and _domain_field(name):
            domains += _domains(value)
    return {
        DoNotContactKind.PERSON: people,
        DoNotContactKind.COMPANY: list(_company(someone.company)) if someone.company else [],
        DoNotContactKind.DOMAIN: list(dict.fromkeys(domains)),
    }


# Cached: an import of 100,000 rows repeats its column names, and its companies and
# e-mail domains many times over.
@functools.lru_cache(maxsize=1024)
def _domain_field(name: str) -> bool:
    return DOMAIN_FIELDS.search(name) is not None


@functools.lru_cache(maxsize=65_536)
def _company(name: str) -> tuple[str, ...]:
    try:
        return (identity.company_key(name),)
    except ValueError:  # blank, or longer than any entry can be
        return ()


def _domains(value: str) -> tuple[str, ...]:
    if "@" in value and not _URLISH.search(value):
        value = value.rsplit("@", 1)[1]  # an address: only its domain counts (the same key)
    return _domain(value)


@functools.lru_cache(maxsize=65_536)
def _domain(value: str) -> tuple[str, ...]:
    try:
        return tuple(identity.parent_domains(identity.domain_key(value)))
    except ValueError:  # not an address or a site: nothing to match
        return ()


def matches(session: Session, people: Sequence[Someone]) -> list[Match | None]:
    """For each of ``people``, the entry that blocks them, or ``None``: one query a batch,
    or, for many people and a short list, one query for the whole list."""
    if len(people) > BATCH and _size(session) <= WHOLE_LIST:
        listed = {
            (e.kind, e.value): _match(e) for e in session.execute(sa.select(DoNotContact)).scalars()
        }
        return [_first(keys_of(p), listed) for p in people]
    found: list[Match | None] = []
    for batch in _batches(people, BATCH):
        keys = [keys_of(p) for p in batch]
        listed = _listed(session, keys)
        found += [_first(k, listed) for k in keys]
    return found


def blocked_reasons(session: Session, people: Sequence[Someone]) -> list[str | None]:
    """For each of ``people``: why they may not be contacted, or ``None``."""
    return [m.sentence() if m else None for m in matches(session, people)]


def blocked_reason(session: Session, prospect: Someone) -> str | None:
    """Why this prospect may not be contacted (``"on the do-not-contact list: company
    acme (reason: …)"``), or ``None``."""
    return blocked_reasons(session, [prospect])[0]


def blocked_prospect_ids(session: Session, prospect_ids: list[int]) -> dict[int, str]:
    """The prospects among ``prospect_ids`` that may not be contacted, with the reason.

    Two queries per 500 prospects: for journey creation and for the check before a send.
    """
    return {pid: m.sentence() for pid, m in _blocked_matches(session, prospect_ids).items()}


def _blocked_matches(session: Session, prospect_ids: list[int]) -> dict[int, Match]:
    blocked: dict[int, Match] = {}
    for batch in _batches(sorted(set(prospect_ids)), BATCH):
        rows = session.execute(
            sa.select(Prospect.id, Prospect.public_identifier, Prospect.provider_id)
            .add_columns(Prospect.company, Prospect.fields)
            .where(Prospect.id.in_(batch))
        ).all()
        people = [_Row(r.public_identifier, r.provider_id, r.company, r.fields) for r in rows]
        for row, match in zip(rows, matches(session, people), strict=True):
            if match is not None:
                blocked[row.id] = match
    return blocked


@dataclass(frozen=True)
class _Row:
    public_identifier: str
    provider_id: str | None
    company: str | None
    fields: Mapping[str, Any]


def _listed(
    session: Session, keys: list[dict[DoNotContactKind, list[str]]]
) -> dict[tuple[DoNotContactKind, str], Match]:
    """The entries that name any of ``keys``."""
    wanted = [(kind, value) for k in keys for kind in KIND_ORDER for value in k[kind]]
    return {(e.kind, e.value): _match(e) for e in _named(session, wanted)}


def _match(entry: DoNotContact) -> Match:
    return Match(entry.id, entry.kind, entry.value, entry.reason)


def _size(session: Session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(DoNotContact)).scalar_one()


def _named(session: Session, pairs: Sequence[tuple[DoNotContactKind, str]]) -> list[DoNotContact]:
    """The entries among (kind, value) ``pairs``: one query."""
    by_kind: dict[DoNotContactKind, set[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, set()).add(value)
    if not by_kind:
        return []
    clauses = [
        sa.and_(DoNotContact.kind == kind, DoNotContact.value.in_(sorted(values)))
        for kind, values in by_kind.items()
    ]
    return list(session.execute(sa.select(DoNotContact).where(sa.or_(*clauses))).scalars())


def _first(
    keys: dict[DoNotContactKind, list[str]], listed: dict[tuple[DoNotContactKind, str], Match]
) -> Match | None:
    for kind in KIND_ORDER:
        for value in keys[kind]:
            if (kind, value) in listed:
                return listed[kind, value]
    return None


def _batches(items: Sequence[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# -- stopping journeys in flight ----------------------------------------------------------


def stop_blocked(session: Session, now: datetime) -> int:
    """End every journey that has not ended and whose prospect is now blocked (failed,
    ``"do not contact: …"`` as its reason); how many.

    Locks in the global order: by sender, then journey (``lifecycle.lock_journey``).
    A stage in flight finds its journey ended when it records its outcome, and sends
    nothing more.
    """
    # Imported here: journeys.lifecycle calls blocked_prospect_ids, so a module-level
    # import would make the two modules import each other.
    from outreach.journeys import lifecycle

    open_journeys = session.execute(
        sa.select(Journey.id, Journey.prospect_id, Journey.account_id).where(
            Journey.status.not_in(TERMINAL_STATUSES)
        )
    ).all()
    blocked = _blocked_matches(session, [j.prospect_id for j in open_journeys])
    stopped = 0
    for j in sorted(open_journeys, key=lambda j: (j.account_id, j.id)):
        match = blocked.get(j.prospect_id)
        if match is None:
            continue
        journey = lifecycle.lock_journey(session, j.id)
        if journey.status in TERMINAL_STATUSES:  # it ended meanwhile (a reply, say)
            continue
        reason = f"do not contact: {match.describe()}"
        lifecycle.end(
            session,
            journey,
            JourneyStatus.FAILED,
            now=now,
            reason=reason,
            do_not_contact_entry=match.entry_id,
        )
        stopped += 1
    return stopped


# -- the list -----------------------------------------------------------------------------


def add_entries(
    session: Session,
    entries: Sequence[DoNotContactIn],
    *,
    now: datetime,
    source: DoNotContactSource = DoNotContactSource.PERSON,
) -> DoNotContactAdded:
    """Put ``entries`` on the list (one already there is kept as it is) and stop the
    journeys in flight they block, in this transaction."""
    unique: dict[tuple[DoNotContactKind, str], DoNotContactIn] = {}
    for entry in entries:
        unique.setdefault((entry.kind, entry.value), entry)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    added = 0
    for batch in _batches(list(unique.values()), BATCH):
        rows = [
            {"kind": e.kind, "value": e.value, "reason": e.reason, "source": source}
            | {"created_at": now}
            for e in batch
        ]
        # Insert-or-ignore: two people adding one entry at once both succeed.
        statement = (
            dialect.insert(DoNotContact)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["kind", "value"])
            .returning(DoNotContact.id)
        )
        added += len(session.execute(statement).all())
    stored = {
        (e.kind, e.value): e
        for batch in _batches(list(unique), BATCH)
        for e in _named(session, batch)
    }
    return DoNotContactAdded(
        entries=[DoNotContactOut.model_validate(stored[key]) for key in unique],
        added=added,
        already_listed=len(unique) - added,
        stopped_journeys=stop_blocked(session, now),
    )


def remove_entry(session: Session, entry_id: int) -> DoNotContactOut:
    """Take an entry off the list. Journeys it stopped stay ended."""
    entry = session.get(DoNotContact, entry_id)
    if entry is None:
        raise NotFound(f"no do-not-contact entry {entry_id}")
    removed = DoNotContactOut.model_validate(entry)
    session.delete(entry)
    return removed


def count_entries(session: Session, *, kind: DoNotContactKind | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(DoNotContact)
    if kind is not None:
        query = query.where(DoNotContact.kind == kind)
    return int(session.execute(query).scalar_one())


def list_entries(
    session: Session,
    *,
    kind: DoNotContactKind | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DoNotContact]:
    """Entries, newest first."""
    query = sa.select(DoNotContact).order_by(DoNotContact.id.desc()).limit(limit).offset(offset)
    if kind is not None:
        query = query.where(DoNotContact.kind == kind)
    return list(session.execute(query).scalars())
