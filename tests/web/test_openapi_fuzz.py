"""Schemathesis against the app's own OpenAPI, over loopback, on SQLite and PostgreSQL.

Every operation gets generated input (valid and not); no answer may be a 5xx, and every
answer must match what the OpenAPI declares for its status (errors included: one shape).
Bounded: a few dozen cases per operation, no shrinking, so the whole runs in well under
three minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from outreach.testing import API_KEY, api_client, test_settings
from outreach.web.app import create_app
from tests.conftest import _pg_available as pg_available
from tests.conftest import drop_pg_database, new_pg_database
from tests.loopback import serve

# Schemathesis draws with the `random` module inside its strategies, which this
# Hypothesis warns about; it is theirs to change, not a problem of the app under test.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
EXAMPLES = 25
WEBHOOK_SECRET = "fuzz-webhook-secret"
# The schema of the app as served (no runtime needed to build it).
schema = schemathesis.openapi.from_dict(
    create_app(test_settings("sqlite:///:memory:"), workers=False).openapi()
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("fuzz") / "outreach.db"
        yield f"sqlite:///{path}"
        return
    if not pg_available():
        pytest.skip("PostgreSQL is not reachable")
    url = new_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="module")
def live_url(database: str) -> Iterator[str]:
    """The app on a fresh database, with a sender, a campaign and prospects to find."""
    settings = test_settings(
        database,
        executor_id=f"fuzz-{uuid.uuid4().hex[:8]}",
        webhook_secret=WEBHOOK_SECRET,
    )
    with serve(create_app(settings), lifespan="on") as url, api_client(url) as api:
        account = api.post("/api/accounts", json={"name": "Fuzz"}).json()
        campaign = api.post("/api/campaigns", json={"name": "F", "account_id": account["id"]})
        rows = [{"public_identifier": f"fuzz-{i}", "first_name": "Ada"} for i in range(3)]
        api.post(f"/api/campaigns/{campaign.json()['id']}/prospects", json=rows)
        yield url


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_as_declared(
    case: schemathesis.Case, live_url: str
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    if case.path.startswith("/api/webhooks/"):
        headers["Unipile-Auth"] = WEBHOOK_SECRET
    response = case.call(base_url=live_url, headers=headers)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
