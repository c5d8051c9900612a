"""A body to rows (pure): encodings, line endings, row numbers, a missing header, a quote
left open, JSON that cannot be stored, content types and file uploads."""

from __future__ import annotations

import codecs
import io
import json
import random
from datetime import datetime
from typing import Any

import httpx
import pytest

from outreach.errors import InvalidInput, UnsupportedMediaType
from outreach.prospects.importer import normalise
from outreach.prospects.upload import Upload, rows_from_text, rows_from_upload

HEADER = "First Name;Last Name;Company;LinkedIn URL"
EXCEL_ROWS = [
    "Zoë;Müller;Café Crème \u2013 “Paris”;https://www.linkedin.com/in/zoe-mueller/",
    "François;Lefèvre;Société Générale;https://www.linkedin.com/in/francois/",
    "José;Núñez;Señor € Ltd;https://www.linkedin.com/in/jose/",
]
EXCEL_TEXT = "\r\n".join([HEADER, *EXCEL_ROWS]) + "\r\n"


def csv_rows(body: bytes, content_type: str = "text/csv") -> Upload:
    upload = rows_from_upload(body, content_type)
    assert upload.rejected == []
    return upload


def companies(upload: Upload) -> list[str | None]:
    return [normalise(raw, n).company for n, raw in upload.rows]


def refusal(body: bytes, content_type: str = "text/csv") -> str:
    with pytest.raises(InvalidInput) as info:
        rows_from_upload(body, content_type)
    assert info.value.status_code == 422
    return info.value.message


def unsupported(body: bytes, content_type: str) -> str:
    with pytest.raises(UnsupportedMediaType) as info:
        rows_from_upload(body, content_type)
    assert info.value.status_code == 415
    return info.value.message


# -- encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_an_excel_csv_in_a_windows_code_page_keeps_its_accents(encoding: str) -> None:
    text = (
        EXCEL_TEXT if encoding == "cp1252" else EXCEL_TEXT.replace("\u2013", "-").replace("€", "E")
    )
    text = text.replace("“", '""').replace("”", '""') if encoding == "latin-1" else text
    upload = csv_rows(text.encode(encoding))
    assert upload.encoding == "cp1252"  # latin-1's letters are cp1252's too
    number, raw = upload.rows[0]
    first = normalise(raw, number)
    assert (first.first_name, first.last_name) == ("Zoë", "Müller")
    assert [(n or "").split(" ")[0] for n in companies(upload)] == ["Café", "Société", "Señor"]
    assert "\ufffd" not in str(upload.rows)


def test_a_large_file_whose_accents_come_late_is_read_right() -> None:
    ascii_rows = [f"Ann;Lee;Acme;https://www.linkedin.com/in/a-{i}/" for i in range(3000)]
    text = "\r\n".join([HEADER, *ascii_rows, *EXCEL_ROWS]) + "\r\n"
    upload = csv_rows(text.encode("cp1252"))
    assert upload.encoding == "cp1252"
    assert companies(upload)[-3:] == [
        "Café Crème \u2013 “Paris”",
        "Société Générale",
        "Señor € Ltd",
    ]


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        ("Imię;Firma\nŁukasz;Zakład Łódź\nGrzegorz;Spółka\n", "cp1250", "cp1250"),
        # Cyrillic and Greek letters that look Latin are the point of these two rows.
        ("Имя;Компания\nИван;Рога и копыта\n", "cp1251", "cp1251"),  # noqa: RUF001
        ("Όνομα;Εταιρεία\nΓιώργος;Παπαδόπουλος ΑΕ\n", "cp1253", "cp1253"),  # noqa: RUF001
        ("名前,会社\n田中,トヨタ自動車\n", "shift_jis", "cp932"),
        ("Nom\nl\u2019été à Paral·lel\n", "cp1252", "cp1252"),
    ],
)
def test_other_code_pages_are_told_apart_from_windows_western(
    text: str, codec: str, expected: str
) -> None:
    upload = rows_from_upload(text.encode(codec), "text/csv")
    assert upload.encoding == expected
    assert [list(raw.values()) for _, raw in upload.rows] == [
        [cell for cell in line.split(";" if ";" in text else ",")] for line in text.splitlines()[1:]
    ]


def test_a_large_file_in_another_code_page() -> None:
    rows = ["Ann;Acme"] * 8000 + ["Łukasz;Zakład Łódź", "Grzegorz;Spółka"] * 20
    upload = csv_rows("\n".join(["Imię;Firma", *rows]).encode("cp1250"))
    assert upload.encoding == "cp1250"
    assert upload.rows[-1] == (8041, {"Imię": "Grzegorz", "Firma": "Spółka"})


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_a_byte_order_mark_decides(bom: bytes, codec: str) -> None:
    upload = csv_rows(bom + EXCEL_TEXT.encode(codec))
    assert upload.encoding == codec
    assert companies(upload)[0] == "Café Crème \u2013 “Paris”"
    assert next(iter(upload.rows[0][1])) == "First Name"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_byte_order_mark_are_recognised(codec: str) -> None:
    upload = csv_rows(EXCEL_TEXT.encode(codec))
    assert (upload.encoding, companies(upload)[1]) == (codec, "Société Générale")


def test_truncated_utf16_is_refused_clearly() -> None:
    body = EXCEL_TEXT.encode("utf-16-le")[:-1]
    message = refusal(body)
    assert "looks like UTF-16-LE" in message and "save it as UTF-8 CSV" in message


def test_a_declared_charset_is_used_when_the_bytes_are_not_utf8() -> None:
    body = "Company;Slug\nCafé 5 €;jane-doe\n".encode("iso-8859-15")
    upload = csv_rows(body, "text/csv; charset=ISO-8859-15")
    assert (upload.encoding, companies(upload)) == ("iso8859-15", ["Café 5 €"])
    # A charset that lies about UTF-8 bytes loses to the bytes.
    utf8 = csv_rows("Company;Slug\nCafé;jane-doe\n".encode(), "text/csv; charset=latin-1")
    assert companies(utf8) == ["Café"]


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_refused_with_what_to_do(seed: int) -> None:
    body = random.Random(seed).randbytes(4000)
    assert refusal(body) == "could not tell the file's encoding: save it as UTF-8 CSV"


def test_an_empty_body_is_refused() -> None:
    assert "the body is empty" in refusal(b"")
    assert "the body is empty" in refusal(codecs.BOM_UTF8 + b" \r\n")


# -- CSV that the csv module could not read -----------------------------------------------


@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"], ids=["cr", "lf", "crlf"])
def test_every_line_ending_works_and_a_quoted_line_break_is_kept(newline: str) -> None:
    text = newline.join(
        ["Company,Slug", f'"Multi{newline}line",jane-doe', "Foo,bob-roe", "Bar,ann-lee"]
    )
    upload = csv_rows(text.encode())
    assert [n for n, _ in upload.rows] == [2, 3, 4]
    assert companies(upload) == [f"Multi{newline}line", "Foo", "Bar"]


def test_mixed_line_endings_in_one_file() -> None:
    upload = csv_rows(b"Company,Slug\rA,a-a\nB,b-b\r\nC,c-c")
    assert [(n, raw["Company"]) for n, raw in upload.rows] == [(2, "A"), (3, "B"), (4, "C")]


@pytest.mark.parametrize("quoted", [False, True])
def test_a_value_over_the_csv_field_limit_stays_one_row(quoted: bool) -> None:
    huge = "x" * 200_000 + ("\nmore" if quoted else "")
    cell = f'"{huge}"' if quoted else huge
    text = f"Notes,Slug\nshort,jane-doe\n{cell},big-one\nlast,zed-x\n"
    upload = csv_rows(text.encode())
    assert [(n, raw["Slug"]) for n, raw in upload.rows] == [
        (2, "jane-doe"),
        (3, "big-one"),
        (4, "zed-x"),
    ]
    assert upload.rows[1][1]["Notes"] == huge
    with pytest.raises(ValueError, match="longer than 131,072 characters"):
        normalise(upload.rows[1][1], 3)


# -- row numbers --------------------------------------------------------------------------


def test_row_numbers_are_a_spreadsheets() -> None:
    text = (
        "Slug,Notes\n"  # row 1
        'jane-doe,"two\nlines"\n'  # row 2, over two lines of the file
        "\n"  # row 3, blank: not a prospect, but a row
        "bob-roe,x\n"  # row 4
    )
    upload = rows_from_text(text)
    assert [n for n, _ in upload.rows] == [2, 4]
    assert upload.sent == 2


def test_json_rows_are_numbered_from_one_and_non_objects_are_reported() -> None:
    upload = rows_from_text('[{"slug": "a-a"}, 7, ["x"], {"slug": "b-b"}, null]')
    assert [n for n, _ in upload.rows] == [1, 4]
    assert [(e.row, e.error) for e in upload.rejected] == [
        (2, "a prospect is a JSON object, not int"),
        (3, "a prospect is a JSON object, not a list"),
        (5, "a prospect is a JSON object, not NoneType"),
    ]
    wrapped = rows_from_text('{"prospects": [{"slug": "a-a"}]}')
    assert (wrapped.format, wrapped.rows) == ("json", [(1, {"slug": "a-a"})])


# -- a missing header ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        "https://www.linkedin.com/in/jane-doe/,Jane,Acme",
        "Jane;Doe;jane@acme.example",
        "Jane,www.acme.example,CTO",
    ],
)
def test_a_first_row_that_is_a_prospect_is_refused(first: str) -> None:
    body = f"{first}\nhttps://www.linkedin.com/in/bob/,Bob,Foo\n".encode()
    message = refusal(body)
    assert "the first row looks like a prospect, not a header row: add a header row" in message
    assert "profile_url (or linkedin_url, linkedin, url, profile, linkedin_profile)" in message


def test_a_header_of_unknown_names_is_still_a_header() -> None:
    upload = rows_from_text("Who,Where\nJane,Paris\n")
    assert upload.rows == [(2, {"Who": "Jane", "Where": "Paris"})]
    with pytest.raises(ValueError, match="needs a LinkedIn profile URL"):
        normalise(upload.rows[0][1], 2)


def test_blank_and_repeated_header_names_keep_every_column() -> None:
    upload = rows_from_text("Slug,Email,,Email\njane-doe,a@x.example,note,b@x.example\n")
    [(_, raw)] = upload.rows
    assert raw == {"Slug": "jane-doe", "Email": "a@x.example", "column_3": "note"} | {
        "Email_2": "b@x.example"
    }
    assert normalise(raw, 2).fields == {
        "email": "a@x.example",
        "column_3": "note",
        "email_2": "b@x.example",
    }


# -- a quote left open --------------------------------------------------------------------

QUOTED = (
    "First Name,Company,LinkedIn URL\n"  # row 1
    "Ann,Acme,https://www.linkedin.com/in/ann/\n"  # row 2
    'Jane,"Acme, Inc.,https://www.linkedin.com/in/jane/\n'  # row 3: the quote is not closed
    "Bob,Foo,https://www.linkedin.com/in/bob/\n"  # row 4
    "Cy,Bar,https://www.linkedin.com/in/cy/\n"  # row 5
)


@pytest.mark.parametrize(
    ("rest", "last"),
    [
        ("", 5),  # the quote runs to the end of the file
        ('Di,"Baz, Ltd",https://www.linkedin.com/in/di/\n', 6),  # another row's quote closes it
        ('Di,Baz",https://www.linkedin.com/in/di/\nEd,Qux,https://www.linkedin.com/in/ed/\n', 6),
    ],
    ids=["to-the-end", "closed-by-an-opening-quote", "closed-by-a-stray-quote"],
)
def test_a_quote_left_open_is_reported_and_the_rows_after_it_are_read(rest: str, last: int) -> None:
    upload = rows_from_text(QUOTED + rest)
    assert [(e.row, e.error) for e in upload.rejected] == [
        (
            3,
            f"rows 3 to {last} were read as one value: a quote opened in row 3 is not closed "
            "(row 3 is left out; the rows after it are read on their own)",
        )
    ]
    read = [normalise(raw, n) for n, raw in upload.rows]
    assert [(r.row, r.first_name) for r in read][:3] == [(2, "Ann"), (4, "Bob"), (5, "Cy")]
    assert upload.sent == (QUOTED + rest).count("\n") - 1


def test_a_value_over_several_lines_is_not_a_quote_left_open() -> None:
    text = (
        "Company,Notes,LinkedIn URL\n"
        '"Acme\nGlobal","met at PyCon, Berlin\n\n""great"" talk",linkedin.com/in/jane\n'
        "Foo,,linkedin.com/in/bob\n"
    )
    upload = rows_from_text(text)
    assert upload.rejected == []
    assert [(n, raw["Company"]) for n, raw in upload.rows] == [(2, "Acme\nGlobal"), (3, "Foo")]


def test_a_header_with_a_quote_left_open_is_refused() -> None:
    assert "the header row cannot be read" in refusal(b'"Company,Slug\nAcme,jane-doe\n')


# -- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('[{"slug": "a-a", "score": NaN}]', "NaN is not a JSON number"),
        ('[{"slug": "a-a", "score": Infinity}]', "Infinity is not a JSON number"),
        ('[{"slug": "a-a", "score": -Infinity}]', "-Infinity is not a JSON number"),
        ('[{"slug": "a-a", "score": 1e400}]', "the number 1e400 is too large"),
        ("[" * 100_000 + "]" * 100_000, "nests lists or objects too deeply"),
        ('{"slug": "a-a"}', "expected a JSON list of prospects"),
        ('[{"slug": "a-a"},]', "not valid JSON"),
        ("[" + "1" * 5000 + "]", "not valid JSON"),
    ],
)
def test_json_that_cannot_be_stored_is_refused(body: str, reason: str) -> None:
    assert reason in refusal(body.encode(), "application/json")


def test_a_lone_surrogate_is_a_row_error_and_the_other_rows_are_kept() -> None:
    body = b'[{"slug": "a-a", "first_name": "Ann"}, {"slug": "b-b", "first_name": "B\\ud800"}]'
    upload = rows_from_upload(body, "application/json")
    assert [n for n, _ in upload.rows] == [1, 2]
    assert normalise(upload.rows[0][1], 1).first_name == "Ann"
    with pytest.raises(ValueError, match="contains text that is not valid Unicode"):
        normalise(upload.rows[1][1], 2)


# -- content types ------------------------------------------------------------------------

PEOPLE = [{"public_identifier": "jane-doe"}, {"public_identifier": "bob-roe"}]
PEOPLE_CSV = b"public_identifier\njane-doe\nbob-roe\n"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.api+json",
        "text/plain",
        "text/plain; charset=utf-8",
        "text/csv",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "",
    ],
)
def test_json_is_read_as_json_whatever_the_text_type(content_type: str) -> None:
    upload = csv_rows(json.dumps(PEOPLE).encode(), content_type)
    assert (upload.format, upload.rows) == ("json", list(enumerate(PEOPLE, 1)))


@pytest.mark.parametrize(
    "content_type",
    ["text/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream", ""],
)
def test_csv_is_read_as_csv(content_type: str) -> None:
    upload = csv_rows(PEOPLE_CSV, content_type)
    assert (upload.format, [n for n, _ in upload.rows]) == ("csv", [2, 3])


def test_a_csv_whose_first_cell_starts_with_a_bracket_is_still_csv() -> None:
    upload = csv_rows(b"[Slug],Notes\njane-doe,x\n", "text/csv")
    assert upload.rows == [(2, {"[Slug]": "jane-doe", "Notes": "x"})]


@pytest.mark.parametrize("content_type", ["image/png", "application/xml", "text/html"])
def test_an_unknown_content_type_is_refused_with_415(content_type: str) -> None:
    message = unsupported(PEOPLE_CSV, content_type)
    assert f"cannot read a {content_type} body: send CSV or JSON" in message


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00rest of a zip", "application/octet-stream"),
        (b"PK\x03\x04\x14\x00\x06\x00rest of a zip", "text/csv"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "application/vnd.ms-excel"),
        (b"anything", "application/vnd.oasis.opendocument.spreadsheet"),
    ],
)
def test_a_spreadsheet_other_than_xlsx_is_refused_with_what_to_do(
    body: bytes, content_type: str
) -> None:
    message = unsupported(body, content_type)
    assert message == (
        "spreadsheet files other than XLSX (XLS, ODS, Numbers) are not read: save the sheet "
        "as XLSX or CSV (UTF-8) and send that"
    )


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_file_is_read_with_the_sheets_row_numbers() -> None:
    body = _xlsx(
        [
            ["profile_url", "first_name", "score", "joined"],
            [],
            ["https://www.linkedin.com/in/ada/", "Ada", 3.0, datetime(2024, 5, 1)],
            ["https://www.linkedin.com/in/bob/", "Bob", 2.5, None, "surplus"],
        ]
    )
    for content_type in (XLSX, "application/octet-stream", "text/csv"):
        upload = rows_from_upload(body, content_type)
        assert upload.format == "xlsx"
        assert upload.rows == [
            (
                3,
                {
                    "profile_url": "https://www.linkedin.com/in/ada/",
                    "first_name": "Ada",
                    "score": "3",
                    "joined": "2024-05-01T00:00:00",
                },
            )
        ]
        assert [(e.row, e.error[:20]) for e in upload.rejected] == [(4, "more values than col")]


def test_a_broken_xlsx_file_is_a_clear_422() -> None:
    with pytest.raises(InvalidInput, match="the XLSX file cannot be read"):
        rows_from_upload(b"not a zip at all", XLSX)
    with pytest.raises(InvalidInput, match="the sheet is empty"):
        rows_from_upload(_xlsx([]), XLSX)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def multipart(files: Any, data: dict[str, str] | None = None) -> tuple[bytes, str]:
    """A body and its Content-Type as an HTTP client (curl -F, a browser) sends them."""
    request = httpx.Request("POST", "http://x/", files=files, data=data)
    return request.read(), request.headers["content-type"]


def test_a_file_upload_is_read_from_its_part_named_file() -> None:
    body, content_type = multipart(
        {"file": ("people.csv", EXCEL_TEXT.encode("cp1252"), "application/octet-stream")},
        data={"campaign": "7"},
    )
    upload = csv_rows(body, content_type)
    assert upload.encoding == "cp1252"
    assert companies(upload)[0] == "Café Crème \u2013 “Paris”"


def test_the_only_file_part_is_read_whatever_its_name() -> None:
    body, content_type = multipart(
        {"upload": ("people.json", json.dumps(PEOPLE).encode(), "application/json")}
    )
    assert csv_rows(body, content_type).rows == list(enumerate(PEOPLE, 1))


def test_a_file_part_keeps_its_line_endings() -> None:
    text = b'Company,Slug\r"Multi\r\nline",jane-doe\rFoo,bob-roe'
    body, content_type = multipart({"file": ("people.csv", text, "text/csv")})
    assert companies(csv_rows(body, content_type)) == ["Multi\r\nline", "Foo"]


def test_an_xlsx_upload_is_read_and_a_broken_one_refused() -> None:
    good = _xlsx([["slug", "company"], ["jane-doe", "Acme"]])
    body, content_type = multipart({"file": ("people.xlsx", good, "")})
    assert rows_from_upload(body, content_type).rows == [
        (2, {"slug": "jane-doe", "company": "Acme"})
    ]
    body, content_type = multipart({"file": ("people.xlsx", b"PK\x03\x04zip", "")})
    with pytest.raises(InvalidInput, match="the XLSX file cannot be read"):
        rows_from_upload(body, content_type)


def test_a_multipart_body_without_one_file_is_refused() -> None:
    body, content_type = multipart(
        {"a": ("a.csv", PEOPLE_CSV, "text/csv"), "b": ("b.csv", PEOPLE_CSV, "text/csv")}
    )
    assert "as one part named 'file'" in refusal(body, content_type)
    assert "needs its boundary" in refusal(body, "multipart/form-data")
    assert "cannot be read" in refusal(b"garbage", f"{content_type.split(';')[0]}; boundary=zz")


def test_a_key_given_twice_in_json_keeps_both_values() -> None:
    upload = rows_from_text(
        '[{"slug": "a-a", "title": "CTO", "title": "Boss", "x": {"k": 1, "k": 2}}]'
    )
    assert upload.rows == [
        (1, {"slug": "a-a", "title": "CTO", "title_2": "Boss", "x": {"k": 1, "k_2": 2}})
    ]
    row = normalise(upload.rows[0][1], 1)
    assert (row.title, row.fields) == ("CTO", {"title_2": "Boss", "x": {"k": 1, "k_2": 2}})
