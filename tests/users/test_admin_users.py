from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.users.repository import UserRepository
from tests.support.web import login, make_user


def test_admin_creates_lists_and_deactivates_users(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    resp = client.post(
        "/admin/users",
        data={
            "username": "lee",
            "password": "password-123",
            "role": "labeler",
            "csrf_token": token,
        },
        headers={"HX-Request": "true"},
    )
    assert resp.status_code == 200
    assert "lee" in resp.text and "<html" not in resp.text  # htmx gets only the table fragment
    lee = UserRepository(db).get_by_username("lee")
    assert lee is not None and lee.role == "labeler"

    resp = client.post(
        f"/admin/users/{lee.id}/active", data={"active": "false", "csrf_token": token}
    )
    assert resp.status_code == 200
    db.rollback()  # end the test session's read snapshot
    assert UserRepository(db).get_by_username("lee").is_active is False  # type: ignore[union-attr]
    assert "deactivated" in client.get("/admin/users").text


def test_bad_new_user_gets_a_clear_message_and_nothing_stored(
    client: TestClient, db: Session
) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    resp = client.post(
        "/admin/users",
        data={"username": "x y", "password": "short", "role": "labeler", "csrf_token": token},
    )
    assert resp.status_code == 400
    assert "username" in resp.text
    resp = client.post(
        "/admin/users",
        data={"username": "ada", "password": "password-123", "role": "admin", "csrf_token": token},
    )
    assert resp.status_code == 409 and "already exists" in resp.text
    assert [u.username for u in UserRepository(db).list()] == ["ada"]
