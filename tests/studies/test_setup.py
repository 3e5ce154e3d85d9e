"""The admin's study setup: instructions shown to labelers on the task page (a welcome on
their first task), questions, checks and study links, with errors that name the field."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Answer, AnswerSource, ExperimentLabeler
from app.models.studies import ComprehensionQuestion, ExperimentBriefing, Study
from tests.support.db import fresh
from tests.support.experiments import user_id
from tests.support.studies import study_world
from tests.support.web import csrf_from, login, make_user


def test_the_admin_writes_instructions_and_labelers_see_them_on_the_task_page(
    client: TestClient, db: Session
) -> None:
    w = study_world(db)
    make_user(db, "boss", "admin")
    make_user(db, "lab", "labeler")
    db.add(ExperimentLabeler(experiment_id=w.exp_id, user_id=user_id(db, "lab")))
    db.commit()
    token = login(client, "boss")
    setup = f"/admin/experiments/{w.exp_id}"
    resp = client.post(
        f"{setup}/briefing",
        data={
            "csrf_token": token,
            "instructions": "Be *careful*.\n\n<script>x</script>",
            "check_rate_percent": "0",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = client.get(f"{setup}/study")
    assert "<em>careful</em>" in page.text and "<script>x" not in page.text

    client.cookies.clear()
    token = login(client, "lab")
    task_id = client.post("/api/v1/tasks/next", headers={"X-CSRF-Token": token}).json()["task_id"]
    first = client.get(f"/tasks/{task_id}").text
    assert '<details class="card briefing" id="instructions" open>' in first
    assert "Welcome! Please read the instructions first" in first and "<em>careful</em>" in first
    assert "&lt;script&gt;x&lt;/script&gt;" in first
    client.post(
        f"/api/v1/tasks/{task_id}/submit",
        json={"rating": 4, "confirm_no_critiques": True},
        headers={"X-CSRF-Token": token},
    )
    task_id = client.post("/api/v1/tasks/next", headers={"X-CSRF-Token": token}).json()["task_id"]
    later = client.get(f"/tasks/{task_id}").text
    assert '<details class="card briefing" id="instructions">' in later
    assert "<summary>Instructions</summary>" in later


def test_setup_errors_name_the_field_and_store_nothing(client: TestClient, db: Session) -> None:
    w = study_world(db)
    make_user(db, "boss", "admin")
    token = login(client, "boss")
    setup = f"/admin/experiments/{w.exp_id}"
    before = len(fresh(db).scalars(select(ComprehensionQuestion)).all())
    resp = client.post(
        f"{setup}/comprehension", data={"csrf_token": token, "prompt": "Q?", "options": "only one"}
    )
    assert resp.status_code == 400 and "at least two options" in resp.text
    resp = client.post(
        f"{setup}/comprehension",
        data={"csrf_token": token, "prompt": "Q?", "options": "a\nb", "correct": "3"},
    )
    assert resp.status_code == 400 and "the correct option is 1 to 2" in resp.text
    assert len(fresh(db).scalars(select(ComprehensionQuestion)).all()) == before
    plain = db.scalar(select(Answer.id).where(Answer.source == AnswerSource.model))
    resp = client.post(f"{setup}/checks", data={"csrf_token": token, "answer_id": str(plain)})
    assert resp.status_code == 400 and "intended critiques" in resp.text
    base = {"csrf_token": token, "name": "S", "completion_code": "C", "screenout_code": "O"}
    resp = client.post(
        f"{setup}/studies",
        data={**base, "quota_tasks": "3", "completion_url": "javascript:alert(1)"},
    )
    assert resp.status_code == 400 and "absolute http(s) address" in resp.text
    resp = client.post(f"{setup}/studies", data=base)
    assert resp.status_code == 400 and "number of tasks or a time budget" in resp.text
    assert len(fresh(db).scalars(select(Study)).all()) == 1
    resp = client.post(f"{setup}/briefing", data={"csrf_token": token, "check_rate_percent": "101"})
    assert resp.status_code == 422 and "check_rate_percent" in resp.text
    briefing = fresh(db).get(ExperimentBriefing, w.exp_id)
    assert briefing is not None and briefing.check_rate_percent == 0
    # A good study link is listed with its signed URL.
    resp = client.post(
        f"{setup}/studies", data={**base, "quota_minutes": "20"}, follow_redirects=False
    )
    assert resp.status_code == 303
    page = client.get(f"{setup}/study")
    assert page.status_code == 200 and csrf_from(page.text)
    assert page.text.count("/join/") == 2 and "sig=" in page.text
