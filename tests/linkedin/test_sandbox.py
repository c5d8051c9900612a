"""The simulated LinkedIn: reproducible people, derived time, faults, and its record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from outreach.config import Settings
from outreach.db import Base, create_engine, make_sessionmaker
from outreach.linkedin.provider import (
    AccountError,
    AccountState,
    Connection,
    ProviderError,
    RecipientError,
    TransientError,
)
from outreach.sandbox.people import Person, make_person, provider_id_for, slug_of
from outreach.sandbox.records import own_provider_id
from outreach.sandbox.simulator import SandboxBehaviour, SandboxProvider, Simulator

ACCOUNT = "acc-1"
QUIET = SandboxBehaviour(error_rate=0.0)


class ManualClock:
    """The simulated clock, moved by hand."""

    def __init__(self) -> None:
        self.current = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def factory(database_url: str) -> Iterator[sa.orm.sessionmaker[sa.orm.Session]]:
    engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def simulator(factory: sa.orm.sessionmaker[sa.orm.Session], clock: ManualClock) -> Simulator:
    return Simulator(factory, clock, QUIET)


def find_person(predicate: Callable[[Person], bool], behaviour: SandboxBehaviour = QUIET) -> Person:
    """The first of ``prospect-0``, ``prospect-1``, … who fits: deterministic by design."""
    for number in range(10_000):
        person = make_person(f"prospect-{number}", behaviour)
        if predicate(person):
            return person
    raise AssertionError("no such person in the first 10,000")


def accepting(person: Person) -> bool:
    return person.accepts and not person.already_connected


# -- people ------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_people() -> None:
    slugs = [f"someone-{n}" for n in range(50)]
    first = [make_person(slug, SandboxBehaviour(seed=3)) for slug in slugs]
    again = [make_person(slug, SandboxBehaviour(seed=3)) for slug in slugs]
    other = [make_person(slug, SandboxBehaviour(seed=4)) for slug in slugs]
    assert first == again
    assert first != other


def test_every_form_of_identifier_is_the_same_person() -> None:
    slug = "jane-doe-4a1b"
    forms = [
        slug,
        "Jane-Doe-4A1B",
        f"https://www.linkedin.com/in/{slug}/",
        f"https://www.linkedin.com/in/{slug}",
        f"http://linkedin.com/in/{slug}/?utm_source=share",
        provider_id_for(slug),
    ]
    assert {slug_of(form) for form in forms} == {slug}
    person = make_person(slug, QUIET)
    assert person.provider_id.startswith("ACoAA")
    assert (person.first_name, person.last_name) == ("Jane", "Doe")
    assert slug_of("ACoAA%%%") is None


def test_the_population_follows_the_rates() -> None:
    behaviour = SandboxBehaviour(seed=11)
    people = [make_person(f"p-{n}", behaviour) for n in range(4000)]
    share = lambda test: sum(map(test, people)) / len(people)  # noqa: E731
    assert share(lambda p: p.accepts) == pytest.approx(0.6, abs=0.03)
    assert share(lambda p: p.replies_after is not None) == pytest.approx(0.25, abs=0.03)
    assert share(lambda p: p.already_connected) == pytest.approx(0.05, abs=0.015)
    assert all(2 <= p.accept_delay / timedelta(hours=1) <= 40 for p in people)
    assert {p.replies_after for p in people} == {None, 1, 2, 3, 4, 5}
    assert len({p.reply_text for p in people}) >= 15


def test_behaviour_from_settings() -> None:
    settings = Settings(sandbox_seed=5, sandbox_accept_rate=0.1, sandbox_error_rate=0.0)
    behaviour = SandboxBehaviour.from_settings(settings)
    assert (behaviour.seed, behaviour.accept_rate, behaviour.error_rate) == (5, 0.1, 0.0)


# -- invitations -------------------------------------------------------------------------


def test_an_invitation_is_accepted_after_the_persons_delay(
    simulator: Simulator, clock: ManualClock
) -> None:
    person = find_person(accepting)
    sent = simulator.invite(ACCOUNT, person.provider_id, "Hi!")
    assert sent.created and sent.invitation_id is not None
    assert simulator.profile(ACCOUNT, person.slug).connection is Connection.PENDING

    clock.advance(person.accept_delay - timedelta(seconds=1))
    assert simulator.profile(ACCOUNT, person.slug).connection is Connection.PENDING
    assert simulator.due_acceptances() == []

    clock.advance(timedelta(seconds=1))
    view = simulator.profile(ACCOUNT, person.profile_url)
    assert view.connection is Connection.CONNECTED
    assert simulator.pending_invitations(ACCOUNT) == []
    assert [r.provider_id for r in simulator.relations(ACCOUNT)] == [person.provider_id]
    due = simulator.due_acceptances()
    assert [(a.invitation_id, a.accepted_at) for a in due] == [(sent.invitation_id, clock())]
    simulator.mark_announced(a.invitation_id for a in due)
    assert simulator.due_acceptances() == []


def test_someone_who_never_accepts_stays_pending(simulator: Simulator, clock: ManualClock) -> None:
    person = find_person(lambda p: not p.accepts and not p.already_connected)
    simulator.invite(ACCOUNT, person.provider_id, None)
    clock.advance(timedelta(days=365))
    assert simulator.profile(ACCOUNT, person.slug).connection is Connection.PENDING
    assert [i.provider_id for i in simulator.pending_invitations(ACCOUNT)] == [person.provider_id]


def test_already_invited_is_success_and_records_nothing(
    simulator: Simulator, clock: ManualClock
) -> None:
    person = find_person(accepting)
    provider = SandboxProvider(simulator)
    first = provider.send_invitation(ACCOUNT, person.provider_id, "Hello")
    assert provider.send_invitation(ACCOUNT, person.provider_id, "Hello again") == first
    clock.advance(person.accept_delay)
    again = simulator.invite(ACCOUNT, person.provider_id, None)
    assert (again.invitation_id, again.created, again.connection) == (
        first,
        False,
        Connection.CONNECTED,
    )
    assert [entry["kind"] for entry in simulator.log(ACCOUNT)] == ["invitation"]


def test_a_note_over_300_characters_is_a_programming_error(simulator: Simulator) -> None:
    with pytest.raises(ValueError, match="300"):
        simulator.invite(ACCOUNT, provider_id_for("someone"), "x" * 301)
    assert simulator.log() == []


def test_a_withdrawn_invitation_is_gone_and_can_be_sent_again(
    simulator: Simulator, clock: ManualClock
) -> None:
    person = find_person(accepting)
    provider = SandboxProvider(simulator)
    invitation_id = provider.send_invitation(ACCOUNT, person.provider_id, None)
    assert invitation_id is not None
    provider.withdraw_invitation(ACCOUNT, invitation_id)
    provider.withdraw_invitation(ACCOUNT, invitation_id)  # twice is fine
    provider.withdraw_invitation(ACCOUNT, "123")  # unknown: already gone
    view = simulator.profile(ACCOUNT, person.slug)
    assert (view.connection, view.invitation_status) == (Connection.NONE, "WITHDRAWN")
    clock.advance(person.accept_delay * 2)
    assert provider.get_profile(ACCOUNT, person.slug).connection is Connection.NONE
    assert provider.list_sent_invitations(ACCOUNT) == []
    assert provider.send_invitation(ACCOUNT, person.provider_id, None) not in (None, invitation_id)
    assert [e["kind"] for e in simulator.log()] == ["invitation", "withdrawal", "invitation"]


# -- messages ----------------------------------------------------------------------------


def test_messages_need_a_connection(simulator: Simulator) -> None:
    person = find_person(lambda p: not p.already_connected)
    with pytest.raises(RecipientError) as raised:
        simulator.send(ACCOUNT, person.provider_id, "Hi")
    assert raised.value.code == "no_connection_with_recipient"
    connected = find_person(lambda p: p.already_connected)
    assert simulator.profile(ACCOUNT, connected.slug).connection is Connection.CONNECTED
    assert simulator.send(ACCOUNT, connected.provider_id, "Hi").is_sender


def test_a_reply_becomes_visible_at_its_time(simulator: Simulator, clock: ManualClock) -> None:
    person = find_person(lambda p: accepting(p) and p.replies_after == 2)
    provider = SandboxProvider(simulator)
    provider.send_invitation(ACCOUNT, person.provider_id, None)
    clock.advance(person.accept_delay)
    first = provider.send_message(ACCOUNT, person.provider_id, "Follow-up 1")
    clock.advance(timedelta(days=40))
    assert [m.text for m in provider.list_messages(ACCOUNT, person.provider_id)] == ["Follow-up 1"]

    provider.send_message(ACCOUNT, person.provider_id, "Follow-up 2")
    sent_at = clock()
    clock.advance(person.reply_delay - timedelta(seconds=1))
    assert simulator.due_inbound() == []
    assert len(provider.list_messages(ACCOUNT, person.provider_id)) == 2

    clock.advance(timedelta(seconds=1))
    messages = provider.list_messages(ACCOUNT, person.provider_id)
    assert [(m.text, m.is_sender) for m in messages] == [
        ("Follow-up 1", True),
        ("Follow-up 2", True),
        (person.reply_text, False),
    ]
    assert messages[0].sender_provider_id == own_provider_id(ACCOUNT)
    assert messages[2].sender_provider_id == person.provider_id
    assert messages[2].at == sent_at + person.reply_delay
    assert provider.list_messages(ACCOUNT, person.provider_id, since=clock()) == messages[2:]
    assert {m.chat_id for m in simulator.messages(ACCOUNT, person.slug)} == {first.chat_id}

    due = simulator.due_inbound()
    assert [(d.message_id, d.text, d.provider_id) for d in due] == [
        (messages[2].message_id, person.reply_text, person.provider_id)
    ]
    simulator.mark_delivered(d.message_id for d in due)
    assert simulator.due_inbound() == []
    provider.send_message(ACCOUNT, person.provider_id, "Follow-up 3")
    clock.advance(timedelta(days=60))
    assert len(provider.list_messages(ACCOUNT, person.provider_id)) == 4  # replies only once


def test_steering_accepts_and_replies_now(simulator: Simulator, clock: ManualClock) -> None:
    person = find_person(lambda p: not p.accepts and not p.already_connected)
    assert simulator.accept(ACCOUNT, person.provider_id) is None  # nothing to accept
    invitation_id = simulator.invite(ACCOUNT, person.provider_id, None).invitation_id
    assert simulator.accept(ACCOUNT, person.provider_id) == invitation_id
    assert simulator.profile(ACCOUNT, person.slug).connection is Connection.CONNECTED
    message_id = simulator.reply(ACCOUNT, person.provider_id, "Tell me more")
    assert [(m.message_id, m.text) for m in simulator.due_inbound()] == [
        (message_id, "Tell me more")
    ]
    assert [c.unread_count for c in simulator.chats([ACCOUNT])] == [1]


# -- faults ------------------------------------------------------------------------------


def test_injected_faults_raise_before_anything_happens(simulator: Simulator) -> None:
    person = find_person(accepting)
    provider = SandboxProvider(simulator)
    simulator.inject_transient(1.0)
    with pytest.raises(TransientError):
        provider.send_invitation(ACCOUNT, person.provider_id, None)
    simulator.inject_transient(None)

    simulator.disconnect(ACCOUNT)
    assert_fails(
        lambda: provider.get_profile(ACCOUNT, person.slug), AccountError, "disconnected_account"
    )
    assert provider.account_state(ACCOUNT) is AccountState.CREDENTIALS
    simulator.reconnect(ACCOUNT)
    simulator.restrict(ACCOUNT)
    assert_fails(
        lambda: provider.list_sent_invitations(ACCOUNT), AccountError, "account_restricted"
    )
    assert provider.account_state(ACCOUNT) is AccountState.RESTRICTED
    simulator.reset_errors()

    simulator.invalid_recipient(person.profile_url)
    assert_fails(
        lambda: provider.send_invitation(ACCOUNT, person.provider_id, None),
        RecipientError,
        "invalid_recipient",
    )
    simulator.reset_errors()
    simulator.limit(ACCOUNT)
    provider.get_profile(ACCOUNT, person.slug)  # reading is not limited
    error = assert_fails(
        lambda: provider.send_invitation(ACCOUNT, person.provider_id, None),
        AccountError,
        "limit_exceeded",
    )
    assert isinstance(error, AccountError) and error.until_tomorrow
    assert simulator.log() == []
    simulator.reset_errors()
    assert provider.send_invitation(ACCOUNT, person.provider_id, None) is not None
    assert provider.account_state(ACCOUNT) is AccountState.OK


def assert_fails(call: Callable[[], object], kind: type[ProviderError], code: str) -> ProviderError:
    with pytest.raises(kind) as raised:
        call()
    assert raised.value.code == code
    return raised.value


def test_transient_errors_repeat_with_the_seed(
    factory: sa.orm.sessionmaker[sa.orm.Session], clock: ManualClock
) -> None:
    behaviour = replace(QUIET, error_rate=0.3)

    def outcomes() -> list[str]:
        simulator = Simulator(factory, clock, behaviour)
        results = []
        for number in range(60):
            try:
                simulator.profile(ACCOUNT, f"prospect-{number}")
                results.append("ok")
            except TransientError as error:
                results.append(error.code or "")
        return results

    first = outcomes()
    assert first == outcomes()
    assert 0.15 < first.count("ok") / 60 < 0.85
    assert {"too_many_requests", "provider_error", "service_unavailable"} & set(first)


def test_the_log_records_every_action(simulator: Simulator, clock: ManualClock) -> None:
    person = find_person(accepting)
    simulator.invite(ACCOUNT, person.provider_id, "note")
    clock.advance(person.accept_delay)
    simulator.send(ACCOUNT, person.provider_id, "hello")
    simulator.invite("acc-2", person.provider_id, None)
    entries = simulator.log(ACCOUNT)
    assert [(e["kind"], e["text"], e["public_identifier"]) for e in entries] == [
        ("invitation", "note", person.slug),
        ("message", "hello", person.slug),
    ]
    assert entries[1]["at"] == clock() and entries[1]["recipient"] == person.provider_id
    assert len(simulator.log()) == 3
