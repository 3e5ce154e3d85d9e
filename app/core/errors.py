"""One error format: {"error": {"code", "message", "field"?}} for the API, a page or a toast for HTML."""

from collections.abc import Callable

from pydantic import ValidationError


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @classmethod
    def from_validation(cls, exc: ValidationError) -> "AppError":
        """A form's first problem, named by its field (e.g. intended_critiques.0.text)."""
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        message = str(err["msg"]).removeprefix("Value error, ")
        return cls(f"{field}: {message}" if field else message, field=field)


def form_error(action: Callable[[], object]) -> str | None:
    """Run a page form's action; a 400 becomes the message shown beside the form, any
    other error propagates (and becomes the error page or toast)."""
    try:
        action()
    except AppError as exc:
        if exc.status_code != 400:
            raise
        return exc.message
    return None


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Invalid(AppError):
    """A value refused at the edge (see app/core/validation.py): the same 422 as a schema's."""

    status_code = 422
    code = "validation_error"


class Unauthenticated(AppError):
    status_code = 401
    code = "unauthenticated"
