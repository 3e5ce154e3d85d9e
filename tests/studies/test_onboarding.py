"""Onboarding: the instructions and a comprehension check with two attempts; labeling is
refused until it is passed; a second failure screens out with the study's code; the quota
ends the study with the completion code and the platform's address."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.studies import ComprehensionAttempt, ComprehensionQuestion, StudyParticipant
from tests.studies.test_join import visit
from tests.support.studies import COMPLETE_URL, SCREENOUT_URL, study_world
from tests.support.web import csrf_from


def _answer(client: TestClient, db: Session, study_id: int, right: bool) -> None:
    page = client.get(f"/study/{study_id}")
    data = {"csrf_token": csrf_from(page.text)}
    for q in db.scalars(select(ComprehensionQuestion).order_by(ComprehensionQuestion.id)):
        data[f"q{q.id}"] = str(q.correct if right else (q.correct + 1) % len(q.options))
    resp = client.post(f"/study/{study_id}/check", data=data, follow_redirects=False)
    assert resp.status_code == 303, resp.text


def _next(client: TestClient, token: str) -> dict[str, object]:
    resp = client.post("/api/v1/tasks/next", headers={"X-CSRF-Token": token})
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


def test_fail_once_pass_on_the_second_try_label_to_the_quota_then_the_completion_code(
    client: TestClient, db: Session
) -> None:
    w = study_world(db, quota_tasks=3)
    visit(client, w.link)
    page = client.get(f"/study/{w.study_id}")
    token = csrf_from(page.text)
    # The instructions, rendered safely, and the questions.
    assert "<strong>every</strong>" in page.text and "<li>Read the answer</li>" in page.text
    assert "&lt;b&gt;raw&lt;/b&gt;" in page.text and "What do you write?" in page.text
    refused = _next(client, token)
    assert refused["task_id"] is None and "comprehension check" in str(refused["reason"])
    # The labeler home sends a participant to the study page.
    home = client.get("/labeler", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"].startswith(f"/study/{w.study_id}")

    _answer(client, db, w.study_id, right=False)
    page = client.get(f"/study/{w.study_id}")
    assert "Not all answers were right (0 of 2)" in page.text and "1 attempt left" in page.text
    assert _next(client, token)["task_id"] is None
    _answer(client, db, w.study_id, right=True)
    db.rollback()
    attempts = db.scalars(select(ComprehensionAttempt).order_by(ComprehensionAttempt.attempt)).all()
    assert [(a.attempt, a.correct, a.total, a.passed) for a in attempts] == [
        (1, 0, 2, False),
        (2, 2, 2, True),
    ]
    page = client.get(f"/study/{w.study_id}")
    assert "0</span> of 3 tasks done" in page.text

    for _ in range(3):
        got = _next(client, token)
        assert got["task_id"] is not None, got
        resp = client.post(
            f"/api/v1/tasks/{got['task_id']}/submit",
            json={"rating": 5, "confirm_no_critiques": True},
            headers={"X-CSRF-Token": token},
        )
        assert resp.status_code == 200, resp.text
    done = _next(client, token)
    assert done["task_id"] is None and "completed this study" in str(done["reason"])
    page = client.get(f"/study/{w.study_id}")
    assert 'id="completion-code">DONE123<' in page.text
    # The redirect to the platform is the admin's address, checked here, not followed.
    assert (
        re.search(r'data-redirect="([^"]+)"', page.text).group(1).replace("&amp;", "&")
        == COMPLETE_URL
    )  # type: ignore[union-attr]
    db.rollback()
    (participant,) = db.scalars(select(StudyParticipant)).all()
    assert participant.passed_at is not None and participant.completed_at is not None


def test_two_failures_screen_out_with_the_studys_code(client: TestClient, db: Session) -> None:
    w = study_world(db)
    visit(client, w.link)
    token = csrf_from(client.get(f"/study/{w.study_id}").text)
    _answer(client, db, w.study_id, right=False)
    _answer(client, db, w.study_id, right=False)
    page = client.get(f"/study/{w.study_id}")
    assert 'id="screenout-code">OUT456<' in page.text
    assert SCREENOUT_URL.replace("&", "&amp;") in page.text
    refused = _next(client, token)
    assert refused["task_id"] is None and "not passed" in str(refused["reason"])
    # A third attempt is refused: the check is decided.
    data = {"csrf_token": token}
    for q in db.scalars(select(ComprehensionQuestion)):
        data[f"q{q.id}"] = str(q.correct)
    assert client.post(f"/study/{w.study_id}/check", data=data).status_code == 409


def test_an_unanswered_question_is_named_and_counts_no_attempt(
    client: TestClient, db: Session
) -> None:
    w = study_world(db)
    visit(client, w.link)
    token = csrf_from(client.get(f"/study/{w.study_id}").text)
    resp = client.post(f"/study/{w.study_id}/check", data={"csrf_token": token})
    assert resp.status_code == 400 and "answer every question" in resp.text
    db.rollback()
    assert db.scalars(select(ComprehensionAttempt)).all() == []


def test_odd_answers_are_refused_with_the_field_named(client: TestClient, db: Session) -> None:
    w = study_world(db)
    visit(client, w.link)
    token = csrf_from(client.get(f"/study/{w.study_id}").text)
    q = db.scalars(select(ComprehensionQuestion)).first()
    assert q is not None
    for value in ("²", "-1", "x", "9999", "7"):
        resp = client.post(
            f"/study/{w.study_id}/check", data={"csrf_token": token, f"q{q.id}": value}
        )
        assert resp.status_code in (400, 422), (value, resp.status_code)
        assert (
            resp.status_code == 422
            or "pick one of the options" in resp.text
            or "answer every" in resp.text
        )
    db.rollback()
    assert db.scalars(select(ComprehensionAttempt)).all() == []
