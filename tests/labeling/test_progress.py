"""The labeler's progress (done, open, at most how many more) and the end page that says why
there is no task, with the reason the server gives."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.experiments import design
from app.labeling import service
from app.labeling.schemas import SubmitIn
from app.models import ExperimentLabeler
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, store_fake_assistance, user_id
from tests.support.web import login


def _next(client: TestClient, token: str) -> str:
    r = client.post("/labeler/next", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return str(r.headers["location"])


def _experiment(db: Session, passages: int, names: list[str]) -> int:
    store_fake_assistance(db, corpus(db, passages=passages))
    exp = design.create(db, design.Design(name="progress", sources=["human"], labelers=names))
    design.launch(db, exp.id)
    db.commit()
    return exp.id


def test_home_and_task_page_count_done_and_what_is_left(client: TestClient, db: Session) -> None:
    names = labelers(db, 2)
    _experiment(db, 3, names)  # 3 passages x 2 conditions: 6 tasks, one per passage each
    token = login(client, names[0])
    home = client.get("/labeler").text
    assert "Your progress" in home and "0 done" in home and "up to 3 more for you" in home
    task_id = int(_next(client, token).rsplit("/", 1)[1])
    page = client.get(f"/tasks/{task_id}").text
    assert "progress: 0 done · this one · up to 2 more after it" in page
    fresh(db)
    service.set_rating(db, user_id(db, names[0]), task_id, 4)
    service.submit(db, user_id(db, names[0]), task_id, SubmitIn(confirm_no_critiques=True))
    db.commit()
    home = client.get("/labeler").text
    assert "1 done" in home and "up to 2 more for you" in home


def test_the_end_page_says_every_passage_was_read(client: TestClient, db: Session) -> None:
    names = labelers(db, 2)
    _experiment(db, 1, names)
    uid = user_id(db, names[0])
    token = login(client, names[0])
    task_id = int(_next(client, token).rsplit("/", 1)[1])
    fresh(db)
    service.set_rating(db, uid, task_id, 4)
    service.submit(db, uid, task_id, SubmitIn(confirm_no_critiques=True))
    db.commit()
    # The other condition's task is on the passage this labeler has read.
    location = _next(client, token)
    assert location == "/labeler/end?reason=passage_rule"
    page = client.get(location).text
    assert "You are done here" in page and "passages you have already read" in page
    assert "1 done" in page and "up to 0 more for you" in page
    assert "Try again" not in page
    # The API gives the same reason, as a sentence and a code.
    auth = {"Authorization": f"Bearer {api_token_for(db, names[0])}"}
    body = client.post("/api/v1/tasks/next", headers=auth).json()
    assert body["task_id"] is None and body["code"] == "passage_rule"
    assert "already read" in body["reason"]


def test_the_end_page_says_all_done_and_paused(client: TestClient, db: Session) -> None:
    names = labelers(db, 3)
    exp_id = _experiment(db, 1, names[:2])
    for name in names[:2]:
        client.cookies.clear()
        _next(client, login(client, name))
    client.cookies.clear()
    token = login(client, names[2])  # not in the experiment yet
    location = _next(client, token)
    assert location == "/labeler/end?reason=no_experiment"
    assert "You are not in any experiment yet" in client.get(location).text
    # The two tasks are held: nothing is left in the pool for anyone.
    client.cookies.clear()
    db.add(ExperimentLabeler(experiment_id=exp_id, user_id=user_id(db, names[2])))
    db.commit()
    token = login(client, names[2])
    location = _next(client, token)
    assert location == "/labeler/end?reason=all_done"
    assert "All tasks are done" in client.get(location).text
    design.set_paused(db, exp_id, True)
    db.commit()
    location = _next(client, token)
    page = client.get(location).text
    assert "Your experiment is paused" in page and "paused by the organisers" in page
    # A made-up reason is not echoed: the page says only what the server knows.
    page = client.get("/labeler/end?reason=<b>hi</b>").text
    assert "<b>hi</b>" not in page and "&lt;b&gt;" not in page
