"""Security headers (issue 14): every response carries a Content-Security-Policy that allows
only this site's scripts and styles, nosniff, a Referrer-Policy and no framing; HSTS only
when cookies are Secure. Templates hold no inline script or event handler, so the policy
costs nothing; in Chromium an inline script is refused and shows up as a console error
(which tests/test_pages_browser.py asserts never happens on any page)."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.settings import PROJECT_ROOT
from tests.support.browser import ConsoleErrors, needs_chromium
from tests.support.live_server import live_app
from tests.support.web import login, make_user

TEMPLATES = PROJECT_ROOT / "templates"
# A standalone report written to disk by `critiquelab analyze`, never served by the app.
NOT_SERVED = {TEMPLATES / "analysis" / "report_file.html"}


def _assert_headers(headers: object, hsts: bool = False) -> None:
    h = dict(headers)  # type: ignore[call-overload]
    csp = h["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in directives["style-src-elem"] + directives["script-src"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "same-origin"
    assert ("strict-transport-security" in h) is hsts


def test_every_kind_of_response_carries_the_headers(client: TestClient, db: Session) -> None:
    make_user(db, "ada", "admin")
    _assert_headers(client.get("/login").headers)
    _assert_headers(client.get("/static/app.css").headers)
    _assert_headers(client.get("/api/v1/users").headers)  # a JSON 401
    login(client, "ada")
    for path in ("/admin", "/admin/users", "/admin/data", "/no-such-page"):
        resp = client.get(path)
        assert resp.headers["content-type"].startswith("text/html")
        _assert_headers(resp.headers)
    fragment = client.get("/admin/jobs/status", headers={"HX-Request": "true"})
    _assert_headers(fragment.headers)


def _template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*.html") if p not in NOT_SERVED)


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_hold_no_inline_script_or_handler(path: Path) -> None:
    html = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "hx-on" not in html and "javascript:" not in html.lower()
    assert not re.search(r"<style", html), "inline <style>"
    assert not re.search(r"\sstyle\s*=", html), "style attribute"


@needs_chromium
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_chromium_refuses_an_injected_inline_script_and_says_so(browser, database_url: str) -> None:  # type: ignore[no-untyped-def]
    with live_app() as base:
        page = browser.new_page()
        errors = ConsoleErrors(page)
        response = page.goto(base + "/login")
        _assert_headers(response.headers)
        assert errors.take() == []
        # What an XSS would try: inline script, and an inline handler.
        page.evaluate(
            """() => {
                const s = document.createElement('script');
                s.textContent = 'window.__ran = true';
                document.body.appendChild(s);
                document.body.insertAdjacentHTML('beforeend', '<img src="/x" onerror="window.__ran2 = true">');
            }"""
        )
        page.wait_for_timeout(300)
        assert page.evaluate("[window.__ran === true, window.__ran2 === true]") == [False, False]
        found = errors.take()
        assert any("Content Security Policy" in e for e in found), found
        page.close()
