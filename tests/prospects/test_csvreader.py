"""The CSV reader: its own scanner reads a record as the csv module does; any line ending;
a record the csv module refuses is read anyway; row numbers are records."""

from __future__ import annotations

import csv

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.prospects.csvreader import Records, _scan, lines_of

texts = st.text(alphabet='ab ,;"\n\r\té', max_size=60)


@settings(max_examples=500, deadline=None)
@given(text=texts, delimiter=st.sampled_from([",", ";"]), spaced=st.booleans())
def test_the_scanner_reads_records_as_the_csv_module(
    text: str, delimiter: str, spaced: bool
) -> None:
    lines = lines_of(text)
    source = iter(lines)
    reader = csv.reader(source, delimiter=delimiter, skipinitialspace=spaced)
    at = 0
    for expected in reader:
        scan = _scan(lines, at, delimiter, spaced)
        assert (scan.cells, scan.end) == (expected, reader.line_num), (lines, at)
        at = reader.line_num


def test_lines_end_at_cr_lf_and_crlf_only() -> None:
    assert lines_of("a\rb\r\nc\nd\u2028e\x85f") == ["a\r", "b\r\n", "c\n", "d\u2028e\x85f"]


def test_a_record_over_the_csv_field_limit_is_read_by_the_scanner() -> None:
    big = "y" * (csv.field_size_limit() + 10)
    lines = lines_of(f'a,b\n1,{big}\n2,"{big}\n{big}"\n3,x\n')
    records = [(r.row, [len(c) for c in r.cells], r.unreadable) for r in Records(lines, ",")]
    assert records == [
        (1, [1, 1], None),
        (2, [1, len(big)], None),
        (3, [1, 2 * len(big) + 1], None),
        (4, [1, 1], None),
    ]
