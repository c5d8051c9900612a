"""One normaliser for who a prospect is: person, company and domain keys (pure)."""

from __future__ import annotations

import pytest

from outreach.prospects.identity import (
    company_key,
    domain_key,
    parent_domains,
    person_key,
    profile_url,
    public_identifier,
    slug_from_url,
)


@pytest.mark.parametrize(
    "written",
    [
        "jane-doe",
        "Jane-Doe",
        "  JANE-DOE ",
        "https://www.linkedin.com/in/jane-doe",
        "https://www.linkedin.com/in/Jane-Doe/",
        "http://linkedin.com/in/jane-doe/",
        "www.linkedin.com/in/jane-doe",
        "linkedin.com/in/jane-doe/",
        "https://fr.linkedin.com/in/jane-doe/?trk=public_profile#about",
        "https://www.linkedin.com/in/jane-doe/details/experience/",
    ],
)
def test_every_spelling_of_a_person_is_one_key(written: str) -> None:
    assert person_key(written) == "jane-doe"


def test_percent_encoding_is_decoded_in_urls_and_identifiers() -> None:
    encoded = "jos%C3%A9-garc%C3%ADa"
    assert person_key(encoded) == "josé-garcía"
    assert person_key(f"https://www.linkedin.com/in/{encoded}/") == "josé-garcía"
    assert person_key("JOSÉ-García") == "josé-garcía"
    assert slug_from_url(f"linkedin.com/in/{encoded}") == public_identifier(encoded)


def test_a_provider_id_is_a_key_too() -> None:
    assert person_key(" ACoAAB1234xyz ") == "acoaab1234xyz"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("", "needs a LinkedIn profile URL"),
        ("   ", "needs a LinkedIn profile URL"),
        ("x", "not a valid LinkedIn public identifier"),
        ("jane doe", "not a valid LinkedIn public identifier"),
        ("<script>", "not a valid LinkedIn public identifier"),
        ("https://example.com/in/jane-doe", "not a LinkedIn URL"),
        ("https://linkedin.com.evil.example/in/jane", "not a LinkedIn URL"),
        ("https://www.linkedin.com/company/acme/", "not a LinkedIn profile URL"),
        ("https://www.linkedin.com/in/", "not a LinkedIn profile URL"),
        ("https://www.linkedin.com/in/x/", "not a valid LinkedIn public identifier"),
    ],
)
def test_what_cannot_be_a_person_says_why(written: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        person_key(written)


def test_the_canonical_url_of_a_slug() -> None:
    assert profile_url("jane-doe") == "https://www.linkedin.com/in/jane-doe/"
    assert person_key(profile_url("jane-doe")) == "jane-doe"


@pytest.mark.parametrize(
    "written", ["Acme GmbH", "  acme   gmbh ", "ACME GMBH", "Acme\tGmbH", "acme gmbh"]
)
def test_a_company_is_case_folded_and_trimmed(written: str) -> None:
    assert company_key(written) == "acme gmbh"


def test_case_folding_is_unicode_aware() -> None:
    assert company_key("Straße AG") == company_key("STRASSE ag") == "strasse ag"


@pytest.mark.parametrize("written", ["", "   ", "x" * 201])
def test_a_company_needs_a_name_of_reasonable_length(written: str) -> None:
    with pytest.raises(ValueError, match="company"):
        company_key(written)


@pytest.mark.parametrize(
    "written",
    [
        "acme.com",
        "ACME.com",
        " acme.com ",
        "www.acme.com",
        "https://www.acme.com",
        "http://acme.com/about?x=1#team",
        "https://user:secret@www.acme.com:8443/",
        "acme.com.",
        "@acme.com",
        "jane.doe@Acme.com",
        "mailto:jane@acme.com",
    ],
)
def test_a_domain_loses_scheme_www_user_port_and_path(written: str) -> None:
    assert domain_key(written) == "acme.com"


def test_subdomains_and_unicode_domains_are_kept() -> None:
    assert domain_key("https://eu.shop.acme.co.uk/x") == "eu.shop.acme.co.uk"
    assert domain_key("Münchner-Bank.DE") == "münchner-bank.de"


@pytest.mark.parametrize(
    "written",
    ["", "acme", "localhost", "acme..com", "-acme.com", "acme_.com", "http://", "a b.com"],
)
def test_what_is_not_a_domain_is_refused(written: str) -> None:
    with pytest.raises(ValueError, match="not a domain name"):
        domain_key(written)


def test_a_domain_is_covered_by_each_domain_above_it() -> None:
    assert parent_domains("eu.shop.acme.com") == ["eu.shop.acme.com", "shop.acme.com", "acme.com"]
    assert parent_domains("acme.com") == ["acme.com"]
