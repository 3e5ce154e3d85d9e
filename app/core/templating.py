"""Jinja2 templates (with block fragments for htmx) and the globals every page needs."""

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from jinja2_fragments.fastapi import Jinja2Blocks

from app.core.csrf import ensure_csrf_token
from app.core.settings import PROJECT_ROOT, get_settings

templates = Jinja2Blocks(directory=str(PROJECT_ROOT / "templates"))


def _csrf_token(request: Request) -> str:
    return ensure_csrf_token(request)


def _current_user(request: Request) -> Any:
    return getattr(request.state, "user", None)


templates.env.globals["csrf_token"] = _csrf_token
templates.env.globals["current_user"] = _current_user
templates.env.globals["severity_labels"] = lambda: get_settings().severity_labels


def field_status(request: Request, message: str = "") -> Response:
    """The note beside an autosaved field: "saved", or what is wrong (nothing was saved)."""
    return templates.TemplateResponse(
        request, "_partials/field_status.html", {"message": message, "saved": not message}
    )
