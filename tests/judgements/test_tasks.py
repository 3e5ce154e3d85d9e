"""A labeler's judgement task: blinded view, draft, submit all or nothing, clear errors."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.judgements import JudgementCritique, JudgementTask
from tests.judgements.helpers import batch, full_submission, judged_corpus, tasks_of
from tests.support.db import fresh
from tests.support.web import login

HX = {"HX-Request": "true"}


def _one_task(client: TestClient, db: Session) -> tuple[int, dict[str, str]]:
    qids, names = judged_corpus(db, passages=1, n_labelers=1)
    batch(db, qids, names)
    db.commit()
    (task,) = tasks_of(db, names[0])
    csrf = login(client, names[0])
    return task.id, {"X-CSRF-Token": csrf}


def _stored(db: Session, task_id: int) -> tuple[JudgementTask, list[JudgementCritique]]:
    fresh(db)
    task = db.get(JudgementTask, task_id)
    assert task is not None
    cs = db.scalars(select(JudgementCritique).where(JudgementCritique.task_id == task_id))
    return task, list(cs)


def test_the_api_loop_view_draft_submit_once(client: TestClient, db: Session) -> None:
    task_id, h = _one_task(client, db)
    assert client.get("/api/v1/judgements").json()["count"] == 1
    view = client.get(f"/api/v1/judgements/{task_id}").json()
    assert view["status"] == "open" and len(view["answers"]) == 3
    assert sum(len(a["critiques"]) for a in view["answers"]) == 6
    # Blinded: nothing says where an answer came from or what the model thought.
    flat = str(view)
    for leak in ("source", "human", "misleading", "model", "score", "temperature", "0.9"):
        assert leak not in flat, leak

    body = full_submission(db, task_id)
    draft = {**body, "critiques": body["critiques"][:2], "new_critique": None}
    r = client.put(f"/api/v1/judgements/{task_id}/draft", json=draft, headers=h)
    assert r.status_code == 200 and r.json()["saved"]
    again = client.get(f"/api/v1/judgements/{task_id}").json()
    judged = [c for a in again["answers"] for c in a["critiques"] if c["helpful"] is not None]
    assert len(judged) == 2 and again["is_critiqueable"] is True

    key = {**h, "Idempotency-Key": "judge-1"}
    first = client.post(f"/api/v1/judgements/{task_id}/submit", json=body, headers=key)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "submitted"
    replay = client.post(f"/api/v1/judgements/{task_id}/submit", json=body, headers=key)
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    # Without a key, a second submit returns the first unchanged, whatever it carries.
    other = {**body, "is_critiqueable": False, "has_better_critique": False, "new_critique": None}
    twice = client.post(f"/api/v1/judgements/{task_id}/submit", json=other, headers=h)
    assert twice.json() == first.json()

    task, cs = _stored(db, task_id)
    assert task.is_critiqueable is True and task.new_critique_text == "It misses the ending."
    assert task.new_critique_category == "other" and task.new_critique_category_text == "tone"
    assert task.opened_at is not None and task.submitted_at is not None
    verdicts = {v["id"]: v for v in body["critiques"]}
    assert all(c.helpful == verdicts[c.id]["helpful"] for c in cs)
    assert sorted(c.rank for c in cs if c.rank) == [1, 2, 3]
    refused = client.put(f"/api/v1/judgements/{task_id}/draft", json=draft, headers=h)
    assert refused.status_code == 409


def _ranks(body: dict[str, Any], ranks: list[int | None]) -> dict[str, Any]:
    critiques = [
        {**c, "helpful": r is not None, "rank": r}
        for c, r in zip(body["critiques"], ranks, strict=False)
    ]
    return {**body, "critiques": critiques}


@pytest.mark.parametrize(
    ("mutate", "status", "field", "words"),
    [
        (lambda b: _ranks(b, [1, 1, None, None, None, None]), 422, "critiques.1.rank", "twice"),
        (lambda b: _ranks(b, [1, 3, None, None, None, None]), 422, "critiques.1.rank", "gap"),
        (lambda b: _ranks(b, [1, None, 2, None, None, 2]), 422, "critiques.5.rank", "twice"),
        (
            lambda b: {
                **b,
                "critiques": [{**b["critiques"][0], "rank": None}, *b["critiques"][1:]],
            },
            422,
            "critiques.0.rank",
            "rank every helpful",
        ),
        (
            lambda b: {**b, "critiques": [*b["critiques"][:-1], {**b["critiques"][-1], "rank": 4}]},
            422,
            "critiques.5.rank",
            "only helpful",
        ),
        (lambda b: {**b, "critiques": b["critiques"][1:]}, 422, "critiques", "judge every"),
        (lambda b: {**b, "new_critique": None}, 422, "new_critique.text", "write the better"),
        (
            lambda b: {**b, "new_critique": {**b["new_critique"], "text": ""}},
            422,
            "new_critique.text",
            "at least 1 character",
        ),
        (
            lambda b: {**b, "new_critique": {**b["new_critique"], "severity": 5}},
            422,
            "new_critique.severity",
            "less than or equal to 4",
        ),
        (
            lambda b: {**b, "new_critique": {**b["new_critique"], "category_text": None}},
            422,
            "new_critique",
            "category_text",
        ),
        (lambda b: {**b, "has_better_critique": False}, 422, "new_critique", "leave it out"),
        (lambda b: {**b, "is_critiqueable": False}, 422, "has_better_critique", "no better"),
    ],
)
def test_bad_submissions_name_the_field_and_store_nothing(
    client: TestClient, db: Session, mutate: Any, status: int, field: str, words: str
) -> None:
    task_id, h = _one_task(client, db)
    body = mutate(full_submission(db, task_id))
    r = client.post(f"/api/v1/judgements/{task_id}/submit", json=body, headers=h)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["field"] == field and words in error["message"], error
    task, cs = _stored(db, task_id)
    assert task.status == "open" and task.submitted_at is None
    assert all(c.helpful is None and c.rank is None for c in cs)


def test_another_labeler_cannot_see_or_submit_the_task(client: TestClient, db: Session) -> None:
    qids, names = judged_corpus(db, passages=1, n_labelers=2)
    batch(db, qids, names[:1])
    db.commit()
    (task,) = tasks_of(db, names[0])
    csrf = login(client, names[1])
    assert client.get(f"/api/v1/judgements/{task.id}").status_code == 403
    body = full_submission(db, task.id)
    r = client.post(
        f"/api/v1/judgements/{task.id}/submit", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 403
    assert client.get("/judgements/999999").status_code == 404


def _form(db: Session, task_id: int, answers: bool = True) -> dict[str, Any]:
    body = full_submission(db, task_id)
    form: dict[str, Any] = {"critique_id": [str(c["id"]) for c in body["critiques"]]}
    for c in body["critiques"]:
        form[f"helpful_{c['id']}"] = "yes" if c["helpful"] else "no"
        if c["rank"]:
            form[f"rank_{c['id']}"] = str(c["rank"])
    if answers:
        form.update(
            is_critiqueable="yes",
            has_better_critique="yes",
            new_text="The answer misses the ending.",
            new_severity="4",
            new_category="coverage",
            new_category_text="",
        )
    return form


def test_the_page_autosaves_and_submits(client: TestClient, db: Session) -> None:
    task_id, h = _one_task(client, db)
    home = client.get("/labeler")
    assert f"/judgements/{task_id}" in home.text and "Critiques to judge" in home.text
    page = client.get(f"/judgements/{task_id}")
    assert page.status_code == 200 and "Judge the critiques" in page.text
    assert "/static/judgement.js" in page.text and "<script>" not in page.text
    for leak in ("misleading", "human", "source", "score", "0.9"):
        assert leak not in page.text.lower(), leak
    hx = {**HX, **h}
    partial = _form(db, task_id, answers=False)
    saved = client.post(f"/judgements/{task_id}/draft", data=partial, headers=hx)
    assert saved.status_code == 200 and "saved" in saved.text
    reloaded = client.get(f"/judgements/{task_id}").text
    assert reloaded.count('value="yes" checked') == 3  # the three helpful critiques
    refused = client.post(f"/judgements/{task_id}/submit", data=partial, headers=hx)
    assert refused.status_code == 200 and "is_critiqueable" in refused.text
    assert 'role="alert"' in refused.text
    tied = {**_form(db, task_id), **{k: "1" for k in partial if k.startswith("rank_")}}
    refused = client.post(f"/judgements/{task_id}/submit", data=tied, headers=hx)
    assert "given twice" in refused.text
    done = client.post(f"/judgements/{task_id}/submit", data=_form(db, task_id), headers=hx)
    assert done.headers.get("HX-Redirect", "").startswith("/labeler")
    task, cs = _stored(db, task_id)
    assert task.status == "submitted" and task.new_critique_severity == 4
    assert task.new_critique_category == "coverage" and task.new_critique_category_text is None
    assert sorted(c.rank for c in cs if c.rank) == [1, 2, 3]
    assert "Critiques to judge" not in client.get("/labeler").text
    assert "Submitted." in client.get(f"/judgements/{task_id}").text
