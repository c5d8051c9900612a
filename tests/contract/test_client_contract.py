"""The real client against the fake Unipile, every exchange checked against the official spec.

``UnipileProvider`` talks real HTTP to ``create_fake_unipile_app`` served on loopback,
through ``SpecValidator``: each request our client sends, and each answer the fake gives,
must be valid for Unipile's v1 OpenAPI. People are steered through the simulator itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from outreach.linkedin.provider import (
    AccountError,
    AccountState,
    Connection,
    RecipientError,
    TransientError,
)
from outreach.linkedin.unipile import ConfigurationError, UnipileProvider, register_webhooks
from outreach.sandbox.fake_unipile import create_fake_unipile_app, open_simulator
from outreach.sandbox.simulator import SandboxBehaviour, Simulator
from tests.contract.validation import SpecValidator
from tests.loopback import serve

API_KEY = "contract-key"
ACCOUNT = "acc-contract"
CALM = SandboxBehaviour(
    seed=3, accept_rate=0.0, reply_rate=0.0, error_rate=0.0, already_connected_rate=0.0
)


@dataclass
class Fake:
    simulator: Simulator
    validator: SpecValidator
    url: str

    def client(self, **options: Any) -> UnipileProvider:
        options.setdefault("backoff", 0.001)
        options.setdefault("max_wait", 2.0)
        return UnipileProvider(self.url, options.pop("api_key", API_KEY), **options)


@pytest.fixture
def fake(unipile_spec: Any, tmp_path: Path) -> Iterator[Fake]:
    simulator = open_simulator(f"sqlite:///{tmp_path / 'fake.db'}", behaviour=CALM)
    app = create_fake_unipile_app(
        simulator, api_key=API_KEY, webhook_url=None, webhook_secret=None, account_ids=[ACCOUNT]
    )
    validator = SpecValidator(app, unipile_spec)
    with serve(validator, lifespan="on") as url:
        yield Fake(simulator, validator, url)
    assert [str(v) for v in validator.violations] == []


def test_invite_accept_message_reply(fake: Fake) -> None:
    """One prospect's journey, call by call, as the engine makes them."""
    with fake.client() as client:
        profile = client.get_profile(ACCOUNT, "https://www.linkedin.com/in/jane-doe/")
        assert profile.connection is Connection.NONE and profile.public_identifier == "jane-doe"

        invitation_id = client.send_invitation(ACCOUNT, profile.provider_id, "Hello Jane")
        assert client.get_profile(ACCOUNT, profile.provider_id).connection is Connection.PENDING
        sent = client.list_sent_invitations(ACCOUNT)
        assert [(i.invitation_id, i.provider_id) for i in sent] == [
            (invitation_id, profile.provider_id)
        ]
        assert client.send_invitation(ACCOUNT, profile.provider_id, None) in (None, invitation_id)

        fake.simulator.accept(ACCOUNT, profile.provider_id)
        assert client.get_profile(ACCOUNT, "jane-doe").connection is Connection.CONNECTED

        first = client.send_message(ACCOUNT, profile.provider_id, "Thanks for connecting")
        second = client.send_message(ACCOUNT, profile.provider_id, "A follow-up")
        assert first.chat_id is not None and second.chat_id == first.chat_id

        fake.simulator.reply(ACCOUNT, profile.provider_id, "Tell me more")
        messages = client.list_messages(ACCOUNT, profile.provider_id)

    assert [(m.text, m.is_sender) for m in messages] == [
        ("Thanks for connecting", True),
        ("A follow-up", True),
        ("Tell me more", False),
    ]
    assert messages[-1].sender_provider_id == profile.provider_id
    assert fake.validator.count("POST", "/api/v1/chats") == 1


def test_list_messages_since_and_without_a_chat(fake: Fake) -> None:
    with fake.client() as client:
        provider_id = client.get_profile(ACCOUNT, "sam-lee").provider_id
        assert client.list_messages(ACCOUNT, provider_id) == []
        client.send_invitation(ACCOUNT, provider_id, None)
        fake.simulator.accept(ACCOUNT, provider_id)

        client.send_message(ACCOUNT, provider_id, "Hi Sam")
        time.sleep(0.02)
        since = fake.simulator.now()
        time.sleep(0.02)
        fake.simulator.reply(ACCOUNT, provider_id, "Hello")
        everything = client.list_messages(ACCOUNT, provider_id)
        recent = client.list_messages(ACCOUNT, provider_id, since=since)

    assert [m.text for m in everything] == ["Hi Sam", "Hello"]
    assert [m.text for m in recent] == ["Hello"]


def test_withdraw_invitation(fake: Fake) -> None:
    with fake.client() as client:
        provider_id = client.get_profile(ACCOUNT, "max-muster").provider_id
        invitation_id = client.send_invitation(ACCOUNT, provider_id, None)
        assert invitation_id is not None

        client.withdraw_invitation(ACCOUNT, invitation_id)

        assert client.list_sent_invitations(ACCOUNT) == []
        assert client.get_profile(ACCOUNT, provider_id).connection is Connection.NONE


def test_account_state_and_account_errors(fake: Fake) -> None:
    with fake.client() as client:
        assert client.account_state(ACCOUNT) is AccountState.OK
        provider_id = client.get_profile(ACCOUNT, "ana-lima").provider_id

        fake.simulator.limit(ACCOUNT, "cannot_resend_yet")
        with pytest.raises(AccountError) as limited:
            client.send_invitation(ACCOUNT, provider_id, None)
        assert limited.value.until_tomorrow and limited.value.code == "cannot_resend_yet"

        fake.simulator.reset_errors()
        fake.simulator.disconnect(ACCOUNT)
        with pytest.raises(AccountError) as disconnected:
            client.get_profile(ACCOUNT, provider_id)
        assert not disconnected.value.until_tomorrow


def test_recipient_and_configuration_errors(fake: Fake) -> None:
    fake.simulator.invalid_recipient("ghost-profile")
    with fake.client() as client, pytest.raises(RecipientError):
        client.get_profile(ACCOUNT, "ghost-profile")

    with fake.client(api_key="wrong") as client, pytest.raises(ConfigurationError):
        client.account_state(ACCOUNT)


def test_transient_errors_are_retried(fake: Fake) -> None:
    fake.simulator.inject_transient(1.0)
    with fake.client(max_attempts=3) as client, pytest.raises(TransientError):
        client.get_profile(ACCOUNT, "jane-doe")

    assert fake.validator.count("GET", "/api/v1/users/jane-doe") == 3


def test_register_webhooks_is_idempotent(fake: Fake) -> None:
    url = "http://127.0.0.1:9/api/webhooks/unipile"
    with fake.client() as client:
        created = register_webhooks(client, url, "s3cret")
        again = register_webhooks(client, url, "s3cret")

    assert len(created) == 3 and again == []
