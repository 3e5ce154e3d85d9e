"""API tokens (issue 20, item 7): random, stored as a hash, named, expiring, with a last-used
time written at most once a minute; listed and revoked one by one from the CLI and the admin
page; deactivation and a password change revoke all of a user's tokens."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.core import database
from app.core.security import secret_hash
from app.models import ApiToken
from app.models.base import utcnow
from app.users import service
from app.users.repository import UserRepository
from tests.support.db import fresh
from tests.support.web import login, make_user

runner = CliRunner()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _works(client: TestClient, token: str) -> bool:
    return client.get("/api/v1/users", headers=_bearer(token)).status_code == 200


def test_the_cli_makes_lists_and_revokes_named_expiring_tokens(
    client: TestClient, db: Session
) -> None:
    make_user(db, "ada", "admin")
    made = runner.invoke(cli, ["users", "token", "ada", "--name", "ci", "--expires-days", "5"])
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    assert token.startswith("clt_") and len(token) > 40
    plain = runner.invoke(cli, ["users", "token", "ada"])  # the old contract still holds
    assert plain.exit_code == 0 and plain.output.strip() != token
    assert _works(client, token) and _works(client, plain.output.strip())

    listed = runner.invoke(cli, ["users", "tokens", "ada"])
    rows = [__import__("json").loads(line) for line in listed.output.splitlines()]
    assert [(r["name"], r["state"]) for r in rows] == [("cli", "active"), ("ci", "active")]
    ci = rows[1]
    assert ci["prefix"] == token[:10] and token not in listed.output
    days = (utcnow() - timedelta(days=5)).isoformat()
    assert ci["created_at"] > days and ci["last_used_at"] is not None

    revoked = runner.invoke(cli, ["users", "revoke-token", str(ci["id"])])
    assert revoked.exit_code == 0
    resp = client.get("/api/v1/users", headers=_bearer(token))
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthenticated"
    assert _works(client, plain.output.strip())  # only that one token
    # A service's error ends the command with its message (the root command handles it).
    missing = runner.invoke(cli, ["users", "revoke-token", "999"])
    assert missing.exit_code == 1 and "error: no API token with id 999" in missing.output
    nobody = runner.invoke(cli, ["users", "token", "nobody"])
    assert nobody.exit_code == 1 and "error: no user named 'nobody'" in nobody.output


def test_tokens_are_stored_only_as_a_hash(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    token = service.api_token_for(db, "ada", "mine")
    row = fresh(db).scalars(select(ApiToken)).one()
    assert row.token_hash == secret_hash(token) and token not in str(row.__dict__)
    assert row.expires_at - row.created_at == timedelta(days=90)


def test_expired_and_forged_tokens_are_refused(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    token = service.api_token_for(db, "ada")
    assert _works(client, token)
    assert not _works(client, token + "x") and not _works(client, token[:-1])
    fresh(db).execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert not _works(client, token)


def test_last_used_is_written_at_most_once_a_minute(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    token = service.api_token_for(db, "ada")
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "api_tokens" in statement:
            statements.append(statement.split()[0].upper())

    event.listen(database.get_engine(), "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert _works(client, token)
    finally:
        event.remove(database.get_engine(), "before_cursor_execute", count)
    # One lookup per request (the token joined to its user); one write, on first use.
    assert statements == ["SELECT", "UPDATE", "SELECT", "SELECT", "SELECT", "SELECT"]
    assert fresh(db).scalar(select(ApiToken.last_used_at)) is not None


def test_deactivation_and_a_password_change_revoke_every_token(
    client: TestClient, db: Session
) -> None:
    make_user(db, "ada", "admin")
    make_user(db, "lee", "admin")
    ada = [service.api_token_for(db, "ada", f"t{i}") for i in range(2)]
    lee = service.api_token_for(db, "lee")
    user = UserRepository(fresh(db)).get_by_username("ada")
    assert user is not None
    service.set_password(db, user.id, "another-password")
    db.commit()
    assert not any(_works(client, t) for t in ada) and _works(client, lee)

    fresh_token = service.api_token_for(db, "ada")
    assert _works(client, fresh_token)
    service.set_active(db, user.id, False)
    db.commit()
    assert not _works(client, fresh_token)
    service.set_active(db, user.id, True)
    db.commit()
    assert not _works(client, fresh_token)  # reactivation brings no token back


def test_the_admin_page_lists_and_revokes_tokens(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    make_user(db, "lee", "labeler")
    token = service.api_token_for(db, "lee", "labeling script")
    csrf = login(client, "ada")
    page = client.get("/admin/users").text
    assert "labeling script" in page and token[:10] in page and token not in page
    token_id = fresh(db).scalar(select(ApiToken.id))
    resp = client.post(
        f"/admin/tokens/{token_id}/revoke",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert resp.status_code == 200 and "revoked" in resp.text
    assert client.post("/api/v1/tasks/next", headers=_bearer(token)).status_code == 401
    assert client.post("/admin/tokens/999/revoke", data={"csrf_token": csrf}).status_code == 404


def test_the_admin_sets_a_password_on_the_users_page(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    make_user(db, "lee", "labeler")
    token = service.api_token_for(db, "lee")
    csrf = login(client, "ada")
    lee = UserRepository(fresh(db)).get_by_username("lee")
    assert lee is not None
    short = client.post(
        f"/admin/users/{lee.id}/password",
        data={"password": "short", "password_again": "short", "csrf_token": csrf},
    )
    assert short.status_code == 400 and "password" in short.text
    assert _works_as_labeler(client, token)
    differ = client.post(
        f"/admin/users/{lee.id}/password",
        data={
            "password": "brand-new-password",
            "password_again": "brand-new-passw0rd",
            "csrf_token": csrf,
        },
    )
    assert differ.status_code == 400 and "differ" in differ.text
    ok = client.post(
        f"/admin/users/{lee.id}/password",
        data={
            "password": "brand-new-password",
            "password_again": "brand-new-password",
            "csrf_token": csrf,
        },
    )
    assert ok.status_code == 200
    assert not _works_as_labeler(client, token)
    assert service.authenticate(fresh(db), "lee", "brand-new-password") is not None


def _works_as_labeler(client: TestClient, token: str) -> bool:
    return client.post("/api/v1/tasks/next", headers=_bearer(token)).status_code == 200
