"""Gold checks: ordinary tasks of the experiment flagged as checks, handed out at the
configured rate, indistinguishable on the page and in the API; the quality page shows the
known flaws each labeler found, median times and outliers."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ExperimentLabeler, Task
from app.models.studies import CheckTask, ExperimentBriefing
from app.studies import quality
from tests.support.db import fresh
from tests.support.experiments import user_id
from tests.support.studies import FLAW, INSTRUCTIONS, study_world
from tests.support.web import login, make_user


def _submit(client: TestClient, token: str, task_id: int, critiques: list[str]) -> None:
    body = {
        "rating": 5,
        "confirm_no_critiques": not critiques,
        "critiques": [{"text": t, "severity": 3, "category": "accuracy"} for t in critiques],
    }
    resp = client.post(
        f"/api/v1/tasks/{task_id}/submit", json=body, headers={"X-CSRF-Token": token}
    )
    assert resp.status_code == 200, resp.text


def _next(client: TestClient, token: str) -> int:
    got = client.post("/api/v1/tasks/next", headers={"X-CSRF-Token": token}).json()
    assert got["task_id"] is not None, got
    return int(got["task_id"])


def _shape(client: TestClient, task_id: int) -> tuple[str, dict[str, object]]:
    """The task's page and JSON with its own content (ids, texts) replaced by placeholders."""
    data = client.get(f"/api/v1/tasks/{task_id}").json()
    html = client.get(f"/tasks/{task_id}").text
    # The session's CSRF token first: its random letters can contain a short title ("P4").
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    html = html.replace(token.group(1), "CSRF")
    for key in ("passage", "answer", "question", "passage_title"):
        html = html.replace(str(data[key]), key.upper())
    # The progress line counts the labeler's done tasks, which differ from task to task.
    html = re.sub(r'(id="task-progress">[^<]*?)\d+ done', r"\1N done", html)
    # The task's id where the page names it (a bare number could be a rating's value).
    html = re.sub(rf'(/tasks/|data-task-id="){task_id}\b', r"\1ID", html)
    shape = {k: type(v).__name__ for k, v in data.items()}
    shape["assistance"] = data["assistance"]
    shape["critiques"] = data["critiques"]
    shape["status"] = data["status"]
    return html, shape


def test_a_gold_task_looks_like_any_other_and_its_flaws_are_scored(
    client: TestClient, db: Session
) -> None:
    w = study_world(db, check_rate=0)
    make_user(db, "careful", "labeler")
    db.add(ExperimentLabeler(experiment_id=w.exp_id, user_id=user_id(db, "careful")))
    db.commit()
    token = login(client, "careful")
    # Ordinary tasks until one without model critiques is open (as checks are), past the first.
    _submit(client, token, _next(client, token), [])
    while True:
        normal = _next(client, token)
        if fresh(db).scalar(select(Task.assistance_set_id).where(Task.id == normal)) is None:
            break
        _submit(client, token, normal, [])
    normal_shape = _shape(client, normal)
    _submit(client, token, normal, [])
    # Checks at 100%: the next task is the gold one.
    briefing = fresh(db).get(ExperimentBriefing, w.exp_id)
    assert briefing is not None and briefing.instructions == INSTRUCTIONS
    briefing.check_rate_percent = 100
    db.commit()
    gold = _next(client, token)
    assert fresh(db).get(CheckTask, gold) is not None
    assert db.scalar(select(Task.answer_id).where(Task.id == gold)) == w.gold_answer_id
    gold_shape = _shape(client, gold)
    assert gold_shape[1] == normal_shape[1]
    assert gold_shape[0] == normal_shape[0]
    _submit(
        client, token, gold, ["The keeper left says the answer, but the passage says he stayed."]
    )
    # The only check's passage is seen now: ordinary tasks follow, never the same check.
    after = _next(client, token)
    assert fresh(db).get(CheckTask, after) is None

    (row,) = quality.by_labeler(db, w.exp_id)
    assert (row.labeler, row.checks, row.flaws_found, row.flaws_total) == ("careful", 1, 1, 1)
    assert row.tasks >= 3 and "all ratings 5" in row.flags and row.median_s is not None


def test_flaws_found_is_a_text_screen_of_the_intended_critiques() -> None:
    assert (
        quality.found([FLAW], ["the passage says he stayed, the answer says the keeper left"]) == 1
    )
    assert quality.found([FLAW], ["The grammar is poor."]) == 0
    assert quality.found([FLAW, "It misses the storm."], []) == 0


def test_the_quality_page_flags_a_labeler_who_is_too_fast(client: TestClient, db: Session) -> None:
    w = study_world(db, passages=8)
    for name in ("slow", "quick"):
        make_user(db, name, "labeler")
        db.add(ExperimentLabeler(experiment_id=w.exp_id, user_id=user_id(db, name)))
    db.commit()
    for name, seconds in (("slow", 120.0), ("quick", 5.0)):
        client.cookies.clear()
        token = login(client, name)
        for rating in (3, 4, 5):
            task_id = _next(client, token)
            client.post(
                f"/tasks/{task_id}/activity",
                data={"seconds": "30"},
                headers={"X-CSRF-Token": token},
            )
            task = fresh(db).get(Task, task_id)
            assert task is not None
            task.active_time_s = seconds
            db.commit()
            resp = client.post(
                f"/api/v1/tasks/{task_id}/submit",
                json={"rating": rating, "confirm_no_critiques": True},
                headers={"X-CSRF-Token": token},
            )
            assert resp.status_code == 200
    rows = {r.labeler: r for r in quality.by_labeler(fresh(db), w.exp_id)}
    assert rows["quick"].flags == ["too fast"] and rows["slow"].flags == []
    client.cookies.clear()
    make_user(db, "boss", "admin")
    login(client, "boss")
    page = client.get(f"/admin/experiments/{w.exp_id}/quality")
    assert page.status_code == 200 and "too fast" in page.text and "2.0 min" in page.text
