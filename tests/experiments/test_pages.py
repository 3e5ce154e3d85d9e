"""The admin's experiment pages and the labeler's loop, as a browser would use them."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Experiment, Task, TaskStatus
from tests.support.db import fresh
from tests.support.experiments import check_invariants, corpus, labelers, store_fake_assistance
from tests.support.web import login, make_user


def _admin(client: TestClient, db: Session) -> str:
    make_user(db, "ada", "admin")
    return login(client, "ada")


def test_admin_creates_launches_and_watches_an_experiment(client: TestClient, db: Session) -> None:
    answers = corpus(db, passages=2)
    store_fake_assistance(db, answers)
    names = labelers(db, 6)
    db.commit()
    token = _admin(client, db)
    form = client.get("/admin/experiments/new").text
    assert all(n in form for n in names)
    resp = client.post(
        "/admin/experiments",
        data={
            "csrf_token": token,
            "name": "pilot",
            "sources": ["model", "human", "human_misleading"],
            "labelers": names,
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    exp = db.scalar(select(Experiment).where(Experiment.name == "pilot"))
    assert exp is not None and exp.status == "draft"
    detail = client.get(f"/admin/experiments/{exp.id}").text
    assert "Launch" in detail and "model/assist" in detail
    client.post(f"/admin/experiments/{exp.id}/launch", data={"csrf_token": token})
    fresh(db)
    assert db.get(Experiment, exp.id).status == "launched"  # type: ignore[union-attr]
    assert len(db.scalars(select(Task)).all()) == 12
    # Three labelers take tasks; the progress fragment shows them as open.
    for name in names[:3]:
        lab = TestClient(client.app)
        t = login(lab, name)
        resp = lab.post("/labeler/next", data={"csrf_token": t}, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/tasks/")
        page = lab.get(resp.headers["location"]).text
        assert "Find the flaws in this answer" in page
        for leak in ("human_misleading", "model/", "no_assist", "source"):
            assert leak not in page
    fragment = client.get(f"/admin/experiments/{exp.id}/progress").text
    assert fragment.count("<td>labeler") == 0  # usernames are lab*, see below
    assert "lab0" in fragment and "Back to the pool" in fragment
    fresh(db)
    open_task = db.scalar(select(Task).where(Task.status == TaskStatus.assigned))
    assert open_task is not None
    resp = client.post(
        f"/admin/tasks/{open_task.id}/reassign", data={"csrf_token": token, "exp_id": exp.id}
    )
    assert resp.status_code == 200
    fresh(db)
    assert db.get(Task, open_task.id).status == "pending"  # type: ignore[union-attr]
    client.post(f"/admin/experiments/{exp.id}/pause", data={"csrf_token": token})
    fresh(db)
    assert db.get(Experiment, exp.id).status == "paused"  # type: ignore[union-attr]
    assert "pilot" in client.get("/admin").text
    check_invariants(db)


def test_a_bad_design_is_shown_on_the_form(client: TestClient, db: Session) -> None:
    corpus(db, passages=1)
    db.commit()
    token = _admin(client, db)
    resp = client.post(
        "/admin/experiments",
        data={"csrf_token": token, "name": "x", "sources": ["model"], "labelers": ["nobody"]},
    )
    assert resp.status_code == 400 and "no such users: nobody" in resp.text


def test_unfillable_experiment_says_why(client: TestClient, db: Session) -> None:
    corpus(db, passages=1)
    names = labelers(db, 3)
    db.commit()
    token = _admin(client, db)
    client.post(
        "/admin/experiments",
        data={
            "csrf_token": token,
            "name": "small",
            "sources": ["model", "human", "human_misleading"],
            "labelers": names,
        },
    )
    exp = db.scalar(select(Experiment))
    assert exp is not None
    page = client.get(f"/admin/experiments/{exp.id}").text
    assert (
        "Cannot be filled" in page and "3 labelers in the pool, but each question needs 6" in page
    )


def test_labeler_api_next_get_skip(client: TestClient, db: Session) -> None:
    answers = corpus(db, passages=2)
    store_fake_assistance(db, answers)
    names = labelers(db, 6)
    db.commit()
    from app.experiments import design
    from app.users.service import api_token_for

    exp = design.create(db, design.Design(name="api", sources=["model"], labelers=names))
    design.launch(db, exp.id)
    token = api_token_for(db, names[0])
    other = api_token_for(db, names[1])
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    got = client.post("/api/v1/tasks/next", headers=auth).json()
    assert got["task_id"] is not None and got["resumed"] is False
    task = client.get(f"/api/v1/tasks/{got['task_id']}", headers=auth).json()
    assert set(task) == {
        "id",
        "status",
        "question",
        "answer",
        "passage_title",
        "passage",
        "assistance",
        "critiques",
        "rating",
    }
    assert "source" not in str(task) and "condition" not in str(task)
    assert (
        client.get(
            f"/api/v1/tasks/{got['task_id']}", headers={"Authorization": f"Bearer {other}"}
        ).status_code
        == 403
    )
    assert client.get("/api/v1/tasks/9999", headers=auth).json()["error"]["code"] == "not_found"
    resp = client.post(
        f"/api/v1/tasks/{got['task_id']}/skip",
        headers=auth,
        json={"reason": "I have read this text before"},
    )
    assert resp.status_code == 200
    assert (
        client.post(
            f"/api/v1/tasks/{got['task_id']}/skip", headers=auth, json={"reason": "again"}
        ).status_code
        == 403
    )


def test_experiment_api_create_edit_launch(client: TestClient, db: Session) -> None:
    corpus(db, passages=1)
    names = labelers(db, 6)
    make_user(db, "ada", "admin")
    from app.users.service import api_token_for

    auth = {"Authorization": f"Bearer {api_token_for(db, 'ada')}"}
    created = client.post(
        "/api/v1/experiments",
        headers=auth,
        json={"name": "a", "labelers": names[:2], "sources": ["model"]},
    )
    assert created.status_code == 201, created.text
    exp_id = created.json()["id"]
    edited = client.put(
        f"/api/v1/experiments/{exp_id}", headers=auth, json={"name": "b", "labelers": names}
    )
    assert edited.json()["name"] == "b"
    assert client.post(f"/api/v1/experiments/{exp_id}/launch", headers=auth).json()["tasks"] == 6
    again = client.put(
        f"/api/v1/experiments/{exp_id}", headers=auth, json={"name": "c", "labelers": names}
    )
    assert again.status_code == 409 and "cannot change" in again.json()["error"]["message"]
