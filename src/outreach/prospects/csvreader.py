"""CSV text to records, numbered as a spreadsheet numbers its rows. Pure: no I/O.

Python's ``csv`` module reads the records (RFC 4180 quoting, as spreadsheets write it);
this module adds what an import that accounts for every row needs:

- any line ending, CR, LF or CRLF: the text is split into lines first;
- row numbers that are records, not lines (a quoted value with a line break stays one
  row), blank rows counted, so row 2 is the second row a spreadsheet shows;
- a record the ``csv`` module refuses (a value over its field size limit) is read by the
  scanner below instead, and reported by the importer like any other row;
- a quote left open: the ``csv`` module reads every row after it into one value, up to
  the next quote or the end of the text. Such a record is recognised (below), reported
  as its first row, and the rows after it are read again on their own.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

QUOTE = '"'
DELIMITERS = ",;\t|"
LINE_END = "\r\n"
_QUOTED = re.compile(r'"[^"]*"')


@dataclass(frozen=True)
class Record:
    """One record: its row number and its cells, or why it cannot be read."""

    row: int
    cells: list[str]
    unreadable: str | None = None


def lines_of(text: str) -> list[str]:
    """The text's lines with their endings; CR, LF and CRLF each end a line."""
    return list(io.StringIO(text, newline=""))


def sniff(lines: list[str]) -> tuple[str, bool]:
    """The delimiter (comma, semicolon, tab or pipe) and whether a space follows it.

    The header row tells: column names seldom hold a delimiter, values often do (a
    semicolon file of "Acme, Inc." companies). When it cannot (one column, or a tie),
    ``csv.Sniffer`` guesses from the first lines. Only these are guessed; quoting is
    RFC 4180's, as every spreadsheet writes it: the sniffer's guess of it misreads a
    value like ``Sales, "interim"`` written as CSV.
    """
    header = _QUOTED.sub("", next((line for line in lines if line.strip()), ""))
    counts = {d: header.count(d) for d in DELIMITERS}
    most = max(counts.values())
    found = [d for d, n in counts.items() if n == most]
    if most and len(found) == 1:
        return found[0], header.count(found[0] + " ") == most
    sample = "".join(line.rstrip(LINE_END) + "\n" for line in lines[:100])[:8192]
    try:
        guessed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        return ",", False
    return guessed.delimiter, bool(guessed.skipinitialspace)


class Records:
    """The records of ``lines``, in order. The importer sets ``whole_row`` once it has the
    header: it helps tell a quote left open from a value with line breaks."""

    def __init__(self, lines: list[str], delimiter: str, *, spaced: bool = False) -> None:
        self.lines = lines
        self.delimiter = delimiter
        self.spaced = spaced
        self.whole_row: Callable[[list[str]], bool] = lambda cells: False

    def __iter__(self) -> Iterator[Record]:
        row, at = 0, 0
        while at < len(self.lines):
            source = _Lines(self.lines, at)
            reader = self._reader(source)
            while True:
                begin = source.at
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error:  # a value over the field size limit: read it here
                    scan = _scan(self.lines, begin, self.delimiter, self.spaced)
                    cells, end, fresh = scan.cells, scan.end, True
                else:
                    end, fresh = source.at, False
                row += 1
                if end - begin > 1 and self._unclosed(begin, end, cells):
                    last = row + end - begin - 1
                    yield Record(row, [], _unclosed_message(row, last))
                    at = begin + 1  # the rows it swallowed, read again on their own
                    break
                yield Record(row, cells)
                if fresh:
                    at = end
                    break

    def _reader(self, source: Iterator[str]) -> Iterator[list[str]]:
        return csv.reader(
            source, dialect=csv.excel, delimiter=self.delimiter, skipinitialspace=self.spaced
        )

    def _unclosed(self, begin: int, end: int, cells: list[str]) -> bool:
        """Whether a record over lines ``begin..end`` is a quote left open.

        It is when the text ends inside the quote; when a closing quote has text right
        after it (``"Acme`` then ``Bob,"Foo",…``: the quote that closes is the opening
        quote of another row's value) or a value not in quotes holds a quote (no CSV
        writer does that); or when a line inside it is, on its own, a whole row of the
        file. A value may break over lines, but it
        does not hold another prospect. What this misses: a quote left open that the
        next row closes at once, as when that row's next value starts with a line break.
        """
        scan = _scan(self.lines, begin, self.delimiter, self.spaced)
        if scan.unterminated or scan.malformed:
            return True
        return any(self.whole_row(self._cells(line)) for line in self.lines[begin + 1 : end - 1])

    def _cells(self, line: str) -> list[str]:
        return next(self._reader(iter([line])), [])


def _unclosed_message(row: int, last: int) -> str:
    return (
        f"rows {row} to {last} were read as one value: a quote opened in row {row} is not "
        f"closed (row {row} is left out; the rows after it are read on their own)"
    )


class _Lines:
    """An iterator over ``lines`` from ``at`` that tells how far it has gone."""

    def __init__(self, lines: list[str], at: int) -> None:
        self.lines, self.at = lines, at

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.at >= len(self.lines):
            raise StopIteration
        self.at += 1
        return self.lines[self.at - 1]


class _State(enum.Enum):
    START = 1  # at the start of a value
    PLAIN = 2  # in a value that did not start with a quote
    QUOTED = 3  # inside a quoted value
    QUOTE = 4  # just after a quote inside a quoted value: the end, or "" for a quote


@dataclass(frozen=True)
class _Scan:
    cells: list[str]
    end: int  # the index of the line after the record
    unterminated: bool = False  # the text ended inside a quoted value
    malformed: bool = False  # text right after a closing quote ("ab"c), or a quote in a plain value


def _scan(lines: list[str], begin: int, delimiter: str, spaced: bool) -> _Scan:
    """The record starting at ``lines[begin]``, read as the ``csv`` module reads it
    (excel dialect, not strict) but without its field size limit, and what was odd."""
    if lines[begin] in ("\n", "\r", "\r\n"):
        return _Scan([], begin + 1)
    stop = re.compile(f"[{re.escape(delimiter)}\r\n]")
    cells: list[str] = []
    parts: list[str] = []
    state, malformed, at = _State.START, False, begin
    while at < len(lines):
        line, pos = lines[at], 0
        at += 1
        while True:
            if state is _State.QUOTED:
                quote = line.find(QUOTE, pos)
                if quote < 0:
                    parts.append(line[pos:])
                    break  # the value goes on in the next line
                parts.append(line[pos:quote])
                state, pos = _State.QUOTE, quote + 1
                continue
            if pos >= len(line):
                break  # the last line of the text, without a line ending
            char = line[pos]
            if state is _State.QUOTE:
                if char == QUOTE:
                    parts.append(QUOTE)
                    state, pos = _State.QUOTED, pos + 1
                    continue
                malformed = malformed or char not in f"{delimiter}{LINE_END} "
                state = _State.PLAIN
            elif state is _State.START:
                if char == QUOTE:
                    state, pos = _State.QUOTED, pos + 1
                    continue
                if spaced and char == " ":
                    pos += 1
                    continue
                state = _State.PLAIN
            found = stop.search(line, pos)
            plain = line[pos : found.start() if found else len(line)]
            malformed = malformed or QUOTE in plain  # a writer quotes a value with a quote
            parts.append(plain)
            if found is None:
                break
            cells.append("".join(parts))
            parts, state, pos = [], _State.START, found.end()
            if found.group() != delimiter:
                return _Scan(cells, at, malformed=malformed)
    cells.append("".join(parts))
    return _Scan(cells, at, unterminated=state is _State.QUOTED, malformed=malformed)
