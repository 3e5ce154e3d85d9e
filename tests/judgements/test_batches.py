"""Judgement batches: who gets which task, what is shown, and the exposure rules."""

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import AppError
from app.experiments import assignment, design
from app.models import AssistanceCritique, AssistanceSet, PassageExposure, Question
from app.models.judgements import JudgementBatch, JudgementCritique, JudgementTask
from tests.judgements.helpers import batch, judged_corpus, shown, tasks_of
from tests.support.experiments import labelers, user_id
from tests.support.web import login, make_user


def test_each_question_goes_to_n_different_labelers_least_loaded_first(db: Session) -> None:
    qids, names = judged_corpus(db, passages=3, n_labelers=4)
    batch(db, qids, names, per=2)
    tasks = list(db.scalars(select(JudgementTask)))
    assert len(tasks) == 6
    for qid in qids:
        judges = [t.labeler_id for t in tasks if t.question_id == qid]
        assert len(judges) == len(set(judges)) == 2
    load = Counter(t.labeler_id for t in tasks)
    assert max(load.values()) - min(load.values()) <= 1
    # The record ids are the paper's kind: 30 letters and digits, unique.
    assert len({t.record_id for t in tasks}) == 6
    assert all(len(t.record_id) == 30 and t.record_id.isalnum() for t in tasks)


def test_a_task_shows_every_stored_model_critique_of_the_question_shuffled(db: Session) -> None:
    qids, names = judged_corpus(db, passages=1, n_labelers=2)
    batch(db, qids, names, per=2)
    first, second = db.scalars(select(JudgementTask).order_by(JudgementTask.id)).all()
    stored = db.scalars(
        select(AssistanceCritique.text).join(
            AssistanceSet, AssistanceSet.id == AssistanceCritique.assistance_set_id
        )
    ).all()
    assert sorted(shown(db, first.id)) == sorted(stored) == sorted(shown(db, second.id))
    assert len(stored) == 6  # three answers, two critiques each
    # Each critique remembers the assistance critique it copies.
    linked = db.scalars(select(JudgementCritique.assistance_critique_id)).all()
    assert None not in linked


def test_judging_records_an_exposure_so_the_judge_never_labels_that_passage(
    db: Session,
) -> None:
    qids, names = judged_corpus(db, passages=1, n_labelers=1)
    batch(db, qids, names)
    uid = user_id(db, names[0])
    reasons = db.scalars(select(PassageExposure.reason).where(PassageExposure.user_id == uid))
    assert list(reasons) == ["judged"]
    exp = design.create(db, design.Design(name="e", sources=["model"], labelers=names))
    design.launch(db, exp.id)
    got = assignment.next_task(db, uid)
    assert got.task_id is None  # the only passage is one they judged


def test_a_labeler_who_labeled_a_passage_never_judges_it(db: Session) -> None:
    qids, _ = judged_corpus(db, passages=1, n_labelers=0)
    names = labelers(db, 2, prefix="exp")
    exp = design.create(db, design.Design(name="e", sources=["model"], labelers=names))
    design.launch(db, exp.id)
    uid = user_id(db, names[0])
    assert assignment.next_task(db, uid).task_id is not None
    db.commit()
    with pytest.raises(AppError) as err:
        batch(db, qids, names, per=2)
    assert err.value.field == "labelers" and "only 1 of the labelers" in err.value.message
    db.rollback()
    assert db.scalar(select(func.count()).select_from(JudgementBatch)) == 0
    # The other labeler alone may judge it.
    batch(db, qids, [names[1]])
    assert [t.question_id for t in tasks_of(db, names[1])] == qids


def test_a_judge_may_judge_other_questions_of_the_same_passage_not_the_same_twice(
    db: Session,
) -> None:
    qids, names = judged_corpus(db, passages=1, n_labelers=1)
    batch(db, qids, names, name="first")
    with pytest.raises(AppError) as err:
        batch(db, qids, names, name="second")
    assert err.value.field == "labelers"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"per": 3}, "judgements_per_critique"),
        ({"qids": [999]}, "question_ids"),
        ({"names": ["nobody"]}, "labelers"),
        ({"names": ["boss"]}, "labelers"),
    ],
)
def test_bad_batches_name_the_field_and_store_nothing(
    db: Session, change: dict[str, object], field: str
) -> None:
    qids, names = judged_corpus(db, passages=1, n_labelers=2)
    make_user(db, "boss", "admin")
    args = {"qids": qids, "names": names, "per": 1, **change}
    with pytest.raises(AppError) as err:
        batch(db, args["qids"], args["names"], per=args["per"])  # type: ignore[arg-type]
    assert err.value.field == field
    db.rollback()
    assert db.scalar(select(func.count()).select_from(JudgementTask)) == 0


def test_a_question_without_model_critiques_cannot_be_judged(db: Session) -> None:
    from tests.support.experiments import corpus

    corpus(db, 1)
    names = labelers(db, 1)
    qid = db.scalar(select(Question.id))
    assert qid is not None
    with pytest.raises(AppError) as err:
        batch(db, [qid], names)
    assert err.value.field == "question_ids" and "no model critiques" in err.value.message


def test_admin_creates_a_batch_through_the_api_and_sees_progress(
    client: TestClient, db: Session
) -> None:
    qids, names = judged_corpus(db, passages=2, n_labelers=2)
    make_user(db, "boss", "admin")
    db.commit()
    csrf = login(client, "boss")
    body = {"name": "pilot", "question_ids": qids, "labelers": names, "judgements_per_critique": 2}
    r = client.post("/api/v1/judgements/batches", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["batch"]["tasks"] == 4 and out["batch"]["open"] == 4
    assert out["batch"]["questions"] == 2 and len(out["task_ids"]) == 4
    assert {x["username"] for x in out["batch"]["labelers"]} == set(names)
    again = client.post("/api/v1/judgements/batches", json=body, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409 and again.json()["error"]["field"] == "name"
    bad = client.post(
        "/api/v1/judgements/batches",
        json={**body, "name": "x", "judgements_per_critique": 0},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "judgements_per_critique"
    listed = client.get("/api/v1/judgements/batches").json()
    assert listed["count"] == 1 and listed["data"][0]["name"] == "pilot"
    assert client.get(f"/api/v1/judgements/batches/{out['batch']['id']}").json()["tasks"] == 4
    page = client.get("/admin/judgements")
    assert "pilot" in page.text and "0 of 4" in page.text


def test_admin_page_form_creates_a_batch_or_says_what_is_wrong(
    client: TestClient, db: Session
) -> None:
    qids, names = judged_corpus(db, passages=1, n_labelers=1)
    make_user(db, "boss", "admin")
    db.commit()
    csrf = login(client, "boss")
    page = client.get("/admin/judgements")
    assert f'value="{qids[0]}"' in page.text and names[0] in page.text
    form = {"name": "p", "question_ids": qids, "labelers": names, "csrf_token": csrf}
    refused = client.post("/admin/judgements", data={**form, "judgements_per_critique": "2"})
    assert refused.status_code == 422 and "need at least 2 labelers" in refused.text
    r = client.post("/admin/judgements", data=form, follow_redirects=False)
    assert r.status_code == 303 and "1 judgement task" in r.headers["location"]


def test_labelers_and_researchers_cannot_create_batches(client: TestClient, db: Session) -> None:
    qids, names = judged_corpus(db, passages=1, n_labelers=1)
    make_user(db, "reader", "researcher")
    db.commit()
    body = {"name": "x", "question_ids": qids, "labelers": names}
    for who in (names[0], "reader"):
        csrf = login(client, who)
        r = client.post("/api/v1/judgements/batches", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403
        client.cookies.clear()
