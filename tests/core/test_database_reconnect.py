"""After PostgreSQL restarts, the app's pooled connections are all dead. The first requests
after it must still succeed (pool pre-ping reconnects), and requests that arrive while it
restarts wait for it (app/core/database.py) instead of failing in bulk.

Runs on a PostgreSQL server of its own, so restarting it disturbs no other test.
"""

import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.core import database, settings
from app.core.migrations import upgrade
from tests.support.live_server import live_app
from tests.support.postgres import PG_BIN, PostgresServer, _as_postgres


def restart(server: PostgresServer) -> None:
    # -l: the new postmaster must not inherit (and hold open) our output pipes.
    log = str(server.datadir.parent / "log")
    subprocess.run(
        _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(server.datadir), "-l", log, "-m", "fast", "-w"]
            + ["restart"]
        ),
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )


def _point_app_at(url: str) -> None:
    os.environ["CRITIQUELAB_DATABASE_URL"] = url
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    database.get_sessionmaker.cache_clear()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    if "postgresql" not in os.environ.get("CRITIQUELAB_TEST_BACKENDS", "postgresql"):
        pytest.skip("PostgreSQL is not among CRITIQUELAB_TEST_BACKENDS")
    server = PostgresServer.start()
    before = os.environ.get("CRITIQUELAB_DATABASE_URL")
    try:
        url = server.url("postgres")
        upgrade(url=url)
        _point_app_at(url)
        yield server
    finally:
        database.get_engine().dispose()
        _point_app_at(before or "sqlite:///:memory:")
        server.stop()


def _labeler_headers() -> dict[str, str]:
    from app.users.service import api_token_for, create_user

    with database.session_scope() as s:
        create_user(s, "lab", "password-123", "labeler")
    with database.session_scope() as s:
        return {"Authorization": f"Bearer {api_token_for(s, 'lab')}"}


def test_requests_right_after_a_postgres_restart_succeed(own_postgres: PostgresServer) -> None:
    headers = _labeler_headers()
    with live_app() as base, httpx.Client(base_url=base, headers=headers, timeout=30) as client:

        def ask(_: int) -> int:
            return client.post("/api/v1/tasks/next").status_code

        with ThreadPoolExecutor(16) as pool:
            # Fill the pool with connections that the restart will kill.
            assert set(pool.map(ask, range(32))) == {200}
            assert database.get_engine().pool.checkedin() > 1  # type: ignore[attr-defined]
            restart(own_postgres)
            t0 = time.monotonic()
            after = list(pool.map(ask, range(64)))
            elapsed = time.monotonic() - t0
    assert after == [200] * 64, after
    assert elapsed < 10


def test_requests_during_a_postgres_restart_wait_for_it(own_postgres: PostgresServer) -> None:
    headers = _labeler_headers()
    with (
        live_app() as base,
        httpx.Client(base_url=base, headers=headers, timeout=30) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        assert set(
            pool.map(lambda _: client.post("/api/v1/tasks/next").status_code, range(16))
        ) == {200}
        # Requests keep arriving while the server stops and starts again.
        during = pool.submit(restart, own_postgres)
        statuses: list[int] = []
        while not during.done():
            statuses += pool.map(lambda _: client.post("/api/v1/tasks/next").status_code, range(4))
        during.result()
        statuses += pool.map(lambda _: client.post("/api/v1/tasks/next").status_code, range(8))
    # A request whose transaction was open at the moment of the shutdown may fail, with a
    # 503 to retry (never a 500 or a dropped connection); new ones wait for the server.
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[-8:] == [200] * 8
    assert statuses.count(200) >= len(statuses) - 8, statuses


def test_a_wrong_database_name_fails_at_once(own_postgres: PostgresServer) -> None:
    # Only a restarting server is waited for, not a configuration mistake.
    engine = database.make_engine(own_postgres.url("no_such_database"))
    t0 = time.monotonic()
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert time.monotonic() - t0 < 2
    engine.dispose()
