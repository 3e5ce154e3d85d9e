"""Test setup: every test that touches the database gets a fresh one, migrated by Alembic,
on SQLite and on a real PostgreSQL 15 started here. Set CRITIQUELAB_TEST_BACKENDS to run one.
"""

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

os.environ.setdefault("CRITIQUELAB_ENVIRONMENT", "test")
os.environ.setdefault("CRITIQUELAB_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("CRITIQUELAB_EXPORT_SALT", "test-export-salt")

from app import tasks  # noqa: E402, F401  (every domain's jobs, as the worker has them)
from app.core import database, settings  # noqa: E402
from app.core.migrations import upgrade  # noqa: E402
from tests.support.model_server import ModelServerProcess  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

BACKENDS = os.environ.get("CRITIQUELAB_TEST_BACKENDS", "sqlite,postgresql").split(",")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    engine = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE critiquelab_template"))
    engine.dispose()
    upgrade(url=server.url("critiquelab_template"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    upgrade(url=f"sqlite:///{path}")
    return path


def _use_database(url: str) -> None:
    os.environ["CRITIQUELAB_DATABASE_URL"] = url
    settings.get_settings.cache_clear()
    database.get_engine.cache_clear()
    database.get_sessionmaker.cache_clear()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database that the app's own settings point at."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        _use_database(url)
        yield url
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        name = f"t_{os.getpid()}_{next(_counter)}"
        admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE critiquelab_template"))
        url = server.url(name)
        _use_database(url)
        yield url
        database.get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
    database.get_engine().dispose()
    _use_database("sqlite:///:memory:")


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    """A session on the test database; tests commit through it like a request would."""
    session = database.get_sessionmaker()()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def app(database_url: str):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@pytest.fixture
def paper_sample() -> Path:
    path = SHARED_DATA / "paper_helpfulness_sample.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared/data beside the project)")
    return path


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator["ModelServerProcess"]:
    """The real CPU model server with the shipped SmolLM2-135M model, shared by the session."""
    from tests.support.model_server import ModelServerProcess

    server = ModelServerProcess(log_dir=tmp_path_factory.mktemp("model_server")).start()
    yield server
    server.stop()


@pytest.fixture
def model_settings(model_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Point the app at the test model server, with short critiques to keep the suite quick."""
    monkeypatch.setenv("CRITIQUELAB_MODEL_URL", model_server.url)
    monkeypatch.setenv("CRITIQUELAB_MODEL_NAME", "smollm2-135m-instruct")
    monkeypatch.setenv("CRITIQUELAB_CRITIQUE_MAX_TOKENS", "24")
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium (tests using it carry tests.support.browser.needs_chromium)."""
    from tests.support.browser import chromium

    with chromium() as b:
        yield b
