"""Secrets never reach a log line or an answer, over a whole run with every secret in play.

Our app drives the fake Unipile (its API key, the webhook secret), a bootstrap key and a
user's API key open the API, a person logs in with a password (and gets it wrong), and
forged calls carry wrong keys and secrets; everything any logger printed, at DEBUG (DBOS's
own logger included), every answer and every kept webhook is searched for each secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress

import httpx
import pytest

from outreach import runtime
from outreach.testing import Dashboard, api_client, ensure_user
from tests.e2e.conftest import API_KEY, APP_KEY, SECRET, Stack, accepts_silently_within

PASSWORD = "a password never to be logged"


# One database is enough: what is logged does not depend on it.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_secret_in_any_log_or_answer(
    start_stack: Callable[..., Stack],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # httpcore logs raw wire events at DEBUG (the test's own clients read the session
    # cookie in a Set-Cookie header): a transport's trace, nobody's log level in production.
    caplog.set_level(logging.INFO, logger="httpcore")
    dbos_log = logging.getLogger("dbos")  # it does not propagate to the root logger
    dbos_log.addHandler(caplog.handler)
    try:
        _run(start_stack, caplog)
    finally:
        dbos_log.removeHandler(caplog.handler)


def _run(start_stack: Callable[..., Stack], caplog: pytest.LogCaptureFixture) -> None:
    stack = start_stack()
    answers: list[httpx.Response] = []
    ensure_user(runtime.current(), "ada", PASSWORD)
    with api_client(stack.app_url, APP_KEY) as boot:
        made = boot.post("/api/keys", json={"name": "ci", "user_id": 1})
        user_key = made.json()["key"]
        answers += [boot.get("/api/me"), boot.get("/api/keys"), boot.get("/api/users")]
    with api_client(stack.app_url, user_key) as api:
        answers += [api.get("/api/me"), api.get("/api/accounts")]
    with api_client(stack.app_url, user_key + "x") as wrong:
        answers.append(wrong.get("/api/campaigns"))
    with Dashboard(stack.app_url, username="ada", password=PASSWORD) as person:
        session_token = person.client.cookies["outreach_session"]
        answers += [person.get("/"), person.get("/settings")]
    with suppress(AssertionError):  # the wrong password is refused; it must not be logged
        Dashboard(stack.app_url, username="ada", password=PASSWORD + "!")

    people = stack.people(2, accepts_silently_within((1, 5)))
    account_id = stack.create_account()
    campaign_id = stack.create_campaign(account_id, people)
    stack.launch(campaign_id)
    answers.append(stack.post_webhook(b'{"event": "x"}', secret=SECRET + "-wrong"))
    stack.wait_ended(campaign_id, timeout=60)
    answers += [stack.app.get(f"/api/campaigns/{campaign_id}/journeys"), stack.app.get("/api/runs")]

    everything = "\n".join(
        [caplog.text, *(a.text for a in answers)]
        + [d.payload + (d.error or "") for d in stack.deliveries()]
    )
    assert len(caplog.records) > 50, "the run logged enough to search"
    for name, secret in {
        "bootstrap key": APP_KEY,
        "user's API key": user_key,
        "Unipile API key": API_KEY,
        "webhook secret": SECRET,
        "password": PASSWORD,
        "session token": session_token,
    }.items():
        assert secret not in everything, f"the {name} leaked"
