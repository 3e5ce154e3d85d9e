"""Limits from settings, with clear 413/422/409 answers (issue 20, items 4 and 5)."""

from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.experiments import assignment
from app.models import LabelerCritique
from app.users.service import api_token_for, create_user
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, launched, store_fake_assistance, user_id
from tests.support.web import login, make_user
from tests.support.writing import written

CRITIQUE = {"text": "Misses the ending.", "severity": 2, "category": "coverage"}


def _task(db: Session) -> tuple[int, dict[str, str]]:
    store_fake_assistance(db, corpus(db, passages=1))
    (name,) = labelers(db, 1)
    launched(db, [name])
    got = assignment.next_task(db, user_id(db, name))
    assert got.task_id is not None
    db.commit()
    return got.task_id, {"Authorization": f"Bearer {api_token_for(db, name)}"}


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: TestClient, db: Session
) -> None:
    task_id, auth = _task(db)
    limit = get_settings().max_request_bytes
    big = b'{"text": "' + b"x" * (limit + 10) + b'", "severity": 2, "category": "accuracy"}'
    declared = client.post(
        f"/api/v1/tasks/{task_id}/critiques",
        content=big,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "too_large"

    chunks_read = 0

    def streamed() -> Iterator[bytes]:  # no Content-Length: the bytes are counted
        nonlocal chunks_read
        for i in range(0, len(big), 64 * 1024):
            chunks_read += 1
            yield big[i : i + 64 * 1024]

    counted = client.post(
        f"/api/v1/tasks/{task_id}/critiques",
        content=streamed(),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert counted.status_code == 413
    make_user(db, "boss", "admin")
    token = login(client, "boss")
    form = client.post(
        "/admin/users",
        data={"username": "x" * (limit + 1), "password": "p", "role": "labeler"},
        headers={"X-CSRF-Token": token},
    )
    assert form.status_code == 413 and "over the limit" in form.text
    assert db.scalar(select(func.count()).select_from(LabelerCritique)) == 0


def test_critiques_per_task_and_characters_are_limited(client: TestClient, db: Session) -> None:
    task_id, auth = _task(db)
    limit = get_settings().max_critiques_per_task
    too_many = client.post(
        f"/api/v1/tasks/{task_id}/submit",
        json={"critiques": [CRITIQUE] * (limit + 1), "rating": 3},
        headers=auth,
    )
    assert too_many.status_code == 422 and "at most" in too_many.text
    long = {**CRITIQUE, "text": "x" * (get_settings().max_critique_chars + 1)}
    resp = client.post(f"/api/v1/tasks/{task_id}/critiques", json=long, headers=auth)
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "text"
    for _ in range(limit):
        ok = client.post(f"/api/v1/tasks/{task_id}/critiques", json=CRITIQUE, headers=auth)
        assert ok.status_code == 201
    one_more = client.post(f"/api/v1/tasks/{task_id}/critiques", json=CRITIQUE, headers=auth)
    assert one_more.status_code == 422 and one_more.json()["error"]["field"] == "critiques"
    fresh(db)
    assert db.scalar(select(func.count()).select_from(LabelerCritique)) == limit


def test_answers_drafts_and_names_are_limited(client: TestClient, db: Session) -> None:
    _, task = written(db)
    create_user(db, "boss", "password-123", "admin")
    db.commit()
    writer = {"Authorization": f"Bearer {api_token_for(db, 'writer0')}"}
    admin = {"Authorization": f"Bearer {api_token_for(db, 'boss')}"}
    draft = {"honest_text": "x" * (get_settings().max_answer_chars + 1)}
    # The writing task is submitted already; a second one is open for the limit to show.
    resp = client.put(f"/api/v1/writing/{task}/draft", json=draft, headers=writer)
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "honest_text"
    names = labelers(db, 2, prefix="n")
    db.commit()
    body = {"name": "n" * 201, "labelers": names, "sources": ["model"]}
    resp = client.post("/api/v1/experiments", json=body, headers=admin)
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "name"


def test_duplicates_are_a_409_naming_the_field_or_harmless(client: TestClient, db: Session) -> None:
    corpus(db, passages=1)
    names = labelers(db, 2)
    create_user(db, "boss", "password-123", "admin")
    db.commit()
    admin = {"Authorization": f"Bearer {api_token_for(db, 'boss')}"}
    first = client.post(
        "/api/v1/experiments", json={"name": "one", "labelers": names}, headers=admin
    )
    second = client.post(
        "/api/v1/experiments", json={"name": "two", "labelers": names}, headers=admin
    )
    assert first.status_code == second.status_code == 201
    renamed = client.put(
        f"/api/v1/experiments/{second.json()['id']}",
        json={"name": "one", "labelers": names},
        headers=admin,
    )
    assert renamed.status_code == 409 and renamed.json()["error"]["field"] == "name"
    twice = client.put(
        f"/api/v1/experiments/{second.json()['id']}",
        json={"name": "two", "labelers": [names[0], names[0], names[1]]},
        headers=admin,
    )
    assert twice.status_code == 200, twice.text
    nul = client.post(
        "/login", data={"username": "a\x00b", "password": "x"}, headers={"X-CSRF-Token": "t"}
    )
    assert nul.status_code in (403, 422)
    huge = client.get("/api/v1/experiments/2147483648/analysis", headers=admin)
    assert huge.status_code == 404
    nan = client.post(
        "/api/v1/experiments",
        content=b'{"name": "x", "labelers": [], "labelers_per_condition": NaN}',
        headers={**admin, "Content-Type": "application/json"},
    )
    assert nan.status_code == 422
