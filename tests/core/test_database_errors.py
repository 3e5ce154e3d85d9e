"""A database that fails under a request (a restart, a failover, a lock timeout) answers 503
with Retry-After, on both backends: never an unhandled 500 after which uvicorn drops the
client's connection (the restart test in test_database_reconnect.py saw such resets)."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.core import database
from app.users.service import api_token_for
from tests.support.experiments import labelers


def _lost() -> OperationalError:
    return OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


def test_a_commit_that_fails_answers_503_to_retry(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    (name,) = labelers(db, 1)
    db.commit()
    headers = {"Authorization": f"Bearer {api_token_for(db, name)}"}
    db.commit()

    def failing_commit(session: Session) -> None:
        raise _lost()

    with monkeypatch.context() as patch:
        patch.setattr(database.Session, "commit", failing_commit)
        response = client.post("/api/v1/tasks/next", headers=headers)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "database_unavailable"
    # The same client's next request is served normally.
    assert client.post("/api/v1/tasks/next", headers=headers).status_code == 200


def test_an_html_page_gets_the_error_page(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*_: object, **__: object) -> None:
        raise _lost()

    monkeypatch.setattr(database.Session, "commit", failing)
    response = client.get("/login")
    assert response.status_code == 503
    assert "retry shortly" in response.text
