"""Creating and launching experiments: conditions, tasks, assistance jobs, drafts, pauses."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict
from app.experiments import assignment, design
from app.models import Condition, Job, Task
from tests.support.experiments import corpus, labelers, store_fake_assistance, user_id


def test_launch_creates_one_task_per_answer_and_condition_and_asks_for_assistance(
    db: Session,
) -> None:
    answers = corpus(db, passages=2)
    names = labelers(db, 6)
    exp = design.create(db, design.Design(name="e", sources=design.ALL_SOURCES, labelers=names))
    assert exp.status == "draft"
    n = design.launch(db, exp.id)
    assert n == len(answers) * 2 == 12
    conds = db.scalars(select(Condition).where(Condition.experiment_id == exp.id)).all()
    assert sorted(c.name for c in conds) == sorted(
        f"{s}/{a}" for s in ("model", "human", "human_misleading") for a in ("assist", "no_assist")
    )
    jobs = db.scalars(select(Job)).all()
    assert {j.kind for j in jobs} == {"assistance"} and len(jobs) == len(answers)
    assert exp.status == "launched"


def test_paper_style_experiment_on_model_answers_has_two_conditions(db: Session) -> None:
    answers = corpus(db, passages=1)
    exp = design.create(db, design.Design(name="m", sources=["model"], labelers=labelers(db, 2)))
    assert design.launch(db, exp.id) == 2
    assert len(answers) == 3


def test_labelers_per_condition(db: Session) -> None:
    corpus(db, passages=1)
    exp = design.create(
        db,
        design.Design(
            name="x", sources=["model"], labelers=labelers(db, 4), labelers_per_condition=2
        ),
    )
    assert design.launch(db, exp.id) == 4
    slots = db.scalars(select(Task.slot)).all()
    assert sorted(slots) == [0, 0, 1, 1]


def test_bad_designs_are_refused_with_the_field(db: Session) -> None:
    corpus(db, passages=1)
    names = labelers(db, 2)
    with pytest.raises(AppError, match="sources must be some of") as e:
        design.create(db, design.Design(name="x", sources=["robot"], labelers=names))
    assert e.value.field == "sources"
    with pytest.raises(AppError, match="no such users: ghost"):
        design.create(db, design.Design(name="x", sources=["model"], labelers=["ghost"]))
    with pytest.raises(AppError, match="no such questions"):
        design.create(
            db, design.Design(name="x", sources=["model"], labelers=names, question_ids=[999])
        )


def test_a_draft_can_change_a_launched_experiment_cannot(db: Session) -> None:
    corpus(db, passages=1)
    names = labelers(db, 6)
    exp = design.create(db, design.Design(name="d", sources=["model"], labelers=names[:2]))
    design.update_draft(
        db, exp.id, design.Design(name="d2", sources=["model", "human"], labelers=names)
    )
    assert exp.name == "d2"
    assert (
        db.scalar(
            select(func.count()).select_from(Condition).where(Condition.experiment_id == exp.id)
        )
        == 4
    )
    design.launch(db, exp.id)
    with pytest.raises(Conflict, match="cannot change"):
        design.update_draft(db, exp.id, design.Design(name="d3", sources=["model"], labelers=names))
    with pytest.raises(Conflict, match="already launched"):
        design.launch(db, exp.id)


def test_paused_experiments_hand_out_nothing_until_resumed(db: Session) -> None:
    answers = corpus(db, passages=1)
    names = labelers(db, 6)
    store_fake_assistance(db, answers)
    exp = design.create(db, design.Design(name="p", sources=["model"], labelers=names))
    design.launch(db, exp.id)
    design.set_paused(db, exp.id, True)
    assert assignment.next_task(db, user_id(db, names[0])).task_id is None
    design.set_paused(db, exp.id, False)
    assert assignment.next_task(db, user_id(db, names[0])).task_id is not None


def test_fill_problems_explain_what_is_missing(db: Session) -> None:
    corpus(db, passages=2, questions_per_passage=2)
    exp = design.create(
        db, design.Design(name="f", sources=design.ALL_SOURCES, labelers=labelers(db, 4))
    )
    problems = design.fill_problems(db, exp.id)
    assert any("4 labelers in the pool, but each question needs 6" in p for p in problems)
    assert any(
        "2 of 2 passages have more tasks than labelers who have not seen them" in p
        for p in problems
    )
