"""After login, `next` only ever leads to a path on this site (issue 20, item 1)."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.users.next_url import safe_next
from tests.support.web import csrf_from, make_user

# Each of these is read by some browser as a URL on another host.
OFF_SITE = [
    "//evil.example/phish",
    "/\\evil.example/phish",
    "/%5Cevil.example/phish",
    "/%5cevil.example/phish",
    "/%2F%2Fevil.example/phish",
    "/%2f/evil.example",
    "/%252F%252Fevil.example",  # decoded twice
    "/%255Cevil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example/phish",
    "\t//evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    " //evil.example",
    "/\u2028/evil.example",
    "/%E2%80%A8/evil.example",
    "/\x00/evil.example",
    "/" + "a" * 5000,
]

ON_SITE = ["/admin", "/tasks/3", "/admin/experiments/2?tab=progress", "/reviews/1#top"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_an_off_site_next_is_refused(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ON_SITE)
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert safe_next(target) == target


def _log_in(client: TestClient, next_url: str) -> str:
    page = client.get("/login", params={"next": next_url})
    resp = client.post(
        "/login",
        data={
            "username": "ada",
            "password": "password-123",
            "csrf_token": csrf_from(page.text),
            "next": next_url,
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    client.cookies.clear()
    return resp.headers["location"]


def test_login_goes_home_instead_of_off_site(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    for target in OFF_SITE[:8] + ["\t//evil.example", "/%09/evil.example"]:
        assert _log_in(client, target) == "/admin", target
    assert _log_in(client, "/admin/users") == "/admin/users"
