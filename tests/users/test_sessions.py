"""Server-side sessions (issue 20, item 7): the cookie carries a random id whose hash is a
row; logout, a password change and deactivation delete the rows, so a replayed cookie is
refused at once; idle and absolute timeouts end a session; the cookie is Secure in
production or behind an https public URL."""

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.core import database, settings
from app.core.security import secret_hash
from app.models import UserSession
from app.models.base import utcnow
from app.users import service
from app.users.repository import UserRepository
from tests.support.db import fresh
from tests.support.web import login, make_user

COOKIE = "critiquelab_session"


def _sid(cookie: str) -> str:
    """The session id inside Starlette's signed cookie (base64 JSON, then signatures)."""
    payload = cookie.split(".")[0]
    return str(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))["sid"])


def _logged_in(client: TestClient) -> bool:
    return client.get("/admin/users", follow_redirects=False).status_code == 200


def _replay(client: TestClient, cookie: str) -> None:
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)


def test_the_cookie_holds_a_random_id_stored_only_as_its_hash(
    client: TestClient, db: Session
) -> None:
    make_user(db, "ada", "admin")
    login(client, "ada")
    sid = _sid(client.cookies[COOKIE])
    assert len(sid) >= 40
    rows = fresh(db).scalars(select(UserSession)).all()
    assert [r.id_hash for r in rows] == [secret_hash(sid)]
    assert rows[0].expires_at - rows[0].created_at == timedelta(
        seconds=settings.get_settings().session_max_age_s
    )


def test_a_cookie_replayed_after_logout_is_refused(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    csrf = login(client, "ada")
    cookie = client.cookies[COOKIE]
    assert _logged_in(client)
    client.post("/logout", data={"csrf_token": csrf})
    _replay(client, cookie)
    resp = client.get("/admin/users", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    assert fresh(db).scalars(select(UserSession)).all() == []


def test_a_password_change_ends_every_session_of_that_user_only(app, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(db, "ada", "admin")
    make_user(db, "bob", "admin")
    with TestClient(app) as laptop, TestClient(app) as phone, TestClient(app) as other:
        login(laptop, "ada")
        login(phone, "ada")
        login(other, "bob")
        assert _logged_in(laptop) and _logged_in(phone) and _logged_in(other)
        ada = UserRepository(fresh(db)).get_by_username("ada")
        assert ada is not None
        service.set_password(db, ada.id, "a-new-password")
        db.commit()
        assert not _logged_in(laptop) and not _logged_in(phone)
        assert _logged_in(other)
        login(laptop, "ada", "a-new-password")
        assert _logged_in(laptop)


def test_deactivation_ends_the_session_at_once(app, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(db, "ada", "admin")
    make_user(db, "lee", "labeler")
    with TestClient(app) as admin, TestClient(app) as labeler:
        csrf = login(admin, "ada")
        login(labeler, "lee")
        cookie = labeler.cookies[COOKIE]
        assert labeler.get("/labeler", follow_redirects=False).status_code == 200
        lee = UserRepository(fresh(db)).get_by_username("lee")
        assert lee is not None
        resp = admin.post(
            f"/admin/users/{lee.id}/active", data={"active": "false", "csrf_token": csrf}
        )
        assert resp.status_code == 200
        _replay(labeler, cookie)
        assert labeler.get("/labeler", follow_redirects=False).status_code == 303
        # Reactivated, the old cookie stays dead: a new login is needed.
        service.set_active(fresh(db), lee.id, True)
        db.commit()
        _replay(labeler, cookie)
        assert labeler.get("/labeler", follow_redirects=False).status_code == 303


def test_idle_and_absolute_timeouts_end_a_session(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    idle = settings.get_settings().session_idle_timeout_s
    for column in ("last_seen_at", "expires_at"):
        login(client, "ada")
        assert _logged_in(client)
        when = utcnow() - timedelta(seconds=idle + 1) if column == "last_seen_at" else utcnow()
        fresh(db).execute(update(UserSession).values({column: when}))
        db.commit()
        assert not _logged_in(client), column
        client.cookies.clear()


def test_last_seen_is_written_at_most_once_a_minute(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    login(client, "ada")
    writes: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.upper().startswith("UPDATE USER_SESSIONS") and "WHERE" in statement.upper():
            writes.append(statement)

    event.listen(database.get_engine(), "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert _logged_in(client)
        assert writes == []
        old = utcnow() - timedelta(minutes=2)
        fresh(db).execute(update(UserSession).values(last_seen_at=old))
        db.commit()
        assert _logged_in(client) and _logged_in(client)
        assert len(writes) == 1
    finally:
        event.remove(database.get_engine(), "before_cursor_execute", count)
    assert fresh(db).scalar(select(UserSession.last_seen_at)) > old  # type: ignore[operator]


@pytest.fixture
def secure_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    settings.get_settings.cache_clear()


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({}, False),
        ({"CRITIQUELAB_PUBLIC_URL": "https://critiquelab.example.org"}, True),
        ({"CRITIQUELAB_PUBLIC_URL": "http://localhost:8000"}, False),
        ({"CRITIQUELAB_ENVIRONMENT": "production"}, True),
        ({"CRITIQUELAB_ENVIRONMENT": "production", "CRITIQUELAB_SECURE_COOKIES": "false"}, False),
    ],
)
def test_the_cookie_is_secure_in_production_or_behind_https(
    secure_settings: pytest.MonkeyPatch, env: dict[str, str], secure: bool
) -> None:
    for name, value in env.items():
        secure_settings.setenv(name, value)
    settings.get_settings.cache_clear()
    assert settings.get_settings().cookies_secure is secure


def test_an_https_public_url_makes_the_login_cookie_secure_and_sends_hsts(
    secure_settings: pytest.MonkeyPatch, db: Session
) -> None:
    secure_settings.setenv("CRITIQUELAB_PUBLIC_URL", "https://critiquelab.example.org")
    settings.get_settings.cache_clear()
    make_user(db, "ada", "admin")
    from app.main import create_app

    with TestClient(create_app(), base_url="https://testserver") as client:
        login(client, "ada")
        page = client.get("/admin/users")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=")
    with TestClient(create_app(), base_url="https://testserver") as client:
        page = client.get("/login")
        cookie = next(h for h in page.headers.get_list("set-cookie") if h.startswith(COOKIE))
        assert "secure" in cookie.lower() and "httponly" in cookie.lower()
