"""The edge: limits and hostile-value checks that every route gets by default.

- Body size: an ASGI middleware refuses a body over its limit with 413 before it is read
  whole: at once when Content-Length declares too much, else as soon as the streamed bytes
  pass the limit. Multipart uploads (imports) have their own, larger limit.
- Hostile values: an app-wide dependency applies app/core/validation.py's checks to every
  path parameter, query parameter, form field and JSON value, so a route added tomorrow is
  covered without anyone remembering to: a path id beyond 32 bits is a 404 (no such row can
  exist), the rest are 422 naming the field.
"""

import json
import re
import typing
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import Invalid, NotFound
from app.core.settings import get_settings
from app.core.validation import INT32_MAX, INT32_MIN, json_problems, text_problem

_INTEGER = re.compile(r"[+-]?\d+")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the limit of {limit} bytes")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").startswith("multipart/form-data")
        limit = settings.max_upload_bytes if multipart else settings.max_request_bytes
        declared = headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > limit
        received = 0

        async def limited() -> Message:
            # Raised from receive, the error reaches the app's handlers (a 413 in the one
            # error format) with the session and templates at hand.
            nonlocal received
            if too_large:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


def _int_typed(annotation: Any) -> bool:
    if annotation is int:
        return True
    return any(_int_typed(arg) for arg in typing.get_args(annotation) if arg is not bool)


def _int_names(dependant: Dependant) -> Iterator[str]:
    for field in (*dependant.query_params, *dependant.body_params):
        if _int_typed(field.field_info.annotation):
            yield field.alias
    for sub in dependant.dependencies:
        yield from _int_names(sub)


def _int_fields(route: APIRoute) -> frozenset[str]:
    """Names of the query and form parameters the route reads as integers (kept on it)."""
    found: frozenset[str] | None = getattr(route, "_int_fields", None)
    if found is None:
        found = frozenset(_int_names(route.dependant))
        route._int_fields = found  # type: ignore[attr-defined]
    return found


def _check(name: str, value: str, int_fields: frozenset[str]) -> None:
    if problem := text_problem(value):
        raise Invalid(f"{name}: {problem}", field=name)
    integer = name in int_fields and _INTEGER.fullmatch(value.strip())
    if integer and not INT32_MIN <= int(value) <= INT32_MAX:
        raise Invalid(f"{name}: must be between {INT32_MIN} and {INT32_MAX}", field=name)


async def refuse_hostile_values(request: Request) -> None:
    for value in request.path_params.values():
        if isinstance(value, str) and (
            text_problem(value)
            or (_INTEGER.fullmatch(value) and not INT32_MIN <= int(value) <= INT32_MAX)
        ):
            raise NotFound(f"nothing at {request.url.path}")
    route = request.scope.get("route")
    int_fields = _int_fields(route) if isinstance(route, APIRoute) else frozenset()
    for name, value in request.query_params.multi_items():
        _check(name, value, int_fields)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        for name, item in (await request.form()).multi_items():
            if not isinstance(item, UploadFile):
                _check(name, item, int_fields)
    elif "json" in content_type:
        body = await request.body()
        if not body:
            return
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return  # not JSON: the route's own parsing answers that
        for field, problem in json_problems(document):
            raise Invalid(f"{field}: {problem}" if field else problem, field=field or None)


def install_edge(app: FastAPI) -> None:
    """Call before including routers: an app dependency is copied into each route then."""
    app.add_middleware(BodyLimitMiddleware)
    app.router.dependencies.append(Depends(refuse_hostile_values))
