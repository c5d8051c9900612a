"""Every answer of the fake Unipile, success or error, is valid for Unipile's v1 spec.

Raw HTTP over loopback through ``SpecValidator``: each response the fake gives under
``/api/v1`` is validated against the official OpenAPI file. Requests are validated too;
the only request violations allowed are the ones a test makes on purpose (a JSON body
where the spec says multipart, a missing API key).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from outreach.sandbox.fake_unipile import create_fake_unipile_app, open_simulator
from outreach.sandbox.people import provider_id_for
from outreach.sandbox.simulator import SandboxBehaviour, Simulator
from tests.contract.validation import SpecValidator
from tests.loopback import serve

API_KEY = "fake-contract-key"
ACCOUNT = "acc-fake-contract"
CALM = SandboxBehaviour(
    seed=5, accept_rate=0.0, reply_rate=0.0, error_rate=0.0, already_connected_rate=0.0
)
JANE = provider_id_for("jane-roe")


@dataclass
class Fake:
    simulator: Simulator
    validator: SpecValidator
    url: str
    api: httpx.Client

    def request_violations(self) -> list[str]:
        return [f"{v.method} {v.path}" for v in self.validator.request_violations()]


@pytest.fixture
def fake(unipile_spec: Any, tmp_path: Path) -> Iterator[Fake]:
    simulator = open_simulator(f"sqlite:///{tmp_path / 'fake.db'}", behaviour=CALM)
    app = create_fake_unipile_app(
        simulator, api_key=API_KEY, webhook_url=None, webhook_secret=None, account_ids=[ACCOUNT]
    )
    validator = SpecValidator(app, unipile_spec)
    with serve(validator, lifespan="on") as url:
        headers = {"X-API-KEY": API_KEY}
        with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=10) as api:
            yield Fake(simulator, validator, url, api)
    responses = [str(v) for v in validator.violations if v.direction == "response"]
    assert responses == []


def error_type(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["status"] == response.status_code and body["title"]
    return response.status_code, body["type"]


def invite(fake: Fake, provider_id: str, message: str | None = None) -> httpx.Response:
    body = {"account_id": ACCOUNT, "provider_id": provider_id}
    return fake.api.post("/users/invite", json=body | ({"message": message} if message else {}))


def multipart(fields: dict[str, str | list[str]]) -> list[tuple[str, tuple[None, bytes]]]:
    """Form fields as multipart parts, a list repeating its field (what the spec asks)."""
    return [
        (name, (None, value.encode()))
        for name, values in fields.items()
        for value in (values if isinstance(values, list) else [values])
    ]


def connect(fake: Fake, provider_id: str) -> None:
    assert invite(fake, provider_id).status_code == 200
    assert fake.simulator.accept(ACCOUNT, provider_id) is not None


# -- accounts and users ------------------------------------------------------------------


def test_accounts_and_own_profile(fake: Fake) -> None:
    accounts = fake.api.get("/accounts").json()
    assert [a["id"] for a in accounts["items"]] == [ACCOUNT] and accounts["cursor"] is None
    account = fake.api.get(f"/accounts/{ACCOUNT}").json()
    assert (account["type"], account["sources"][0]["status"]) == ("LINKEDIN", "OK")
    own = account["connection_params"]["im"]["id"]
    me = fake.api.get("/users/me", params={"account_id": ACCOUNT}).json()
    assert (me["object"], me["provider_id"]) == ("AccountOwnerProfile", own)

    fake.simulator.disconnect(ACCOUNT)
    status = fake.api.get(f"/accounts/{ACCOUNT}").json()["sources"][0]["status"]
    assert status == "CREDENTIALS"
    assert error_type(fake.api.get("/accounts/nope")) == (404, "errors/resource_not_found")
    assert error_type(fake.api.get("/accounts", params={"limit": 0})) == (
        400,
        "errors/invalid_parameters",
    )


def test_profiles_show_the_connection_state(fake: Fake) -> None:
    params = {"account_id": ACCOUNT}
    profile = fake.api.get("/users/jane-roe", params=params).json()
    assert (profile["provider_id"], profile["is_relationship"]) == (JANE, False)
    assert "invitation" not in profile

    assert invite(fake, JANE, "Hello Jane").json()["object"] == "UserInvitationSent"
    pending = fake.api.get(f"/users/{JANE}", params=params).json()
    assert pending["invitation"] == {"type": "SENT", "status": "PENDING"}

    fake.simulator.accept(ACCOUNT, JANE)
    connected = fake.api.get("/users/jane-roe", params=params).json()
    assert (connected["network_distance"], connected["is_relationship"]) == ("FIRST_DEGREE", True)
    assert error_type(fake.api.get("/users/ACoAA!!!", params=params)) == (
        404,
        "errors/resource_not_found",
    )


def test_invitations_sent_paged_and_cancelled(fake: Fake) -> None:
    ids = [invite(fake, provider_id_for(f"lead-{n}")).json()["invitation_id"] for n in range(3)]
    params: dict[str, str | int] = {"account_id": ACCOUNT, "limit": 2}
    first = fake.api.get("/users/invite/sent", params=params).json()
    assert len(first["items"]) == 2 and first["cursor"]
    rest = fake.api.get("/users/invite/sent", params=params | {"cursor": first["cursor"]}).json()
    assert rest["cursor"] is None
    listed = [item["id"] for item in first["items"] + rest["items"]]
    assert sorted(listed) == sorted(ids)

    cancel = fake.api.delete(f"/users/invite/sent/{ids[0]}", params={"account_id": ACCOUNT})
    assert cancel.json() == {"object": "InvitationCanceled"}
    gone = fake.api.delete("/users/invite/sent/42", params={"account_id": ACCOUNT})
    assert error_type(gone) == (404, "errors/resource_not_found")
    remaining = fake.api.get("/users/invite/sent", params={"account_id": ACCOUNT}).json()
    assert len(remaining["items"]) == 2


def test_invitation_errors(fake: Fake) -> None:
    assert invite(fake, JANE).status_code == 200
    assert error_type(invite(fake, JANE)) == (422, "errors/already_invited_recently")
    assert error_type(invite(fake, provider_id_for("x"), "y" * 301)) == (
        400,
        "errors/too_many_characters",
    )
    fake.simulator.accept(ACCOUNT, JANE)
    assert error_type(invite(fake, JANE)) == (422, "errors/action_already_performed")


def test_relations(fake: Fake) -> None:
    connect(fake, JANE)
    params = {"account_id": ACCOUNT}
    relations = fake.api.get("/users/relations", params=params).json()
    assert [r["member_id"] for r in relations["items"]] == [JANE]
    filtered = fake.api.get("/users/relations", params=params | {"filter": "nobody"}).json()
    assert filtered["items"] == []


# -- chats and messages ------------------------------------------------------------------


def test_chats_and_messages(fake: Fake) -> None:
    connect(fake, JANE)
    form: dict[str, str | list[str]] = {
        "account_id": ACCOUNT,
        "attendees_ids": [JANE],
        "text": "Hi Jane",
    }
    started = fake.api.post("/chats", files=multipart(form))
    assert started.status_code == 201
    chat_id = started.json()["chat_id"]
    again = fake.api.post("/chats", json=form)  # JSON as many clients send it: same chat
    assert (again.status_code, again.json()["chat_id"]) == (201, chat_id)
    sent = fake.api.post(f"/chats/{chat_id}/messages", files=multipart({"text": "Follow-up"}))
    assert sent.status_code == 201 and sent.json()["object"] == "MessageSent"
    fake.simulator.reply(ACCOUNT, JANE, "Tell me more")

    chats = fake.api.get("/chats", params={"account_id": ACCOUNT}).json()["items"]
    assert [(c["id"], c["attendee_provider_id"], c["unread_count"]) for c in chats] == [
        (chat_id, JANE, 1)
    ]
    chat = fake.api.get(f"/chats/{chat_id}").json()
    assert (chat["id"], chat["lastMessage"]["text"]) == (chat_id, "Tell me more")
    by_attendee = fake.api.get(f"/chat_attendees/{JANE}/chats", params={"account_id": ACCOUNT})
    assert [c["id"] for c in by_attendee.json()["items"]] == [chat_id]

    messages = fake.api.get(f"/chats/{chat_id}/messages").json()["items"]
    assert [(m["text"], m["is_sender"]) for m in messages] == [
        ("Tell me more", 0),
        ("Follow-up", 1),
        ("Hi Jane", 1),
        ("Hi Jane", 1),
    ]
    theirs = fake.api.get(f"/chats/{chat_id}/messages", params={"sender_id": JANE}).json()
    assert [m["text"] for m in theirs["items"]] == ["Tell me more"]
    assert error_type(fake.api.get("/chats/nope")) == (404, "errors/resource_not_found")
    assert fake.request_violations() == ["POST /api/v1/chats"]  # the JSON body


def test_messages_need_a_connection(fake: Fake) -> None:
    form: dict[str, str | list[str]] = {
        "account_id": ACCOUNT,
        "attendees_ids": [JANE],
        "text": "Hi",
    }
    refused = fake.api.post("/chats", files=multipart(form))
    assert error_type(refused) == (422, "errors/no_connection_with_recipient")


# -- webhooks ----------------------------------------------------------------------------


def test_webhooks_are_listed_created_and_deleted(fake: Fake) -> None:
    body = {
        "request_url": "http://127.0.0.1:9/hook",
        "source": "messaging",
        "name": "outreach-messaging",
        "events": ["message_received"],
        "headers": [{"key": "Unipile-Auth", "value": "secret"}],
    }
    created = fake.api.post("/webhooks", json=body)
    assert created.status_code == 201
    webhook_id = created.json()["webhook_id"]
    listed = fake.api.get("/webhooks").json()["items"]
    assert [(w["id"], w["name"], w["headers"]) for w in listed] == [
        (webhook_id, "outreach-messaging", body["headers"])
    ]
    assert fake.api.delete(f"/webhooks/{webhook_id}").json() == {"object": "WebhookDeleted"}
    assert error_type(fake.api.delete(f"/webhooks/{webhook_id}")) == (
        404,
        "errors/resource_not_found",
    )


# -- errors ------------------------------------------------------------------------------


def test_a_missing_or_wrong_api_key_is_refused(fake: Fake) -> None:
    for headers in ({}, {"X-API-KEY": "wrong"}):
        answer = httpx.get(f"{fake.url}/api/v1/accounts", headers=headers)
        assert error_type(answer) == (401, "errors/missing_credentials")


def test_transient_errors(fake: Fake) -> None:
    fake.simulator.inject_transient(1.0)
    seen: dict[int, httpx.Response] = {}
    for _ in range(30):
        answer = fake.api.get("/users/jane-roe", params={"account_id": ACCOUNT})
        seen.setdefault(answer.status_code, answer)
    assert sorted(seen) == [429, 500, 503]
    assert error_type(seen[429]) == (429, "errors/too_many_requests")
    assert int(seen[429].headers["retry-after"]) >= 1
    assert error_type(seen[500]) == (500, "errors/provider_error")
    # The spec declares no 429 for this list: a rate limit is answered 503 there.
    params = {"account_id": ACCOUNT}
    listed = {fake.api.get("/users/invite/sent", params=params).status_code for _ in range(20)}
    assert listed == {500, 503}


def test_account_and_recipient_faults(fake: Fake) -> None:
    params = {"account_id": ACCOUNT}
    fake.simulator.disconnect(ACCOUNT)
    answer = fake.api.get("/users/jane-roe", params=params)
    assert error_type(answer) == (401, "errors/disconnected_account")
    fake.simulator.reset_errors()
    fake.simulator.restrict(ACCOUNT)
    assert error_type(fake.api.get("/users/jane-roe", params=params)) == (
        403,
        "errors/account_restricted",
    )
    fake.simulator.reset_errors()
    fake.simulator.invalid_recipient("jane-roe")
    assert error_type(invite(fake, JANE)) == (422, "errors/invalid_recipient")
    fake.simulator.reset_errors()
    fake.simulator.limit(ACCOUNT)
    assert error_type(invite(fake, JANE)) == (422, "errors/limit_exceeded")
    fake.simulator.limit(ACCOUNT, "cannot_resend_yet")
    assert error_type(invite(fake, JANE)) == (422, "errors/cannot_resend_yet")
    assert fake.simulator.log() == []


def test_steering_routes(fake: Fake) -> None:
    with httpx.Client(base_url=f"{fake.url}/_sandbox", timeout=10) as steer:
        steering(fake, steer)


def steering(fake: Fake, steer: httpx.Client) -> None:
    assert invite(fake, JANE, "Hello").status_code == 200
    accepted = steer.post("/accept", json={"account_id": ACCOUNT, "identifier": "jane-roe"})
    assert accepted.status_code == 200 and accepted.json()["invitation_id"]
    replied = steer.post("/reply", json={"account_id": ACCOUNT, "provider_id": JANE})
    assert replied.json()["message_id"].startswith("sbx-msg-")
    assert steer.post("/errors", json={"disconnect": ACCOUNT}).json() == {"ok": True}
    assert fake.simulator.status(ACCOUNT).value == "credentials"
    assert steer.post("/reset-errors").json() == {"ok": True}
    log = steer.get("/log").json()["items"]
    assert [(e["kind"], e["text"], e["public_identifier"]) for e in log] == [
        ("invitation", "Hello", "jane-roe")
    ]
    missing = steer.post("/accept", json={"account_id": ACCOUNT, "identifier": "nobody"})
    assert missing.status_code == 404
