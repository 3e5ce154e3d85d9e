"""Logging in and out, roles on every route, CSRF on every form, bearer tokens for the API."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.users.repository import UserRepository
from app.users.service import api_token_for, set_active
from tests.support.web import csrf_from, login, make_user


def test_login_sets_a_signed_httponly_samesite_cookie(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": "ada", "password": "password-123", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/admin"
    cookie = [
        h for h in resp.headers.get_list("set-cookie") if h.startswith("critiquelab_session=")
    ][-1]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_wrong_password_is_refused_without_saying_which_part(
    client: TestClient, db: Session
) -> None:
    make_user(db, "ada", "admin")
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": "ada", "password": "nope-nope", "csrf_token": csrf_from(page.text)},
    )
    assert resp.status_code == 401
    assert "Wrong username or password" in resp.text


def test_logout_ends_the_session(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    assert client.get("/admin/users").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    resp = client.get("/admin/users", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


def test_roles_are_enforced_on_pages_and_api(client: TestClient, db: Session) -> None:
    make_user(db, "lee", "labeler")
    login(client, "lee")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/data").status_code == 403
    assert client.get("/research").status_code == 403
    resp = client.get("/api/v1/users")
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"


def test_anonymous_api_calls_get_a_json_401(client: TestClient, database_url: str) -> None:
    resp = client.get("/api/v1/users")
    assert resp.status_code == 401
    assert resp.json() == {"error": {"code": "unauthenticated", "message": "log in first"}}


def test_state_changing_forms_need_the_csrf_token(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    form = {"username": "newbie", "password": "password-123", "role": "labeler"}
    assert client.post("/admin/users", data=form).status_code == 403
    assert client.post("/admin/users", data={**form, "csrf_token": "forged"}).status_code == 403
    assert client.post("/admin/users", data={**form, "csrf_token": token}).status_code == 200
    assert UserRepository(db).get_by_username("newbie") is not None


def test_login_form_itself_needs_csrf(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    resp = client.post("/login", data={"username": "ada", "password": "password-123"})
    assert resp.status_code == 403


def test_bearer_token_authenticates_the_api_without_csrf(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    token = api_token_for(db, "ada")
    headers = {"Authorization": f"Bearer {token}"}
    resp = client.post(
        "/api/v1/users",
        json={"username": "bot", "password": "password-123", "role": "researcher"},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["role"] == "researcher"
    names = [u["username"] for u in client.get("/api/v1/users", headers=headers).json()]
    assert names == ["ada", "bot"]


def test_forged_and_revoked_tokens_are_refused(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    token = api_token_for(db, "ada")
    assert (
        client.get("/api/v1/users", headers={"Authorization": "Bearer x" + token}).status_code
        == 401
    )
    user = UserRepository(db).get_by_username("ada")
    assert user is not None
    set_active(db, user.id, False)
    db.commit()
    resp = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


def test_deactivated_user_cannot_log_in(client: TestClient, db: Session) -> None:
    make_user(db, "gone", "labeler")
    user = UserRepository(db).get_by_username("gone")
    assert user is not None
    set_active(db, user.id, False)
    db.commit()
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": "gone", "password": "password-123", "csrf_token": csrf_from(page.text)},
    )
    assert resp.status_code == 401


def test_login_never_redirects_off_site(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "username": "ada",
            "password": "password-123",
            "csrf_token": csrf_from(page.text),
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert resp.headers["location"] == "/admin"


def test_an_admin_cannot_deactivate_themselves(client: TestClient, db: Session) -> None:
    make_user(db, "boss", "admin")
    login(client, "boss")
    boss = UserRepository(db).get_by_username("boss")
    assert boss is not None
    page = client.get("/admin/users")
    resp = client.post(
        f"/admin/users/{boss.id}/active",
        data={"active": "false", "csrf_token": csrf_from(page.text)},
    )
    assert resp.status_code == 400 and "cannot deactivate yourself" in resp.text
    db.expire_all()
    assert boss.is_active
