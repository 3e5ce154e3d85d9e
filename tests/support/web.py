"""Helpers that act like a browser: log in with the CSRF token, post forms with it."""

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.users.service import create_user

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def make_user(db: Session, username: str, role: str, password: str = "password-123") -> None:
    create_user(db, username, password, role)
    db.commit()


def login(client: TestClient, username: str, password: str = "password-123") -> str:
    """Log in through the form; returns the CSRF token for later posts."""
    page = client.get("/login")
    token = csrf_from(page.text)
    resp = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return token
