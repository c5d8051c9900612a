"""Prospect rows from CSV or JSON: LinkedIn URLs, header aliases, CSV dialects, bad rows.

Row numbers are a spreadsheet's: the header is row 1, the first prospect row 2."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import pytest

from outreach.prospects.identity import slug_from_url
from outreach.prospects.importer import ProspectRow, normalise
from outreach.prospects.upload import parse_csv as parse_upload


def parse_csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a CSV text; a row the reader rejects fails the test."""
    upload = parse_upload(text)
    assert upload.rejected == []
    return upload.rows


def one(raw: dict[str, Any]) -> ProspectRow:
    return normalise(raw, 1)


def rejected(raw: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as info:
        normalise(raw, 1)
    return str(info.value)


# --- profile URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/in/jane-doe",
        "https://www.linkedin.com/in/jane-doe/",
        "https://linkedin.com/in/jane-doe/",
        "http://www.linkedin.com/in/jane-doe/",
        "www.linkedin.com/in/jane-doe",
        "linkedin.com/in/jane-doe/",
        "https://www.linkedin.com/in/jane-doe?trk=public_profile&originalSubdomain=fr",
        "https://www.linkedin.com/in/jane-doe/?utm_source=share#about",
        "https://fr.linkedin.com/in/jane-doe/",
        "https://uk.linkedin.com/in/jane-doe",
        "https://m.linkedin.com/in/jane-doe",
        "HTTPS://WWW.LINKEDIN.COM/in/jane-doe/",
        "https://www.linkedin.com/in/jane-doe/details/experience/",
        "  https://www.linkedin.com/in/jane-doe/  ",
    ],
)
def test_profile_url_variants_give_the_same_identifier(url: str) -> None:
    row = one({"linkedin_url": url})
    assert row.public_identifier == "jane-doe"
    assert row.profile_url == url.strip()


def test_a_percent_encoded_slug_is_decoded() -> None:
    url = "https://fr.linkedin.com/in/jos%C3%A9-garc%C3%ADa-1a2b3c/"
    assert slug_from_url(url) == "josé-garcía-1a2b3c"
    assert one({"profile_url": url}).public_identifier == "josé-garcía-1a2b3c"


def test_an_encoded_identifier_matches_its_url_and_its_decoded_form() -> None:
    url = "https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa/"
    both = one({"profile_url": url, "public_identifier": "jos%C3%A9-garc%C3%ADa"})
    alone = one({"public_identifier": "jos%C3%A9-garc%C3%ADa"})
    decoded = one({"public_identifier": "josé-garcía"})
    # The same person, however the row spells it, so deduplication sees one prospect.
    assert both.public_identifier == alone.public_identifier == decoded.public_identifier
    assert decoded.public_identifier == "josé-garcía"


def test_a_public_identifier_alone_gets_a_canonical_url() -> None:
    row = one({"public_identifier": "jane-doe"})
    assert (row.public_identifier, row.profile_url) == (
        "jane-doe",
        "https://www.linkedin.com/in/jane-doe/",
    )


def test_an_identifier_matching_its_url_is_fine() -> None:
    row = one({"linkedin_url": "https://www.linkedin.com/in/jane-doe/", "public_id": "jane-doe"})
    assert row.public_identifier == "jane-doe"


def test_an_identifier_that_contradicts_its_url_is_rejected() -> None:
    error = rejected(
        {"profile_url": "https://www.linkedin.com/in/jane-doe/", "public_identifier": "john-roe"}
    )
    assert "'john-roe' does not match profile URL" in error


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/in/jane-doe",
        "https://notlinkedin.com/in/jane-doe",
        "https://linkedin.com.evil.example/in/jane-doe",
        "https://twitter.com/jane",
    ],
)
def test_a_url_outside_linkedin_is_rejected(url: str) -> None:
    assert rejected({"linkedin_url": url}).startswith("not a LinkedIn URL")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/company/acme/",
        "https://www.linkedin.com/school/mit/",
        "https://www.linkedin.com/pub/jane-doe/1/2/3",
        "https://www.linkedin.com/in/",
        "https://www.linkedin.com/feed/",
    ],
)
def test_a_linkedin_url_that_is_not_a_profile_is_rejected(url: str) -> None:
    assert rejected({"linkedin_url": url}).startswith("not a LinkedIn profile URL")


@pytest.mark.parametrize("slug", ["x", "jane doe", "jane/doe", "<script>", "a" * 101])
def test_a_malformed_identifier_is_rejected(slug: str) -> None:
    assert "not a valid LinkedIn public identifier" in rejected({"public_identifier": slug})


@pytest.mark.parametrize(
    "raw",
    [{}, {"first_name": "Jane"}, {"linkedin_url": "", "public_identifier": "   "}],
)
def test_a_row_without_profile_or_identifier_is_rejected(raw: dict[str, Any]) -> None:
    assert rejected(raw) == "needs a LinkedIn profile URL or public identifier"


# --- fields -----------------------------------------------------------------------------


def test_header_aliases_map_to_standard_fields() -> None:
    row = one(
        {
            "First Name": "Jane",
            "Last Name": "Doe",
            "LinkedIn URL": "https://www.linkedin.com/in/jane-doe/",
            "Company Name": "Acme",
            "Job Title": "CTO",
            "provider_id": "ACoAAB123",
        }
    )
    assert (row.first_name, row.last_name, row.company, row.title, row.provider_id) == (
        "Jane",
        "Doe",
        "Acme",
        "CTO",
        "ACoAAB123",
    )
    assert row.fields == {}


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("firstname", "first_name"),
        ("Given Name", "first_name"),
        ("SURNAME", "last_name"),
        ("Organisation", "company"),
        ("Headline", "title"),
        ("Position", "title"),
    ],
)
def test_more_aliases(header: str, field: str) -> None:
    row = one({header: "value", "slug": "jane-doe"})
    assert getattr(row, field) == "value"


def test_extra_columns_are_kept_as_fields_with_normalised_names() -> None:
    row = one(
        {
            "public_identifier": "jane-doe",
            "Event Name": "PyCon",
            "Favourite colour!": "teal",
            "employees": 250,
            "empty": "",
            "missing": None,
        }
    )
    assert row.fields == {"event_name": "PyCon", "favourite_colour": "teal", "employees": 250}


def test_values_are_trimmed_and_non_strings_become_text_in_standard_fields() -> None:
    row = one({"public_identifier": " jane-doe ", "first_name": "  Jane ", "company": 42})
    assert (row.public_identifier, row.first_name, row.company) == ("jane-doe", "Jane", "42")
    assert row.last_name is None and row.title is None


def test_the_row_number_is_kept() -> None:
    assert normalise({"public_identifier": "jane-doe"}, 17).row == 17


# --- CSV dialects -----------------------------------------------------------------------

EXPECTED = [
    (2, {"first_name": "Jane", "company": "Acme", "linkedin_url": "linkedin.com/in/jane-doe"}),
    (3, {"first_name": "Bob", "company": "Foo", "linkedin_url": "linkedin.com/in/bob-roe"}),
]


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"]
)
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_the_delimiter_is_detected(delimiter: str, newline: str) -> None:
    lines = [
        ["first_name", "company", "linkedin_url"],
        ["Jane", "Acme", "linkedin.com/in/jane-doe"],
        ["Bob", "Foo", "linkedin.com/in/bob-roe"],
    ]
    text = newline.join(delimiter.join(line) for line in lines) + newline
    assert parse_csv(text) == EXPECTED


def test_quoted_fields_keep_their_commas_newlines_and_quotes() -> None:
    text = (
        "First Name,Company Name,Job Title,LinkedIn URL\n"
        'Jane,"Acme, Inc.","Head of Sales, EMEA ""interim""",https://www.linkedin.com/in/jane/\n'
        'Bob,"Multi\nline, Ltd","""Rocket"" Labs, Inc.",https://www.linkedin.com/in/bob/\n'
    )
    rows = [normalise(raw, n) for n, raw in parse_csv(text)]
    assert [(r.row, r.company, r.title) for r in rows] == [
        (2, "Acme, Inc.", 'Head of Sales, EMEA "interim"'),
        (3, "Multi\nline, Ltd", '"Rocket" Labs, Inc.'),
    ]


def test_a_semicolon_file_with_commas_in_its_values() -> None:
    text = (
        "first_name;company;score;public_identifier\n"
        'Jane;"Acme, Inc.";1,5;jane-doe\n'
        "Bob;Foo, Bar;2,5;bob-roe\n"
    )
    assert [raw["company"] for _, raw in parse_csv(text)] == ["Acme, Inc.", "Foo, Bar"]
    assert [raw["score"] for _, raw in parse_csv(text)] == ["1,5", "2,5"]


def test_a_tab_file_with_commas_and_semicolons_in_its_values() -> None:
    text = "first_name\tcompany\tpublic_identifier\nJane\tAcme, Inc.; EU\tjane-doe\n"
    assert parse_csv(text) == [
        (2, {"first_name": "Jane", "company": "Acme, Inc.; EU", "public_identifier": "jane-doe"})
    ]


def test_apostrophes_are_not_quotes() -> None:
    text = (
        "First Name,Last Name,Company,LinkedIn URL\n"
        "Seán,O'Brien,McDonald's,https://www.linkedin.com/in/sean-obrien/\n"
        "Jeanne,d'Arc,\"L'Oréal, Paris\",https://www.linkedin.com/in/jeanne/\n"
    )
    rows = [normalise(raw, n) for n, raw in parse_csv(text)]
    assert [(r.last_name, r.company) for r in rows] == [
        ("O'Brien", "McDonald's"),
        ("d'Arc", "L'Oréal, Paris"),
    ]


def test_a_utf8_bom_does_not_spoil_the_first_header() -> None:
    text = "\ufeffFirst Name;LinkedIn URL\nZoë;https://www.linkedin.com/in/zoe/\n"
    [(number, raw)] = parse_csv(text)
    assert normalise(raw, number).first_name == "Zoë"
    assert list(raw) == ["First Name", "LinkedIn URL"]


def test_blank_lines_are_skipped_but_keep_their_row_numbers() -> None:
    text = "first_name,public_identifier\n\nJane,jane-doe\n\n\nBob,bob-roe\n\n"
    rows = parse_csv(text)
    assert [raw["public_identifier"] for _, raw in rows] == ["jane-doe", "bob-roe"]
    # A spreadsheet shows the blank rows too: Jane is on row 3, Bob on row 6.
    assert [number for number, _ in rows] == [3, 6]
    # Lines of spaces or bare delimiters are empty rows too.
    text = "first_name,public_identifier\nJane,jane-doe\n   \n , \nBob,bob-roe\n"
    assert [raw["public_identifier"] for _, raw in parse_csv(text)] == ["jane-doe", "bob-roe"]


def test_spaces_after_delimiters_are_tolerated() -> None:
    text = (
        'First Name, Company, LinkedIn URL\nJane, "Acme, Inc.", https://www.linkedin.com/in/jane/\n'
    )
    [(number, raw)] = parse_csv(text)
    row = normalise(raw, number)
    assert (row.first_name, row.company, row.public_identifier) == ("Jane", "Acme, Inc.", "jane")


def test_a_single_column_file() -> None:
    text = "LinkedIn URL\nhttps://www.linkedin.com/in/jane/\nhttps://www.linkedin.com/in/bob/\n"
    assert [normalise(raw, n).public_identifier for n, raw in parse_csv(text)] == ["jane", "bob"]


def test_a_row_with_more_values_than_columns_is_reported_and_the_others_kept() -> None:
    text = (
        "first_name,public_identifier\n"
        "Jane,jane-doe\n"
        "Bob,bob-roe,surplus\n"
        "Ann,https://www.linkedin.com/in/ann?trk=a,b\n"
        "Zed,zed-x,,\n"
    )
    upload = parse_upload(text)
    assert [normalise(raw, n).public_identifier for n, raw in upload.rows] == ["jane-doe", "zed-x"]
    assert [(e.row, e.error) for e in upload.rejected] == [
        (3, "more values than columns (3 values, 2 columns)"),
        (4, "more values than columns (3 values, 2 columns)"),
    ]
    assert upload.rejected[0].data == {"first_name": "Bob", "public_identifier": "bob-roe"}


def test_a_short_row_leaves_the_missing_columns_empty() -> None:
    [(_, raw)] = parse_csv("public_identifier,first_name,company\njane-doe\n")
    row = normalise(raw, 2)
    assert (row.public_identifier, row.first_name, row.company) == ("jane-doe", None, None)


def test_a_header_without_rows_gives_no_rows_and_an_empty_file_is_an_error() -> None:
    assert parse_csv("first_name,public_identifier\n") == []
    with pytest.raises(ValueError, match="no header row"):
        parse_csv("")
    with pytest.raises(ValueError, match="no header row"):
        parse_csv("\n ; \n")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_spreadsheet_exports_round_trip(delimiter: str) -> None:
    # What a spreadsheet writes (RFC 4180 quoting), with awkward but realistic values.
    words = ["Acme", "Inc.", "Sales,", '"Growth"', "VP", "EMEA;", "O'Brien", "L'Oréal", "(Paris)"]
    header = ["First Name", "Company", "Job Title", "LinkedIn URL"]
    for seed in range(150):
        rng = random.Random(seed)
        rows = [
            [
                rng.choice(["Jane", "Bob", "Zoë"]),
                " ".join(rng.choices(words, k=rng.randint(1, 4))),
                "\n".join(" ".join(rng.choices(words, k=2)) for _ in range(rng.randint(1, 2))),
                f"https://www.linkedin.com/in/p-{i}/",
            ]
            for i in range(rng.randint(1, 5))
        ]
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter).writerows([header, *rows])
        expected = [(i + 2, dict(zip(header, r, strict=True))) for i, r in enumerate(rows)]
        assert parse_csv(out.getvalue()) == expected, (seed, out.getvalue())


def test_identifiers_are_case_insensitive_like_linkedin() -> None:
    mixed = normalise({"profile_url": "https://www.linkedin.com/in/Jane-Doe/"}, 1)
    lower = normalise({"public_identifier": "jane-doe"}, 2)
    both = normalise(
        {"profile_url": "linkedin.com/in/JANE-doe", "public_identifier": "Jane-Doe"}, 3
    )
    assert mixed.public_identifier == lower.public_identifier == both.public_identifier


# --- what a row may hold ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript://linkedin.com/in/x",
        "JavaScript://www.linkedin.com/in/jane-doe/",
        "java\tscript://linkedin.com/in/jane-doe",
        "data://linkedin.com/in/jane-doe",
        "ftp://www.linkedin.com/in/jane-doe/",
        "mailto:jane@linkedin.com/in/jane-doe",
        "https://evil.example@linkedin.com/in/jane-doe",
    ],
)
def test_only_http_and_https_profile_links_are_accepted(url: str) -> None:
    assert rejected({"linkedin_url": url}).startswith("not a LinkedIn URL")


def test_aliased_columns_keep_both_values() -> None:
    row = one(
        {
            "public_identifier": "jane-doe",
            "title": "CTO",
            "Job Title": "Chief Technology Officer",
            "Title": "Boss",
            "E-mail": "jane@acme.example",
            "email": "j.doe@acme.example",
        }
    )
    assert row.title == "CTO"
    assert row.fields == {
        "job_title": "Chief Technology Officer",
        "title_2": "Boss",
        "e_mail": "jane@acme.example",
        "email": "j.doe@acme.example",
    }


def test_a_second_column_for_an_extra_field_is_kept_too() -> None:
    row = one({"slug": "jane-doe", "E-mail": "a@x.example", "e mail": "b@x.example"})
    assert row.fields == {"e_mail": "a@x.example", "e_mail_2": "b@x.example"}


def test_an_empty_first_column_leaves_the_field_to_its_alias() -> None:
    row = one({"slug": "jane-doe", "title": "", "Job Title": "CTO"})
    assert (row.title, row.fields) == ("CTO", {})


@pytest.mark.parametrize(
    ("value", "kind"),
    [({"a": 1}, "an object"), (["x"], "a list"), (True, "true or false")],
)
def test_a_standard_field_must_be_text_or_a_number(value: Any, kind: str) -> None:
    assert rejected({"slug": "jane-doe", "company": value}) == f"company must be text, not {kind}"
    assert rejected({"slug": value}) == f"public_identifier must be text, not {kind}"


def test_numbers_in_standard_fields_become_their_text_and_extra_fields_keep_json() -> None:
    row = one(
        {
            "slug": "jane-doe",
            "company": 1.5,
            "provider_id": 12345,
            "tags": ["a", "b"],
            "meta": {"score": 3, "ok": True},
            "active": False,
        }
    )
    assert (row.company, row.provider_id) == ("1.5", "12345")
    assert row.fields == {"tags": ["a", "b"], "meta": {"score": 3, "ok": True}, "active": False}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"first_name": "Ja\x00ne"}, "column 'first_name' contains a NUL character"),
        (
            {"first_name": "Ja\ud800ne"},
            "column 'first_name' contains text that is not valid Unicode",
        ),
        (
            {"notes": ["ok", {"x": "\udfff"}]},
            "column 'notes' contains text that is not valid Unicode",
        ),
        ({"na\ud83dme": "x"}, "column 'na\ufffdme' contains text that is not valid Unicode"),
        ({"score": float("nan")}, "column 'score' holds a number that is not finite"),
        ({"score": [float("-inf")]}, "column 'score' holds a number that is not finite"),
        ({"notes": "x" * 131_073}, "column 'notes' holds a value longer than 131,072 characters"),
    ],
)
def test_values_the_database_cannot_store_are_reported(raw: dict[str, Any], reason: str) -> None:
    assert rejected({"slug": "jane-doe", **raw}).startswith(reason)


def test_deep_nesting_is_reported() -> None:
    deep: Any = "bottom"
    for _ in range(21):
        deep = [deep]
    assert rejected({"slug": "jane-doe", "deep": deep}).endswith("more than 20 levels deep")
    for _ in range(1):
        deep = deep[0]
    assert one({"slug": "jane-doe", "deep": deep}).fields == {"deep": deep}


@pytest.mark.parametrize(
    ("field", "limit"),
    [("first_name", 200), ("last_name", 200), ("company", 200), ("title", 300)],
)
def test_text_longer_than_its_column_is_reported(field: str, limit: int) -> None:
    assert one({"slug": "jane-doe", field: "x" * limit}) is not None
    assert rejected({"slug": "jane-doe", field: "x" * (limit + 1)}) == (
        f"{field} is longer than {limit} characters"
    )


def test_a_profile_url_longer_than_its_column_is_reported() -> None:
    url = "https://www.linkedin.com/in/jane-doe/?" + "q" * 500
    assert rejected({"profile_url": url}) == "profile_url is longer than 500 characters"
