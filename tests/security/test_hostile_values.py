"""Hostile values in every parameter of every route: never a 5xx (issue 20, item 5).

The routes come from the app's route table, so a route added tomorrow is covered without
editing this file. Each hostile class goes into one slot at a time (a path parameter, a
query parameter, a form field, a top-level JSON field or its list items) while the other
slots hold ordinary values; afterwards every page still renders. PostgreSQL only: it is
where integer overflow and NUL bytes fail (SQLite stores them), and it keeps CI short.
"""

import enum
import json
import types
import typing
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.experiments import assignment
from app.labeling import service as labeling
from app.labeling.schemas import CritiqueIn
from app.models import Experiment, IntendedCritiqueReview, User, WritingTask
from app.users.service import api_token_for, create_user
from tests.support.experiments import corpus, labelers, launched, store_fake_assistance, user_id
from tests.support.writing import labeled_misleading, written

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

LONG = "x" * 100_000
# Values as they travel in a URL or a form (strings) and in JSON (typed).
TEXT_HOSTILE = ["a\x00b", "2147483648", "9223372036854775808", "-1", "nan", "inf", "1e308", LONG]
# httpx refuses URLs over 64 KiB (as real servers do far sooner).
URL_HOSTILE = [*TEXT_HOSTILE[:-1], "x" * 20_000]
JSON_HOSTILE: list[Any] = [
    "a\x00b",
    "\ud800",
    2**31,
    2**63,
    -1,
    float("nan"),
    float("inf"),
    1e308,
    LONG,
]


def _routes(app: Any) -> Iterator[tuple[str, str, APIRoute]]:
    def walk(routes: Any) -> Iterator[tuple[str, set[str], Any]]:
        for r in routes:
            if isinstance(r, APIRoute):
                yield r.path, r.methods, r
            elif hasattr(r, "effective_route_contexts"):  # FastAPI's included routers
                for c in r.effective_route_contexts():
                    if isinstance(c.original_route, APIRoute):
                        yield c.path, c.methods, c.original_route

    for path, methods, route in walk(app.routes):
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            yield method, path, route


def _params(dependant: Any, kind: str) -> list[Any]:
    found = list(getattr(dependant, kind))
    for sub in dependant.dependencies:
        found += _params(sub, kind)
    return found


def _ordinary(annotation: Any) -> Any:
    """An ordinary JSON value for a type."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _ordinary(args[0])
    if origin in (typing.Union, types.UnionType):
        return _ordinary(next(a for a in args if a is not type(None)))
    if origin is list:
        return [_ordinary(args[0] if args else str)]
    if origin is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return {n: _ordinary(f.annotation) for n, f in annotation.model_fields.items()}
        if issubclass(annotation, enum.Enum):
            return next(iter(annotation)).value
        if annotation is bool:
            return True
        if annotation is int:
            return 1
        if annotation is float:
            return 1.0
    return "x"


def _form_value(annotation: Any) -> Any:
    value = _ordinary(annotation)
    if isinstance(value, list):
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in value]
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    """A writing task, a review, an open labeling task with a critique, as admin sees them."""
    written(db)
    labeled_misleading(db, "hostile", n_labelers=2)
    store_fake_assistance(db, corpus(db, passages=1))
    (name,) = labelers(db, 1, prefix="open")
    launched(db, [name], sources=("model",))
    lab = user_id(db, name)
    got = assignment.next_task(db, lab)
    assert got.task_id is not None
    critique = labeling.add_critique(
        db, lab, got.task_id, CritiqueIn(text="Ordinary.", severity=2, category="accuracy")
    )
    create_user(db, "boss", "password-123", "admin")
    db.commit()
    tokens = {n: api_token_for(db, n) for n in ("boss", name, "writer0")}
    return {
        "ids": {
            "task_id": got.task_id,
            "critique_id": critique.id,
            "review_id": db.scalar(select(IntendedCritiqueReview.id)),
            "exp_id": db.scalar(select(Experiment.id)),
            "run_id": 1,
            "job_id": 1,
            "user_id": lab,
        },
        "writing_task": db.scalar(select(WritingTask.id)),
        "tokens": tokens,
        "labeler": name,
    }


def _who(world: dict[str, Any], path: str) -> str:
    if "/reviews" in path and "/admin" not in path and "delegate" not in path:
        return "writer0"
    if path.startswith(("/writing", "/api/v1/writing/")):
        return "writer0"
    if path.startswith(("/tasks", "/api/v1/tasks", "/labeler")):
        return world["labeler"]
    return "boss"


def _path(path: str, world: dict[str, Any], override: tuple[str, str] | None = None) -> str:
    ids = dict(world["ids"])
    if path.startswith(("/writing", "/api/v1/writing/")):
        ids["task_id"] = world["writing_task"]
    for name, value in ids.items():
        text = override[1] if override and override[0] == name else str(value)
        path = path.replace("{" + name + "}", quote(text, safe=""))
    return path


def _requests(
    method: str, path: str, route: APIRoute, world: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Each request: one slot hostile, the rest ordinary."""
    names = [p.alias for p in _params(route.dependant, "path_params")]
    queries = {p.alias: p for p in _params(route.dependant, "query_params")}
    forms = {
        p.alias: p
        for p in _params(route.dependant, "body_params")
        if type(p.field_info).__name__ in ("Form", "File")
    }
    body_model = route.body_field.field_info.annotation if route.body_field else None
    json_body = None if forms or body_model is None else _ordinary(body_model)
    form = {k: _form_value(p.field_info.annotation) for k, p in forms.items() if k != "file"}
    files = {"file": ("x.jsonl", b"{}\n")} if "file" in forms else None
    base = {"method": method, "url": _path(path, world), "data": form or None, "files": files}
    if json_body is not None:
        base["json"] = json_body
    for name in names:
        for value in URL_HOSTILE:
            yield {**base, "url": _path(path, world, (name, value))}
    for name in queries:
        for value in URL_HOSTILE:
            yield {**base, "url": base["url"] + f"?{name}={quote(value)}"}
        yield {**base, "url": base["url"] + f"?{name}=1&{name}=1"}
    for name in form:
        for value in TEXT_HOSTILE:
            yield {**base, "data": {**form, name: value}}
        yield {**base, "data": {**form, name: [form[name], form[name]]}}
    if isinstance(json_body, dict):
        for name, ordinary in json_body.items():
            for value in JSON_HOSTILE:
                hostile = [value] if isinstance(ordinary, list) else value
                yield {**base, "json": {**json_body, name: hostile}}
            if isinstance(ordinary, list):
                yield {**base, "json": {**json_body, name: ordinary * 2}}


def test_no_hostile_value_gets_a_server_error(app: Any, world: dict[str, Any], db: Session) -> None:
    # A 500 comes back as a response to count, not as an exception that stops the walk.
    client = TestClient(app, raise_server_exceptions=False)
    routes = list(_routes(app))
    assert len(routes) > 50
    failures: list[str] = []
    sent = 0
    pages = [(m, p) for m, p, r in routes if m == "GET" and "{" in p]
    for method, path, route in routes:
        if path in ("/logout",):
            continue  # ends the session the test rides on; has no parameters anyway
        headers = {"Authorization": f"Bearer {world['tokens'][_who(world, path)]}"}
        for req in _requests(method, path, route, world):
            body = req.pop("json", None)
            content = None
            if body is not None:
                content = json.dumps(body).encode()  # NaN and Infinity as Python writes them
                req["headers"] = {**headers, "Content-Type": "application/json"}
            else:
                req["headers"] = headers
            resp = client.request(content=content, **req)
            sent += 1
            if resp.status_code >= 500:
                failures.append(f"{method} {path} {str(req)[:160]} -> {resp.status_code}")
    # The same objects still work for ordinary requests afterwards (no stored poison).
    for method, path in pages:
        headers = {"Authorization": f"Bearer {world['tokens'][_who(world, path)]}"}
        resp = client.request(method, _path(path, world), headers=headers)
        if resp.status_code >= 500:
            failures.append(f"afterwards {method} {path} -> {resp.status_code}")
    assert sent > 1000
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} of {sent})"
    assert db.scalar(select(User.id).where(User.username == "boss")) is not None
