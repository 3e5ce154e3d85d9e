"""schemathesis over the OpenAPI document of /api/v1 (issue 14, "Bad input"), on PostgreSQL,
with a labeler's and an admin's bearer token: valid and invalid requests generated from the
schema for every operation. No answer is a server error (5xx), and every 4xx carries the
app's one JSON error shape, {"error": {"code", "message", "field"?}} (app/core/errors.py).

Seeded, and kept small (25 examples per operation and token) so it fits CI on 2 cores.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.users.service import api_token_for
from tests.support.experiments import corpus, labelers, launched, store_fake_assistance
from tests.support.web import make_user

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def api(app: Any, db: Session, database_url: str) -> Iterator[tuple[Any, dict[str, str]]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("run on PostgreSQL (issue 14)")
    # Something to act on: a launched experiment whose first tasks and ids exist.
    answers = corpus(db, passages=3)
    store_fake_assistance(db, answers)
    names = labelers(db, 2)
    launched(db, names)
    make_user(db, "ada", "admin")
    db.commit()
    tokens = {"labeler": api_token_for(db, names[0]), "admin": api_token_for(db, "ada")}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield schema, tokens


def _operations(schema: Any) -> list[Any]:
    ops = [result.ok() for result in schema.get_all_operations()]
    return [op for op in ops if op.path.startswith("/api/v1/")]


def assert_error_shape(status: int, body: Any, what: str) -> None:
    assert isinstance(body, dict) and set(body) == {"error"}, f"{what}: {status} {body!r}"
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "field"}, f"{what}: {body!r}"
    assert all(isinstance(error[k], str) for k in error), f"{what}: {body!r}"


def _strategy(op: Any) -> st.SearchStrategy[Any]:
    return st.one_of(
        op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)
    )


@pytest.mark.parametrize("role", ["labeler", "admin"])
def test_no_server_errors_and_one_error_shape(api: tuple[Any, dict[str, str]], role: str) -> None:
    schema, tokens = api
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    seen: dict[int, int] = {}
    for op in _operations(schema):

        @seed(14)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_strategy(op))
        def call(case: Any) -> None:
            resp = case.call(headers=headers)
            what = f"{role} {case.method} {case.formatted_path} body={case.body!r:.300}"
            seen[resp.status_code] = seen.get(resp.status_code, 0) + 1
            assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.text[:500]}"
            if 400 <= resp.status_code < 500:
                assert_error_shape(resp.status_code, resp.json(), what)

        call()
    # The run reached the handlers, not only the validation layer.
    assert any(200 <= s < 300 for s in seen) and any(400 <= s < 500 for s in seen), seen


def test_bodies_over_the_limit_get_413_on_every_operation_that_takes_one(
    api: tuple[Any, dict[str, str]], app: Any
) -> None:
    schema, tokens = api
    limit = get_settings().max_request_bytes
    body = b'{"text": "' + b"a" * limit + b'"}'
    checked = 0
    with TestClient(app) as client:
        for op in _operations(schema):
            if op.body is None or not len(op.body):
                continue
            path = op.path
            for param in op.path_parameters:
                path = path.replace("{" + param.name + "}", "1")
            resp = client.request(
                op.method.upper(),
                path,
                content=body,
                headers={
                    "Authorization": f"Bearer {tokens['admin']}",
                    "Content-Type": "application/json",
                },
            )
            what = f"{op.method.upper()} {path}"
            assert resp.status_code == 413, f"{what}: {resp.status_code} {resp.text[:300]}"
            assert_error_shape(413, resp.json(), what)
            assert resp.json()["error"]["code"] == "too_large"
            checked += 1
    assert checked >= 10
