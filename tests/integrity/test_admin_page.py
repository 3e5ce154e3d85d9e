"""The admin's integrity page: a near copy in a no-assist task is flagged with its evidence;
excluding a task or a labeler records who and why; lifting keeps the record."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.experiments import design
from app.integrity import service
from app.models import AssistanceCritique, Exclusion, Task, TaskIntegrity, User
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, store_fake_assistance
from tests.support.web import csrf_from, login, make_user


def _labeled(client: TestClient, db: Session) -> tuple[int, int, int]:
    """Two labelers, one model answer (assist and no-assist tasks): the no-assist labeler
    pastes the assist arm's first model critique. Returns (experiment, copied task, other)."""
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, 2)
    exp = design.create(db, design.Design(name="i", sources=["model"], labelers=names))
    design.launch(db, exp.id)
    first = db.scalars(select(AssistanceCritique).order_by(AssistanceCritique.rank)).first()
    assert first is not None
    first.text = model_text = "The answer puts the flood in spring; the passage says autumn."
    db.commit()
    copied = other = 0
    for name in names:
        auth = {"Authorization": f"Bearer {api_token_for(db, name)}"}
        task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
        assisted = bool(client.get(f"/api/v1/tasks/{task_id}", headers=auth).json()["assistance"])
        text = "The ending is told out of order." if assisted else model_text
        prov = {"critiques": [{"position": 1, "pasted_chars": len(text)}]} if not assisted else None
        body = {
            "critiques": [{"text": text, "severity": 2, "category": "accuracy"}],
            "rating": 3,
            "provenance": prov,
        }
        assert (
            client.post(f"/api/v1/tasks/{task_id}/submit", headers=auth, json=body).status_code
            == 200
        )
        if assisted:
            other = task_id
        else:
            copied = task_id
    return exp.id, copied, other


def test_flags_evidence_and_exclusions(client: TestClient, db: Session) -> None:
    exp_id, copied, other = _labeled(client, db)
    make_user(db, "boss", "admin")
    db.commit()
    login(client, "boss")
    page = client.get(f"/admin/experiments/{exp_id}/integrity")
    assert page.status_code == 200
    fresh(db)
    check = db.get(TaskIntegrity, copied)
    assert check is not None
    assert check.flags == ["near_copy_no_assist", "mostly_pasted"]
    assert check.evidence["max_similarity"] == 1.0 and check.evidence["pasted_share"] == 1.0
    clean = db.get(TaskIntegrity, other)
    assert (
        clean is not None and clean.flags == [] and clean.evidence["provenance_recorded"] is False
    )
    assert f"#{copied}" in page.text and "Near copy of a model critique" in page.text
    assert service.refresh(db, exp_id) == 0  # made once

    url = f"/admin/experiments/{exp_id}/integrity/exclusions"
    csrf = csrf_from(page.text)
    no_reason = client.post(url, data={"csrf_token": csrf, "task_id": copied, "reason": " "})
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    resp = client.post(
        url,
        data={"csrf_token": csrf, "task_id": copied, "reason": "pasted the model"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    labeler = db.scalar(select(Task.labeler_id).where(Task.id == other))
    resp = client.post(
        url,
        data={"csrf_token": csrf, "labeler_id": labeler, "reason": "attention check"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    again = client.post(url, data={"csrf_token": csrf, "task_id": copied, "reason": "twice"})
    assert again.status_code == 409
    fresh(db)
    rows = db.scalars(select(Exclusion).order_by(Exclusion.id)).all()
    boss = db.scalar(select(User.id).where(User.username == "boss"))
    assert [(r.task_id, r.labeler_id, r.reason, r.excluded_by_id) for r in rows] == [
        (copied, None, "pasted the model", boss),
        (None, labeler, "attention check", boss),
    ]
    resp = client.post(
        f"/admin/integrity/exclusions/{rows[0].id}/lift",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    fresh(db)
    lifted = db.get(Exclusion, rows[0].id)
    assert lifted is not None and lifted.lifted_by_id == boss and lifted.lifted_at is not None
    page = client.get(f"/admin/experiments/{exp_id}/integrity")
    assert "pasted the model" in page.text and "by boss" in page.text


def test_other_thresholds_check_again(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored check names its thresholds; changed settings make it again, with them."""
    exp_id, copied, _ = _labeled(client, db)
    assert service.refresh(db, exp_id) == 2
    assert service.refresh(db, exp_id) == 0
    monkeypatch.setenv("CRITIQUELAB_INTEGRITY_PASTED_MIN_CHARS", "1000")
    get_settings.cache_clear()
    try:
        assert service.refresh(db, exp_id) == 2
        check = db.get(TaskIntegrity, copied)
        assert check is not None
        db.refresh(check)
        assert check.flags == ["near_copy_no_assist"]  # too little pasted now to count
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_the_analysis_api_counts_tasks_flagged_since_the_last_check(
    client: TestClient, db: Session
) -> None:
    """The API checks new tasks and reads them in the same request (on SQLite too)."""
    exp_id, _, _ = _labeled(client, db)
    make_user(db, "reader", "researcher")
    db.commit()
    login(client, "reader")
    report = client.get(f"/api/v1/experiments/{exp_id}/analysis").json()
    assert report["integrity"]["left_out_tasks"] == 1  # the copied no-assist task
