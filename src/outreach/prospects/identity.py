"""Who a prospect is, normalised in one place: the person, their company, their domain.

A person is written as a LinkedIn profile URL, a public identifier (the ``/in/<slug>``
part) or a provider id; each becomes one key, the lower-cased, URL-decoded slug (or the
lower-cased provider id). LinkedIn's public identifiers are case-insensitive, so every
spelling of one names the same person. Pure functions: no I/O, ``ValueError`` with a
readable reason for what cannot be a key.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlparse

_SLUG = re.compile(r"^[\w\-.%]{2,100}$", re.UNICODE)
_LABEL = re.compile(r"^[^\W_](?:[\w-]{0,61}[^\W_])?$", re.UNICODE)
VALUE_LIMIT = 200  # characters of a company name kept as a key


# The usual spelling, read without urlparse (a third of an import's time went there);
# anything else takes the general path below, which gives the same answer for these.
_PLAIN_URL = re.compile(
    r"(?:(?i:https?)://)?(?i:(?:[a-z0-9-]+\.)*linkedin\.com)/in/([\w\-.%]+)/?(?:[?#]\S*)?"
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)


def slug_from_url(url: str) -> str:
    """The public identifier in a LinkedIn profile URL (``/in/<slug>``), decoded and lower-cased.

    Scheme (http or https only: a ``javascript:`` link is no profile), ``www.`` or a
    country subdomain, a trailing slash, a query and a fragment are all optional;
    anything after the slug (``/details/experience/``) is ignored.
    """
    url = url.strip()
    plain = _PLAIN_URL.fullmatch(url)
    if plain:
        return _checked(unquote(plain.group(1)).lower())
    parsed = urlparse(url if _SCHEME.match(url) else f"https://{url}")
    if parsed.scheme.lower() not in ("http", "https"):
        raise ValueError(f"not a LinkedIn URL (only http and https links are): {url!r}")
    host = (parsed.hostname or "").lower()
    if "@" in parsed.netloc or not (host == "linkedin.com" or host.endswith(".linkedin.com")):
        raise ValueError(f"not a LinkedIn URL: {url!r}")
    parts = [p for p in parsed.path.split("/") if p]
    if len(parts) < 2 or parts[0] != "in":
        raise ValueError(f"not a LinkedIn profile URL (expected /in/<name>): {url!r}")
    return _checked(unquote(parts[1]).lower())


def public_identifier(value: str) -> str:
    """A public identifier as written (``Jane-Doe``, ``jos%C3%A9``) as its key."""
    return _checked(unquote(value.strip()).lower())


def _checked(slug: str) -> str:
    if not _SLUG.match(slug):
        raise ValueError(f"not a valid LinkedIn public identifier: {slug!r}")
    return slug


def looks_like_url(value: str) -> bool:
    return "/" in value or "linkedin.com" in value.lower()


def person_key(value: str) -> str:
    """A person as written (profile URL, public identifier or provider id) as its key.

    A provider id is lower-cased like a slug, so one key matches either column; a
    provider id is unique whatever its case, so nobody else is matched by it.
    """
    value = value.strip()
    if not value:
        raise ValueError("a person needs a LinkedIn profile URL, public identifier or provider id")
    return slug_from_url(value) if looks_like_url(value) else public_identifier(value)


def profile_url(slug: str) -> str:
    """The canonical profile URL of a public identifier."""
    return f"https://www.linkedin.com/in/{slug}/"


def company_key(name: str) -> str:
    """A company name as its key: case-folded, inner whitespace collapsed, trimmed."""
    key = " ".join(name.split()).casefold()
    if not key:
        raise ValueError("a company needs a name")
    if len(key) > VALUE_LIMIT:
        raise ValueError(f"a company name has at most {VALUE_LIMIT} characters")
    return key


def domain_key(value: str) -> str:
    """A domain as its key: lower-case, without scheme, user, ``www.``, port or path.

    ``https://www.Acme.com/about``, ``acme.com.``, ``@acme.com`` and ``jane@acme.com``
    are all ``acme.com``.
    """
    text = value.strip().lower()
    text = text.split("://", 1)[-1]
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1]
    text = text.split(":", 1)[0].rstrip(".")
    text = text.removeprefix("www.")
    labels = text.split(".")
    if len(labels) < 2 or len(text) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"not a domain name: {value.strip()!r}")
    return text


def parent_domains(domain: str) -> list[str]:
    """The domain and each domain above it, down to two labels: ``eu.acme.com`` →
    ``eu.acme.com``, ``acme.com`` (a listed domain covers its subdomains)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]
