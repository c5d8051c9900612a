"""The import never holds up the server: on PostgreSQL, an import held on the campaign's
row lock waits in a worker thread while the event loop answers other requests."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from outreach.testing import test_settings, wait_until
from outreach.web.app import create_app
from tests.conftest import _pg_available, drop_pg_database, new_pg_database
from tests.loopback import serve

KEY = "off-the-loop-" + uuid.uuid4().hex


@pytest.mark.postgres
def test_an_import_waiting_on_the_database_leaves_the_server_answering() -> None:
    """The whole import runs in the thread pool: held up on the campaign's row lock, it
    keeps one worker thread waiting while the event loop answers everyone else."""
    if not _pg_available():
        pytest.skip("PostgreSQL is not reachable")
    url = new_pg_database()
    engine = sa.create_engine(url)
    body = "LinkedIn URL\n" + "".join(f"linkedin.com/in/wait-{i}\n" for i in range(2000))
    try:
        with (
            serve(
                create_app(test_settings(url, api_key=KEY), workers=False), lifespan="on"
            ) as base,
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}) as client,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            account = client.post("/api/accounts", json={"name": "Me"}).json()["id"]
            cid = client.post("/api/campaigns", json={"name": "Q", "account_id": account})
            path = f"/api/campaigns/{cid.json()['id']}/prospects"
            with engine.connect() as holder, holder.begin():
                holder.execute(sa.text("SELECT id FROM campaigns FOR UPDATE"))
                pending = pool.submit(client.post, path, content=body.encode(), timeout=60)
                wait_until(lambda: waiting_on_a_lock(engine), what="the import waiting")
                assert client.get("/api/health", timeout=5).status_code == 200
                assert client.get("/api/campaigns", timeout=5).status_code == 200
                assert not pending.done()
            answer = pending.result(timeout=60)
        assert answer.status_code == 200 and answer.json()["imported"] == 2000
    finally:
        engine.dispose()
        drop_pg_database(url)


def waiting_on_a_lock(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%campaigns%'"
        )
        return bool(conn.execute(sa.text(query)).scalar_one())
