"""A request body to prospect rows: its type, its encoding, its CSV or JSON. Pure, blocking.

``rows_from_upload(body, content_type)`` is the one way in for the API (a JSON or CSV
body, or a file sent as ``multipart/form-data``) and the CLI; ``rows_from_text`` for text
already decoded (the dashboard's paste box). Every row sent is either in ``Upload.rows``
(for the import to check) or in ``Upload.rejected`` (it could not be read as a row), with
the row number a spreadsheet shows: the header is row 1, the first prospect row 2; in a
JSON list, the 1-based index. Blank rows are not prospects and are not counted.

A body refused as a whole raises ``InvalidInput`` (422) or ``UnsupportedMediaType`` (415)
with a message that says what to do.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from python_multipart import multipart
from python_multipart.exceptions import MultipartParseError

from outreach.errors import InvalidInput, UnsupportedMediaType
from outreach.prospects import csvreader, identity, spreadsheet
from outreach.prospects.encoding import decode
from outreach.prospects.importer import ALIASES, RowError, column, known_column, printable
from outreach.prospects.importer import recognised_columns as recognised

Format = Literal["csv", "json", "xlsx"]
Rows = list[tuple[int, dict[str, Any]]]

JSON_TYPES = ("application/json", "text/json")
CSV_TYPES = (
    "text/csv",
    "application/csv",
    "text/comma-separated-values",
    "text/tab-separated-values",
    "application/vnd.ms-excel",  # what browsers on Windows call a .csv file
)
# Types that say nothing of the format: the body itself tells (JSON starts with [ or {).
# curl --data-binary @people.csv sends application/x-www-form-urlencoded.
PLAIN_TYPES = ("", "text/plain", "application/octet-stream", "application/x-www-form-urlencoded")
SPREADSHEETS = (
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/x-iwork-numbers-sffnumbers",
    "application/vnd.apple.numbers",
)
SPREADSHEET_SUFFIXES = (".xls", ".ods", ".numbers")
XLSX_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel.sheet.macroenabled.12",
)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
ZIP, OLE2 = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # XLSX/ODS, and old XLS
SAVE_AS_CSV = "save the sheet as XLSX or CSV (UTF-8) and send that"
_DATA = re.compile(r"linkedin\.com/|^https?://|^www\.|^[^@\s]+@[^@\s]+\.\w+$", re.I)


@dataclass
class Upload:
    """Prospect rows read from a body, and the rows that could not be read as rows."""

    rows: Rows = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)
    format: Format = "csv"
    encoding: str = "utf-8"

    @property
    def sent(self) -> int:
        """How many rows were sent (blank rows are not prospects)."""
        return len(self.rows) + len(self.rejected)


def rows_from_upload(body: bytes, content_type: str) -> Upload:
    """The rows of a request body; raises ``InvalidInput`` or ``UnsupportedMediaType``."""
    media, params = media_type(content_type)
    filename = ""
    if media == "multipart/form-data":
        part = file_part(body, params.get("boundary", ""))
        body, filename = part.body, part.filename
        media, params = media_type(part.content_type)
    wanted = _format(body, media, filename)
    if wanted == "xlsx":
        return rows_from_xlsx(body)
    text, encoding = decode(body, params.get("charset"))
    upload = rows_from_text(text, format=wanted)
    upload.encoding = encoding
    return upload


def rows_from_file(body: bytes, filename: str, content_type: str) -> Upload:
    """The rows of a file a browser sent (its name and type as the browser gave them)."""
    media, params = media_type(content_type)
    wanted = _format(body, media, filename)
    if wanted == "xlsx":
        return rows_from_xlsx(body)
    text, encoding = decode(body, params.get("charset"))
    upload = rows_from_text(text, format=wanted)
    upload.encoding = encoding
    return upload


IGNORE = "-"  # a mapping's target for a column not to import


def columns_of(upload: Upload) -> list[str]:
    """The file's column names, in order (from its first rows)."""
    seen: dict[str, None] = {}
    for _, row in upload.rows[:50]:
        for name in row:
            seen.setdefault(str(name), None)
    return list(seen)


def guess(name: str) -> str:
    """The field a column goes to unless the person says otherwise ("" : an extra field)."""
    target = column(name)[0]
    return target if known_column(name) else ""


def mapped(upload: Upload, mapping: dict[str, str]) -> Upload:
    """The rows with their columns renamed: ``mapping`` takes a column to a field of the
    prospect, to ``""`` (kept as an extra field, under its own name) or to ``IGNORE``.
    Two columns taken to one field is refused."""
    targets = [t for t in mapping.values() if t not in ("", IGNORE)]
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise InvalidInput(f"two columns go to {', '.join(twice)}: choose one for each field")
    unknown = sorted(set(targets) - set(ALIASES))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", details={"allowed": list(ALIASES)})

    def rename(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in row.items():
            target = mapping.get(name, "")
            if target == IGNORE:
                continue
            if target:
                out[target] = value
            else:  # an extra field keeps its name; one named like a field is not that field
                out[name if not known_column(name) else f"field_{name}"] = value
        return out

    return Upload(
        rows=[(number, rename(row)) for number, row in upload.rows],
        rejected=upload.rejected,
        format=upload.format,
        encoding=upload.encoding,
    )


def rows_from_text(text: str, *, format: Format | None = None) -> Upload:
    """The rows of a CSV or JSON text; ``format=None`` tells them apart by the text (JSON
    starts with ``[`` or ``{``). Raises ``InvalidInput`` for a text that is no list."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InvalidInput(
            "the body is empty: send a CSV with a header row, or a JSON list of prospects"
        )
    looks_json = text.lstrip()[:1] in ("[", "{")
    try:
        if format == "json" or (format is None and looks_json):
            return parse_json(text)
        if looks_json:  # declared CSV, but it may well be JSON: JSON if it reads as JSON
            try:
                return parse_json(text)
            except ValueError:
                pass
        return parse_csv(text)
    except ValueError as exc:
        raise InvalidInput(f"the body is not a prospect list: {exc}") from exc


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """``text/csv; charset=UTF-8`` → ``("text/csv", {"charset": "UTF-8"})``."""
    media, *rest = content_type.split(";")
    params: dict[str, str] = {}
    for item in rest:
        name, _, value = item.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


def _format(body: bytes, media: str, filename: str) -> Format | None:
    """CSV, JSON or ``None`` (the text will tell); refuses spreadsheets and other types."""
    name = filename.lower()
    if media in XLSX_TYPES or name.endswith(XLSX_SUFFIXES) or _is_xlsx(body):
        return "xlsx"
    if body.startswith((ZIP, OLE2)) or media in SPREADSHEETS or name.endswith(SPREADSHEET_SUFFIXES):
        raise UnsupportedMediaType(
            f"spreadsheet files other than XLSX (XLS, ODS, Numbers) are not read: {SAVE_AS_CSV}"
        )
    if name.endswith(".json") or media in JSON_TYPES or media.endswith("+json"):
        return "json"
    if name.endswith((".csv", ".tsv")) or media in CSV_TYPES:
        return "csv"
    if name or media in PLAIN_TYPES:
        return None
    accepted = ", ".join((*JSON_TYPES, *CSV_TYPES[:2], "text/plain", "multipart/form-data"))
    raise UnsupportedMediaType(
        f"cannot read a {media} body: send CSV or JSON ({accepted})",
        details={"accepted": [*JSON_TYPES, *CSV_TYPES, *PLAIN_TYPES[1:], "multipart/form-data"]},
    )


def _is_xlsx(body: bytes) -> bool:
    """A ZIP holding an Excel workbook (``xl/workbook.xml``), whatever it was called."""
    if not body.startswith(ZIP):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def rows_from_xlsx(body: bytes) -> Upload:
    """The rows of an XLSX workbook's first sheet, numbered as the sheet numbers them."""
    cells, records = spreadsheet.sheet_rows(body)
    if not cells:
        raise InvalidInput("the sheet is empty: put a header row and one prospect per row")
    try:
        header = _header(cells)
    except ValueError as exc:
        raise InvalidInput(f"the body is not a prospect list: {exc}") from exc
    upload = Upload(format="xlsx", encoding="xlsx")
    for number, values in records:
        if any(v.strip() for v in values[len(header) :]):
            record = csvreader.Record(number, values)
            upload.rejected.append(_surplus(record, header))
        else:
            upload.rows.append((number, dict(zip(header, values, strict=False))))
    return upload


# -- multipart/form-data -----------------------------------------------------------------


@dataclass
class Part:
    """One part of a multipart body."""

    name: str = ""
    filename: str = ""
    content_type: str = ""
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def file_part(body: bytes, boundary: str) -> Part:
    """The file of a ``multipart/form-data`` body: the part named ``file``, or the only
    part that is a file (``curl -F file=@people.csv`` sends the former)."""
    if not boundary:
        raise InvalidInput("a multipart/form-data body needs its boundary in the Content-Type")
    parts = _parts(body, boundary)
    named = [p for p in parts if p.name == "file"]
    files = [p for p in parts if p.filename]
    chosen = named or files or (parts if len(parts) == 1 else [])
    if len(chosen) != 1:
        raise InvalidInput(
            "send the CSV or JSON file as one part named 'file' (curl -F file=@people.csv)",
            details={"parts": [p.name for p in parts]},
        )
    return chosen[0]


def _parts(body: bytes, boundary: str) -> list[Part]:
    parts: list[Part] = []
    name, value, data = bytearray(), bytearray(), bytearray()

    def header_end() -> None:
        parts[-1].headers.append((bytes(name).lower(), bytes(value)))
        name.clear()
        value.clear()

    def part_end() -> None:
        part = parts[-1]
        for key, raw in part.headers:
            text = raw.decode("latin-1")
            if key == b"content-disposition":
                _, options = multipart.parse_options_header(raw)
                part.name = options.get(b"name", b"").decode("utf-8", "replace")
                part.filename = options.get(b"filename", b"").decode("utf-8", "replace")
            elif key == b"content-type":
                part.content_type = text
        part.body = bytes(data)
        data.clear()

    callbacks: Any = {
        "on_part_begin": lambda: parts.append(Part()),
        "on_header_field": lambda b, start, end: name.extend(b[start:end]),
        "on_header_value": lambda b, start, end: value.extend(b[start:end]),
        "on_header_end": header_end,
        "on_part_data": lambda b, start, end: data.extend(b[start:end]),
        "on_part_end": part_end,
    }
    parser = multipart.MultipartParser(boundary, callbacks)
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise InvalidInput(f"the multipart/form-data body cannot be read: {exc}") from exc
    return parts


# -- JSON ---------------------------------------------------------------------------------


class _Refused(ValueError):
    """A JSON text that parses, but not into values we can store."""


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number: send numbers, or text in quotes")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise _Refused(f"the number {text[:40]} is too large")
    return number


def _every_key(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object; a key given twice keeps both values (``title``, ``title_2``)."""
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    found = {}
    for key, value in pairs:
        name, n = key, 2
        while name in found:
            name, n = f"{key}_{n}", n + 1
        found[name] = value
    return found


def parse_json(text: str) -> Upload:
    """A JSON list of prospects (or ``{"prospects": [...]}``), numbered from 1."""
    try:
        data = json.loads(
            text.lstrip("\ufeff"),
            parse_constant=_no_constant,
            parse_float=_finite,
            object_pairs_hook=_every_key,
        )
    except RecursionError:
        raise ValueError("the JSON nests lists or objects too deeply") from None
    except _Refused:
        raise
    except ValueError as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("prospects"), list):
        data = data["prospects"]
    if not isinstance(data, list):
        raise ValueError('expected a JSON list of prospects (or {"prospects": [...]})')
    upload = Upload(format="json")
    for number, entry in enumerate(data, 1):
        if isinstance(entry, dict):
            upload.rows.append((number, entry))
        else:
            kind = "a list" if isinstance(entry, list) else type(entry).__name__
            upload.rejected.append(RowError(number, f"a prospect is a JSON object, not {kind}"))
    return upload


# -- CSV ----------------------------------------------------------------------------------


def parse_csv(text: str) -> Upload:
    """The rows of a CSV in whatever dialect it uses (comma, semicolon, tab, pipe)."""
    lines = csvreader.lines_of(text.lstrip("\ufeff"))
    delimiter, spaced = csvreader.sniff(lines)
    records = csvreader.Records(lines, delimiter, spaced=spaced)
    upload = Upload(format="csv")
    header: list[str] = []
    for record in records:
        if record.unreadable is not None and not header:
            raise ValueError(f"the header row cannot be read: {record.unreadable}")
        if record.unreadable is not None:
            upload.rejected.append(RowError(record.row, record.unreadable))
        elif not any(cell.strip() for cell in record.cells):
            continue  # a blank row
        elif not header:
            header = _header(record.cells)
            records.whole_row = _whole_row(header)
        elif any(cell.strip() for cell in record.cells[len(header) :]):
            upload.rejected.append(_surplus(record, header))
        else:
            upload.rows.append((record.row, dict(zip(header, record.cells, strict=False))))
    if not header:
        raise ValueError("the CSV has no header row")
    return upload


def _header(cells: list[str]) -> list[str]:
    """The column names; refuses a first row that holds a prospect rather than names."""
    names = [cell.strip() for cell in cells]
    if not any(known_column(n) for n in names) and any(_DATA.search(n) for n in names):
        raise ValueError(
            "the first row looks like a prospect, not a header row: add a header row that "
            f"names the columns. Recognised names: {recognised()}; other columns are kept "
            "as extra fields"
        )
    header: list[str] = []
    for number, name in enumerate(names, 1):
        unique, n = name or f"column_{number}", 2
        while unique in header:  # a name given twice keeps both columns
            unique, n = f"{name or 'column'}_{n}", n + 1
        header.append(unique)
    return header


def _surplus(record: csvreader.Record, header: list[str]) -> RowError:
    return RowError(
        record.row,
        f"more values than columns ({len(record.cells)} values, {len(header)} columns)",
        printable(dict(zip(header, record.cells, strict=False))),
    )


def _whole_row(header: list[str]) -> Callable[[list[str]], bool]:
    """Whether cells, alone, are a whole prospect row of this file: as many cells as the
    header (two at least), one of them a valid profile URL or public identifier."""
    checks = {
        at: identity.slug_from_url if field == "profile_url" else identity.public_identifier
        for at, field in ((at, column(name)[0]) for at, name in enumerate(header))
        if field in ("profile_url", "public_identifier")
    }

    def whole(cells: list[str]) -> bool:
        if len(header) < 2 or len(cells) != len(header):
            return False
        for at, check in checks.items():
            try:
                check(cells[at].strip())
            except ValueError:
                continue
            return True
        return False

    return whole
