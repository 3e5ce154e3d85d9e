"""Security headers on every response, and the API docs (open in development and test,
admin only in production).

The Content-Security-Policy allows only this site's own scripts and styles: no inline
script, no inline event handler, no eval (htmx runs with allowEval off). Two exceptions,
both narrow: the fixed <style> matplotlib puts in every inline SVG figure (allowed by its
hash), and style *attributes* (those figures carry dozens; a style attribute cannot run
script or read the page). /docs gets its own policy naming Swagger UI's CDN files and its
one inline script by hash.
"""

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import Forbidden, Unauthenticated
from app.core.settings import get_settings
from app.models import Role, User

MATPLOTLIB_SVG_STYLE = "*{stroke-linejoin: round; stroke-linecap: butt}"


def _hash_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"style-src-elem 'self' {_hash_source(MATPLOTLIB_SVG_STYLE)}",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"


def security_headers() -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if get_settings().cookies_secure:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response; a header a route set itself is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _may_read_docs(user: User | None) -> None:
    if get_settings().environment != "production":
        return
    if user is None:
        raise Unauthenticated("log in first")
    if user.role != Role.admin.value:
        raise Forbidden("the API docs are for admins")


def install_security(app: FastAPI, optional_user: Callable[..., User | None]) -> None:
    """The headers middleware and the docs routes. Create the app with docs_url=None,
    redoc_url=None and openapi_url=None: these routes replace FastAPI's open ones.
    `optional_user` is the dependency that finds the request's user (app.users.deps: core
    does not import the users domain)."""
    app.add_middleware(SecurityHeadersMiddleware)
    OptionalUser = Annotated[User | None, Depends(optional_user)]
    # The endpoints read the app from the request, not from this closure: FastAPI caches its
    # endpoints by identity module-wide, and a closure over the app kept every app alive.

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_schema(request: Request, user: OptionalUser) -> JSONResponse:
        _may_read_docs(user)
        return JSONResponse(request.app.openapi())

    @app.get("/docs", include_in_schema=False)
    def api_docs(request: Request, user: OptionalUser) -> HTMLResponse:
        _may_read_docs(user)
        title = f"{request.app.title} API"
        page = get_swagger_ui_html(openapi_url="/openapi.json", title=title)
        html = bytes(page.body).decode()
        scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
        cdn = "https://cdn.jsdelivr.net"
        policy = "; ".join(
            [
                "default-src 'self'",
                f"script-src 'self' {cdn} " + " ".join(_hash_source(s) for s in scripts),
                f"style-src 'self' {cdn}",
                "img-src 'self' data: https://fastapi.tiangolo.com",
                "connect-src 'self'",
                "object-src 'none'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            ]
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})
