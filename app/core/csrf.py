"""CSRF: a per-session token that every state-changing cookie request must echo (a hidden
form field, or the X-CSRF-Token header htmx sends). Bearer-token requests are exempt."""

from fastapi import Request

from app.core.errors import Forbidden
from app.core.security import new_csrf_token, same_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def bearer_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def ensure_csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = new_csrf_token()
        request.session[CSRF_FIELD] = token
    return str(token)


async def csrf_protect(request: Request) -> None:
    """Every state-changing request carried by the session cookie must echo the CSRF token.

    Bearer-token requests are exempt: a browser never attaches them on its own.
    """
    if request.method in SAFE_METHODS or bearer_token(request):
        return
    expected = request.session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not same_token(expected, sent):
        raise Forbidden("missing or invalid CSRF token; reload the page and try again")
