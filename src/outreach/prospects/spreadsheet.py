"""An XLSX workbook's first sheet as prospect rows (openpyxl, read-only, streamed).

The first row with a value is the header; row numbers are the sheet's own. Cells become
text as a person sees them: a whole number without ``.0``, a date as ISO 8601, a formula
as the value the spreadsheet last computed (never the formula: nothing runs). A workbook
that expands to more than ``MAX_CELLS`` cells is refused (a zip bomb stays small on disk).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from typing import Any

from outreach.errors import InvalidInput

MAX_CELLS = 5_000_000
MAX_COLUMNS = 200


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def sheet_rows(body: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header's cells and every other non-blank row (its sheet row number, its cells).
    A workbook openpyxl cannot read, however it breaks, is a clear ``InvalidInput``."""
    try:
        return _sheet_rows(body)
    except InvalidInput:
        raise
    except Exception as exc:  # malformed XML, a broken part: the file, not us
        raise InvalidInput(f"the XLSX file cannot be read: {type(exc).__name__}: {exc}") from exc


def _sheet_rows(body: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"the XLSX file cannot be read: {exc}") from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise InvalidInput("the XLSX file has no sheet")
        header: list[str] = []
        rows: list[tuple[int, list[str]]] = []
        cells = 0
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            texts = [cell_text(v) for v in values[:MAX_COLUMNS]]
            cells += len(texts)
            if cells > MAX_CELLS:
                raise InvalidInput(f"the sheet holds more than {MAX_CELLS:,} cells: split it")
            if not any(t.strip() for t in texts):
                continue
            if not header:  # the sheet's width pads it: its own cells end at the last name
                while texts and not texts[-1].strip():
                    texts.pop()
                header = texts
            else:
                rows.append((number, texts))
        return header, rows
    finally:
        workbook.close()
