"""A double click or a client retry stores one set, over real HTTP with real concurrency
(issue 20, item 3): threads with their own connections against a live uvicorn, on
PostgreSQL (row locks) and SQLite (the single writer)."""

import threading
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.experiments import assignment
from app.models import IdempotencyRecord, LabelerCritique, Rating, Task, TaskStatus
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import (
    corpus,
    labelers,
    launched,
    store_fake_assistance,
    user_id,
)
from tests.support.live_server import live_app

N = 8
SUBMIT = {
    "critiques": [
        {"text": "The answer misses the ending.", "severity": 3, "category": "coverage"},
        {"text": "It names the wrong town.", "severity": 2, "category": "accuracy"},
    ],
    "rating": 3,
}


def _one_task(db: Session) -> tuple[int, dict[str, str]]:
    store_fake_assistance(db, corpus(db, passages=1))
    (name,) = labelers(db, 1)
    launched(db, [name])
    got = assignment.next_task(db, user_id(db, name))
    assert got.task_id is not None
    headers = {"Authorization": f"Bearer {api_token_for(db, name)}"}
    db.commit()
    return got.task_id, headers


def _at_once(base: str, n: int, call: Callable[[httpx.Client, int], httpx.Response]) -> list:
    """n threads, each with its own connection, released together by a barrier."""
    barrier = threading.Barrier(n)
    results: list[httpx.Response | BaseException] = [RuntimeError("not run")] * n

    def worker(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/health")  # connect before the barrier
            barrier.wait()
            try:
                results[i] = call(client, i)
            except BaseException as exc:  # noqa: BLE001 - reported below
                results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results


def test_eight_identical_submits_at_once_store_one_set(db: Session) -> None:
    task_id, auth = _one_task(db)
    with live_app() as base:
        responses = _at_once(
            base,
            N,
            lambda c, i: c.post(f"/api/v1/tasks/{task_id}/submit", json=SUBMIT, headers=auth),
        )
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses]
    assert len({r.json()["submitted_at"] for r in responses}) == 1
    fresh(db)
    stored = db.scalars(select(LabelerCritique).where(LabelerCritique.task_id == task_id)).all()
    assert sorted(c.text for c in stored) == sorted(c["text"] for c in SUBMIT["critiques"])
    assert db.get(Rating, task_id).value == 3  # type: ignore[union-attr]
    assert db.get(Task, task_id).status == TaskStatus.submitted  # type: ignore[union-attr]


def test_eight_critique_adds_at_once_store_exactly_what_was_acknowledged(db: Session) -> None:
    task_id, auth = _one_task(db)
    with live_app() as base:
        responses = _at_once(
            base,
            N,
            lambda c, i: c.post(
                f"/api/v1/tasks/{task_id}/critiques",
                json={"text": f"Flaw number {i}.", "severity": 2, "category": "accuracy"},
                headers=auth,
            ),
        )
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
    acknowledged = {r.json()["id"]: r.json()["text"] for r in responses if r.status_code == 201}
    assert len(acknowledged) == N  # serialised, not refused
    fresh(db)
    stored = db.scalars(select(LabelerCritique).where(LabelerCritique.task_id == task_id)).all()
    assert {c.id: c.text for c in stored} == acknowledged
    assert sorted(c.position for c in stored) == list(range(1, N + 1))


@pytest.mark.parametrize("route", ["critiques", "submit"])
def test_a_retry_with_the_same_idempotency_key_gets_the_first_response(
    db: Session, route: str
) -> None:
    task_id, auth = _one_task(db)
    body = SUBMIT if route == "submit" else SUBMIT["critiques"][0]
    keyed = {**auth, "Idempotency-Key": "7f1c2a3e-retry"}
    url = f"/api/v1/tasks/{task_id}/{route}"
    with live_app() as base:
        responses = _at_once(base, N, lambda c, i: c.post(url, json=body, headers=keyed))
        assert len({(r.status_code, r.text) for r in responses}) == 1, [r.text for r in responses]
        assert responses[0].status_code in (200, 201), responses[0].text
        assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == N - 1
        with httpx.Client(base_url=base) as client:
            later = client.post(url, json=body, headers=keyed)
            assert later.text == responses[0].text
            changed = {**body, "rating": 5} if route == "submit" else {**body, "severity": 4}
            other = client.post(url, json=changed, headers=keyed)
            assert other.status_code == 409, other.text
            assert other.json()["error"]["field"] == "Idempotency-Key"
            if route == "critiques":
                # Another key is another request: a second critique.
                second = client.post(url, json=body, headers={**auth, "Idempotency-Key": "k2"})
                assert second.status_code == 201 and second.json()["id"] != later.json()["id"]
    fresh(db)
    stored = db.scalars(select(LabelerCritique).where(LabelerCritique.task_id == task_id)).all()
    expected = len(SUBMIT["critiques"]) if route == "submit" else 2
    assert len(stored) == expected
    assert len(db.scalars(select(IdempotencyRecord)).all()) == (1 if route == "submit" else 2)
