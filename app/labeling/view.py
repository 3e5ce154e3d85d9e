"""What a labeler may see of a task. Blinded: never the answer's source, the condition's
name, or anyone else's work; assistance only in assist conditions (which the labeler sees)."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.core.ownership import get_owned
from app.models import Answer, AssistanceCritique, LabelerCritique, Question, Rating, Task


@dataclass(frozen=True)
class AssistanceItem:
    id: int
    rank: int
    text: str
    helpfulness: float | None


@dataclass(frozen=True)
class CritiqueView:
    id: int
    text: str
    severity: int
    category: str
    category_text: str | None
    assistance_critique_id: int | None
    quote_of: str | None = None
    quote_start: int | None = None
    quote_end: int | None = None


@dataclass(frozen=True)
class TaskView:
    id: int
    status: str
    question: str
    answer: str
    passage_title: str | None
    passage: str
    assistance: list[AssistanceItem]
    critiques: list[CritiqueView]
    rating: int | None


def task_view(session: Session, labeler_id: int, task_id: int) -> TaskView:
    task = get_owned(session, Task, task_id, "labeler_id", labeler_id, "task")
    answer = session.scalar(
        select(Answer)
        .where(Answer.id == task.answer_id)
        .options(joinedload(Answer.question).joinedload(Question.passage))
    )
    assert answer is not None
    assistance: list[AssistanceItem] = []
    if task.assistance_set_id is not None:
        assistance = [
            AssistanceItem(c.id, c.rank, c.text, c.helpfulness_score)
            for c in session.scalars(
                select(AssistanceCritique)
                .where(AssistanceCritique.assistance_set_id == task.assistance_set_id)
                .order_by(AssistanceCritique.rank)
            )
        ]
    passage = answer.question.passage
    critiques = [
        CritiqueView(
            c.id,
            c.text,
            c.severity,
            c.category,
            c.category_text,
            c.assistance_critique_id,
            c.quote_of,
            c.quote_start,
            c.quote_end,
        )
        for c in session.scalars(
            select(LabelerCritique)
            .where(LabelerCritique.task_id == task.id)
            .order_by(LabelerCritique.position)
        )
    ]
    rating = session.get(Rating, task.id)
    return TaskView(
        task.id,
        task.status,
        answer.question.text,
        answer.text,
        passage.title,
        passage.text,
        assistance,
        critiques,
        rating.value if rating else None,
    )
