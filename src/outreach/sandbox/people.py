"""The simulator's population: any LinkedIn identifier maps to one reproducible person.

A person is a pure function of the simulator's seed and the profile's slug (hashed with
BLAKE2b, never Python's salted ``hash()``), so the same seed gives the same names and the
same behaviour in every process. Provider ids encode the slug reversibly, so resolving
an ``ACoAA…`` id back to its person needs no lookup table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from outreach.sandbox.simulator import SandboxBehaviour

PROVIDER_ID_PREFIX = "ACoAA"
_PROFILE_URL = re.compile(r"linkedin\.com/in/([^/?#\s]+)", re.IGNORECASE)
_SLUG = re.compile(r"[^\s/?#]{1,100}")

FIRST_NAMES = (
    "Amelia", "Lucas", "Sofia", "Noah", "Chloe", "Mateo", "Hannah", "Elias", "Priya", "Daniel",
    "Laura", "Kenji", "Fatima", "Oliver", "Ines", "Jonas", "Maya", "Samuel", "Clara", "Ravi",
    "Zoe", "Marco", "Leila", "Thomas", "Aisha", "Felix", "Nora", "Diego", "Emma", "Arjun",
    "Julia", "Omar", "Sara", "Liam", "Mei", "Hugo", "Elena", "Tobias", "Grace", "Victor",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Nguyen", "Schmidt", "Garcia", "Okafor", "Rossi", "Kowalski", "Dubois", "Tanaka",
    "Johansson", "Patel", "Silva", "Müller", "Fischer", "Haddad", "Novak", "Andersen", "Costa",
    "Moreau", "Kim", "Fernandez", "Weber", "Brennan", "Larsen", "Yilmaz", "Bianchi", "Sato",
    "Lopez", "Adeyemi", "Hoffmann", "Svensson", "Laurent", "Ivanova", "Murphy", "Cohen",
    "Lindqvist", "Chen", "Walsh", "Mendes", "Keller",
)  # fmt: skip
TITLES = (
    "Head of Sales", "VP Marketing", "Founder & CEO", "CTO", "Engineering Manager",
    "Head of Growth", "Account Executive", "Operations Director", "Talent Acquisition Lead",
    "Chief Revenue Officer", "Product Manager", "Customer Success Lead", "CFO",
    "Head of Partnerships", "Sales Development Manager", "Co-founder", "Marketing Director",
    "Head of People", "Business Development Manager", "Data Team Lead",
)  # fmt: skip
COMPANIES = (
    "Northwind Analytics", "Bluefin Logistics", "Copperleaf Health", "Brightpath Software",
    "Helios Energy", "Quanta Retail", "Lumen Robotics", "Harbor & Pine", "Vertex Payments",
    "Maple Street Studio", "Orbital Security", "Greenline Foods", "Atlas Recruiting",
    "Kestrel Cloud", "Riverstone Capital", "Nimbus Labs", "Sable Manufacturing",
    "Tidewater Media", "Foxglove Biotech", "Ironbark Consulting",
)  # fmt: skip
LOCATIONS = (
    "Paris, France", "Berlin, Germany", "London, United Kingdom", "Madrid, Spain",
    "Amsterdam, Netherlands", "Stockholm, Sweden", "New York, United States", "Toronto, Canada",
    "Austin, United States", "Lisbon, Portugal", "Dublin, Ireland", "Milan, Italy",
)  # fmt: skip
REPLIES = (
    "Thanks for reaching out! This sounds interesting, do you have time for a call next week?",
    "Hi, happy to learn more. Could you send me a short deck or a one-pager?",
    "Not a priority for us right now, maybe check back next quarter.",
    "I'm not the right person for this, you should talk to our head of operations.",
    "We already work with another vendor for this, but thanks.",
    "Interesting timing, we were just discussing this internally. What does pricing look like?",
    "Please remove me from your list.",
    "Can you tell me more about how this would work for a team of our size?",
    "Sure, let's talk. Thursday afternoon works for me.",
    "Thanks, but we're in a hiring freeze and not buying anything new this year.",
    "Who else in our industry is using this?",
    "I'm on parental leave until next month, please follow up then.",
    "Sounds good. Send me a calendar invite and I'll loop in my colleague.",
    "Not interested, thank you.",
    "How is this different from what we can already do with our CRM?",
    "Appreciate the persistence :) Let's do a quick 15 minutes.",
    "We evaluated something similar last year and it didn't work out. What changed?",
    "Can you share a case study?",
    "I've forwarded this to our procurement team, they will get back to you.",
    "Maybe. What would the first step look like?",
)
FOLLOW_UP_WEIGHTS = (35, 25, 18, 12, 10)  # which follow-up (1..5) a replier answers


@dataclass(frozen=True)
class Person:
    """One simulated LinkedIn member and how they will react to us."""

    slug: str
    provider_id: str
    first_name: str
    last_name: str
    headline: str
    company: str
    location: str
    member_number: int  # the numeric part of ``urn:li:member:…``
    already_connected: bool
    accepts: bool
    accept_delay: timedelta
    replies_after: int | None  # the follow-up number they answer, ``None``: never
    reply_delay: timedelta
    reply_text: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def profile_url(self) -> str:
        return f"https://www.linkedin.com/in/{self.slug}/"


def provider_id_for(slug: str) -> str:
    """The ``ACoAA…`` provider id of a slug: the slug itself, base64url-encoded."""
    encoded = base64.urlsafe_b64encode(slug.encode()).rstrip(b"=").decode()
    return PROVIDER_ID_PREFIX + encoded


def slug_for_provider_id(provider_id: str) -> str | None:
    """The slug a provider id encodes, or ``None`` if it is not one of ours."""
    if not provider_id.startswith(PROVIDER_ID_PREFIX):
        return None
    encoded = provider_id[len(PROVIDER_ID_PREFIX) :]
    try:
        slug = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return slug if _SLUG.fullmatch(slug) else None


def slug_of(identifier: str) -> str | None:
    """The normalized slug behind a profile URL, provider id or public identifier."""
    value = identifier.strip()
    match = _PROFILE_URL.search(value)
    if match:
        value = match.group(1)
    elif value.startswith(PROVIDER_ID_PREFIX):
        return slug_for_provider_id(value)
    slug = unquote(value).strip().lower()
    return slug if _SLUG.fullmatch(slug) else None


def make_person(slug: str, behaviour: SandboxBehaviour) -> Person:
    """The person behind ``slug`` under ``behaviour``: same inputs, same person, always."""
    digest = hashlib.blake2b(f"{behaviour.seed}:{slug}".encode(), digest_size=8).digest()
    rng = random.Random(int.from_bytes(digest, "big"))
    # Every draw happens in this fixed order, whatever the outcome, so that changing one
    # rate never reshuffles the other traits of the same person.
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    title, company, location = rng.choice(TITLES), rng.choice(COMPANIES), rng.choice(LOCATIONS)
    member_number = rng.randrange(10_000_000, 999_999_999)
    already_connected = rng.random() < behaviour.already_connected_rate
    accepts = rng.random() < behaviour.accept_rate
    accept_hours = rng.uniform(*behaviour.accept_delay_hours)
    replies = rng.random() < behaviour.reply_rate
    follow_up = rng.choices(range(1, 6), weights=FOLLOW_UP_WEIGHTS)[0]
    reply_hours = rng.uniform(*behaviour.reply_delay_hours)
    reply_text = rng.choice(REPLIES)
    first, last = _names_from_slug(slug) or (first, last)
    return Person(
        slug=slug,
        provider_id=provider_id_for(slug),
        first_name=first,
        last_name=last,
        headline=f"{title} at {company}",
        company=company,
        location=location,
        member_number=member_number,
        already_connected=already_connected,
        accepts=accepts,
        accept_delay=timedelta(hours=accept_hours),
        replies_after=follow_up if replies else None,
        reply_delay=timedelta(hours=reply_hours),
        reply_text=reply_text,
    )


def _names_from_slug(slug: str) -> tuple[str, str] | None:
    """``jane-doe-4a1b`` reads as Jane Doe: a slug made of names keeps them."""
    parts = slug.split("-")
    if len(parts) >= 2 and all(len(p) >= 2 and p.isalpha() for p in parts[:2]):
        return parts[0].capitalize(), parts[1].capitalize()
    return None
