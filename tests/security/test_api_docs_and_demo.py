"""/docs and /openapi.json are open in development and test, admin only in production;
`critiquelab demo` refuses in production unless forced, then prints generated passwords
(issue 20, item 7)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.core import settings
from app.users import service
from tests.support.web import make_user


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CRITIQUELAB_ENVIRONMENT", "production")
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()


def test_the_api_docs_are_open_outside_production(client: TestClient, database_url: str) -> None:
    assert client.get("/openapi.json").json()["info"]["title"] == "critiquelab"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    # Its own policy: Swagger UI's CDN files and its one inline script, by hash.
    assert "'sha256-" in docs.headers["content-security-policy"]
    assert client.get("/redoc").status_code == 404


def test_the_api_docs_are_for_admins_in_production(production: None, db: Session) -> None:
    from app.main import create_app

    make_user(db, "ada", "admin")
    make_user(db, "lee", "labeler")
    admin = {"Authorization": f"Bearer {service.api_token_for(db, 'ada')}"}
    labeler = {"Authorization": f"Bearer {service.api_token_for(db, 'lee')}"}
    with TestClient(create_app(), base_url="https://testserver") as client:
        for path in ("/openapi.json", "/docs"):
            assert client.get(path, headers={"Accept": "application/json"}).status_code == 401
            assert client.get(path, headers=labeler).status_code == 403
            assert client.get(path, headers=admin).status_code == 200
        assert "/api/v1/tasks/next" in client.get("/openapi.json", headers=admin).json()["paths"]


def test_demo_refuses_in_production_unless_forced(production: None, db: Session) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["demo"])
    assert refused.exit_code == 1 and "refusing" in refused.output
    assert service.authenticate(db, "admin", "admin-demo") is None

    forced = runner.invoke(cli, ["demo", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "admin-demo" not in forced.output
    line = next(x for x in forced.output.splitlines() if x.strip().startswith("admin "))
    password = line.split()[1]
    assert len(password) >= 12
    db.rollback()
    assert service.authenticate(db, "admin", "admin-demo") is None
    assert service.authenticate(db, "admin", password) is not None
    again = runner.invoke(cli, ["demo", "--force"])  # idempotent; passwords not shown again
    assert again.exit_code == 0 and "(unchanged)" in again.output and password not in again.output


def test_demo_outside_production_prints_the_known_logins(database_url: str) -> None:
    out = CliRunner().invoke(cli, ["demo"])
    assert out.exit_code == 0 and "admin-demo" in out.output
