"""Login throttling (issue 14): failures per username and per client address are slowed,
then refused with 429 and Retry-After without checking the password; the counters live in
the database (every app process shares them); a successful login resets them; the admin
sees and clears a lock."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import settings
from app.models import LoginThrottle
from app.models.base import utcnow
from app.users import service
from tests.support.db import fresh
from tests.support.web import csrf_from, login, make_user


def _try(client: TestClient, username: str, password: str) -> int:
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    if resp.status_code == 429:
        assert int(resp.headers["retry-after"]) >= 1
        assert "Too many failed logins" in resp.text
    return resp.status_code


@pytest.fixture
def no_slowing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only the hard lock (10 failures): the slowing steps would need the test to wait."""
    monkeypatch.setenv("CRITIQUELAB_LOGIN_SLOW_AFTER", "100")
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()


def test_failures_are_slowed_then_the_right_password_waits_too(
    client: TestClient, db: Session
) -> None:
    make_user(db, "ada", "admin")
    slow_after = settings.get_settings().login_slow_after
    assert [_try(client, "ada", "wrong-one") for _ in range(slow_after)] == [401] * slow_after
    # The 5th failure asks for a one-second pause: even the right password waits.
    assert _try(client, "ada", "password-123") == 429
    row = fresh(db).get(LoginThrottle, "user:ada")
    assert row is not None and row.failures == slow_after and row.blocked_until is not None
    assert timedelta(0) < row.blocked_until - utcnow() <= timedelta(seconds=1)


def test_ten_failures_lock_the_username_and_the_admin_clears_it(
    app, db: Session, no_slowing: None
) -> None:  # type: ignore[no-untyped-def]
    make_user(db, "ada", "admin")
    make_user(db, "lee", "labeler")
    with TestClient(app) as admin, TestClient(app) as attacker:
        csrf = login(admin, "ada")
        codes = [_try(attacker, "lee", f"guess-{i}") for i in range(10)]
        assert codes == [401] * 10
        page = attacker.get("/login")
        resp = attacker.post(
            "/login",
            data={
                "username": "LEE",
                "password": "password-123",
                "csrf_token": csrf_from(page.text),
            },
        )
        assert resp.status_code == 429
        lockout = settings.get_settings().login_lockout_s
        assert lockout - 2 <= int(resp.headers["retry-after"]) <= lockout

        users_page = admin.get("/admin/users").text
        assert "user:lee" in users_page and "locked until" in users_page
        cleared = admin.post(
            "/admin/login-locks/clear",
            data={"key": "user:lee", "csrf_token": csrf},
            headers={"HX-Request": "true"},
        )
        assert cleared.status_code == 200 and "user:lee" not in cleared.text
        admin.post("/admin/login-locks/clear", data={"key": "addr:testclient", "csrf_token": csrf})
        assert _try(attacker, "lee", "password-123") == 303


def test_one_address_trying_many_usernames_is_locked(
    client: TestClient, db: Session, no_slowing: None
) -> None:
    make_user(db, "ada", "admin")
    assert [_try(client, f"user{i}", "password-123") for i in range(10)] == [401] * 10
    assert _try(client, "ada", "password-123") == 429  # a real account, same address
    assert fresh(db).get(LoginThrottle, "addr:testclient") is not None


def test_a_successful_login_resets_the_counters(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    for _ in range(3):
        assert _try(client, "ada", "wrong-one") == 401
    assert fresh(db).get(LoginThrottle, "user:ada").failures == 3  # type: ignore[union-attr]
    assert _try(client, "ada", "password-123") == 303
    assert fresh(db).scalars(select(LoginThrottle)).all() == []


def test_failures_older_than_the_window_start_a_new_count(db: Session) -> None:
    make_user(db, "ada", "admin")
    s = settings.get_settings()
    start = utcnow() - timedelta(hours=1)
    for i in range(s.login_slow_after - 1):
        assert (
            service.log_in(db, "ada", "wrong", "10.0.0.1", start + timedelta(seconds=i)).user
            is None
        )
    later = start + timedelta(seconds=s.login_window_s + 10)
    assert service.log_in(db, "ada", "wrong", "10.0.0.1", later).retry_after_s is None
    row = db.get(LoginThrottle, "user:ada")
    assert row is not None and row.failures == 1 and row.blocked_until is None
