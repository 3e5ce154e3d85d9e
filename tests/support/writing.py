"""Human answers written through the app, labeled by an experiment: the ground for reviews."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import AppError
from app.corpus.repository import CorpusRepository
from app.experiments import assignment, design
from app.labeling import service as labeling
from app.labeling.schemas import CritiqueIn, SubmitIn
from app.models import Answer, Task
from app.users.service import create_user
from app.writing import service as writing
from app.writing.schemas import WritingDraftIn, WritingIn
from tests.support.experiments import labelers, store_fake_assistance, user_id

HONEST = "The story is set in a lighthouse on a northern island in winter."
MISLEADING = "The story is set in a lighthouse on a southern island in summer."
INTENDED = {"text": "It is a northern island in winter.", "severity": 3, "category": "accuracy"}


def question(db: Session) -> int:
    repo = CorpusRepository(db)
    passage, _ = repo.get_or_create_passage("Light", "A keeper tends a northern lighthouse.")
    question, _ = repo.get_or_create_question(passage, "Summarize the story's setting.")
    repo.get_or_create_answer(question, "model", "A lighthouse somewhere.", temperature=0.3)
    db.flush()
    return question.id


def written(db: Session) -> tuple[int, int]:
    """writer0 writes the human answers of one question; returns (question, writing task)."""
    qid = question(db)
    create_user(db, "writer0", "password-123", "labeler")
    (task,) = writing.assign(db, "writer0", [qid])
    writer = user_id(db, "writer0")
    writing.save_draft(db, writer, task.id, WritingDraftIn(honest_text=HONEST))
    with pytest.raises(AppError) as err:
        writing.submit(db, writer, task.id)  # the draft lacks the misleading answer
    assert err.value.field == "misleading_text"
    body = WritingIn(honest_text=HONEST, misleading_text=MISLEADING, intended_critiques=[INTENDED])
    writing.submit(db, writer, task.id, body)
    writing.submit(db, writer, task.id, body)  # twice stores once
    return qid, task.id


def label_everything(db: Session, names: list[str]) -> None:
    for name in names:
        uid = user_id(db, name)
        while (got := assignment.next_task(db, uid)).task_id is not None:
            task = db.get(Task, got.task_id)
            assert task is not None
            critiques = [
                CritiqueIn(text=f"Objection number {uid}.", severity=2, category="coverage")
            ]
            labeling.submit(db, uid, task.id, SubmitIn(critiques=critiques, rating=4))


def answers_ids(db: Session) -> list[int]:
    return list(db.scalars(select(Answer.id)))


def labeled_misleading(db: Session, name: str, n_labelers: int = 2) -> tuple[int, list[str]]:
    """An experiment on the misleading answers, labeled to the end: their reviews are open."""
    names = labelers(db, n_labelers)
    exp = design.create(db, design.Design(name=name, sources=["human_misleading"], labelers=names))
    design.launch(db, exp.id)
    store_fake_assistance(db, answers_ids(db))
    label_everything(db, names)
    return exp.id, names
