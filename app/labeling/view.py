"""What a labeler may see of a task. Blinded: never the answer's source, the condition's
name, or anyone else's work; assistance only in assist conditions (which the labeler sees)."""

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.core.errors import Forbidden, NotFound
from app.models import (
    Answer,
    AssistanceCritique,
    LabelerCritique,
    Passage,
    Question,
    Rating,
    Task,
)


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


# Built once: a statement's cache key and compiled SQL are then reused on every request.
# Core rows, no ORM objects: this runs on every task page and GET /api/v1/tasks/{id}.
_TASK = (
    select(
        Task.id,
        Task.status,
        Task.labeler_id,
        Task.assistance_set_id,
        Question.text,
        Answer.text,
        Passage.title,
        Passage.text,
        Rating.value,
    )
    .join(Answer, Answer.id == Task.answer_id)
    .join(Question, Question.id == Answer.question_id)
    .join(Passage, Passage.id == Question.passage_id)
    .outerjoin(Rating, Rating.task_id == Task.id)
    .where(Task.id == bindparam("task_id"))
)
_ASSISTANCE = (
    select(
        AssistanceCritique.id,
        AssistanceCritique.rank,
        AssistanceCritique.text,
        AssistanceCritique.helpfulness_score,
    )
    .where(AssistanceCritique.assistance_set_id == bindparam("set_id"))
    .order_by(AssistanceCritique.rank)
)
_CRITIQUES = (
    select(
        LabelerCritique.id,
        LabelerCritique.text,
        LabelerCritique.severity,
        LabelerCritique.category,
        LabelerCritique.category_text,
        LabelerCritique.assistance_critique_id,
        LabelerCritique.quote_of,
        LabelerCritique.quote_start,
        LabelerCritique.quote_end,
    )
    .where(LabelerCritique.task_id == bindparam("task_id"))
    .order_by(LabelerCritique.position)
)


def task_view(session: Session, labeler_id: int, task_id: int) -> TaskView:
    session.flush()  # the reads below go past the ORM: let them see pending changes
    conn = session.connection()
    row = conn.execute(_TASK, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(f"no task {task_id}")
    tid, status, owner, set_id, question, answer, title, passage, rating = row
    if owner != labeler_id:
        raise Forbidden("this task is not yours")
    assistance: list[AssistanceItem] = []
    if set_id is not None:
        assistance = [AssistanceItem(*r) for r in conn.execute(_ASSISTANCE, {"set_id": set_id})]
    critiques = [CritiqueView(*r) for r in conn.execute(_CRITIQUES, {"task_id": tid})]
    return TaskView(tid, status, question, answer, title, passage, assistance, critiques, rating)


def task_json(view: TaskView) -> dict[str, object]:
    """TaskView as JSON-ready dicts, built directly (no validation of what we built)."""
    return {
        "id": view.id,
        "status": view.status,
        "question": view.question,
        "answer": view.answer,
        "passage_title": view.passage_title,
        "passage": view.passage,
        "assistance": [
            {"id": a.id, "rank": a.rank, "text": a.text, "helpfulness": a.helpfulness}
            for a in view.assistance
        ],
        "critiques": [
            {
                "id": c.id,
                "text": c.text,
                "severity": c.severity,
                "category": c.category,
                "category_text": c.category_text,
                "assistance_critique_id": c.assistance_critique_id,
                "quote_of": c.quote_of,
                "quote_start": c.quote_start,
                "quote_end": c.quote_end,
            }
            for c in view.critiques
        ],
        "rating": view.rating,
    }
