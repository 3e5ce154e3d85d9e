"""Errors as responses: the JSON shape {"error": {"code", "message", "field"?}} for the API,
the error page or an htmx toast for HTML (beside the templates it renders)."""

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import AppError
from app.core.templating import templates

logger = logging.getLogger(__name__)


def _wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    return "application/json" in request.headers.get("accept", "") and "text/html" not in (
        request.headers.get("accept", "")
    )


def error_response(
    request: Request, status: int, code: str, message: str, field: str | None = None
) -> Response:
    if _wants_json(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if field:
            body["field"] = field
        return JSONResponse({"error": body}, status_code=status)
    if status == 401:
        # A browser that is not logged in goes to the login page.
        return Response(status_code=303, headers={"Location": f"/login?next={request.url.path}"})
    if request.headers.get("HX-Request"):
        # htmx swaps nothing on 4xx by default; the toast is placed by static/app.js.
        return templates.TemplateResponse(
            request, "_partials/toast.html", {"message": message}, status_code=status
        )
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return error_response(request, exc.status_code, exc.code, exc.message, exc.field)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = "too_large" if exc.status_code == 413 else "http_error"
        return error_response(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> Response:
        # The last line of defence behind the services' own checks: two requests racing to
        # create the same thing. A 409 naming the field, never a 500.
        field = _constraint_field(exc)
        what = f" ({field})" if field else ""
        return error_response(
            request, 409, "conflict", f"that conflicts with what is stored{what}", field
        )

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold that slipped past the edge checks.
        return error_response(request, 422, "validation_error", "a value is out of range")

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> Response:
        # The database went away under the request (a restart, a failover, a lock timeout):
        # its transaction is rolled back and the pool reconnects for the next request. A 503
        # the client can retry (with its Idempotency-Key), not an unhandled 500 after which
        # the server drops the connection.
        logger.warning("database unavailable: %s %s: %s", request.method, request.url.path, exc)
        response = error_response(
            request, 503, "database_unavailable", "the database is unavailable; retry shortly"
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        message = f"{loc}: {first.get('msg', 'invalid input')}" if loc else "invalid input"
        return error_response(request, 422, "validation_error", message, loc or None)


def _constraint_field(exc: IntegrityError) -> str | None:
    """The column(s) a violated constraint names: "name" for uq_experiments_name."""
    diag = getattr(exc.orig, "diag", None)  # psycopg
    name, table = getattr(diag, "constraint_name", None), getattr(diag, "table_name", None)
    if name and table:
        return re.sub(rf"^(uq|fk|ck|pk)_{re.escape(table)}_?", "", name) or None
    found = re.search(r"UNIQUE constraint failed: ([\w., ]+)", str(exc.orig))  # SQLite
    if found:
        return ",".join(col.strip().split(".")[-1] for col in found.group(1).split(","))
    return None
