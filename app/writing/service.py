"""Writing tasks: an admin asks a labeler to write the human answers of some questions.

The writer reads the passage and writes an honest answer, a misleading answer with a
hidden flaw, and the intended critiques naming that flaw. Submitting stores them as the
question's `human` and `human_misleading` answers, authored by the writer, all or nothing.
The writer has read the passage from the moment the task is assigned, so the assignment
records the exposure: the labeling assignment then never gives them that passage.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict
from app.core.ownership import get_owned
from app.corpus.repository import CorpusRepository
from app.models import (
    AnswerSource,
    ExposureReason,
    IntendedCritique,
    Passage,
    PassageExposure,
    Question,
    Role,
    Task,
    TaskStatus,
    User,
    WritingStatus,
    WritingTask,
)
from app.models.base import utcnow as now
from app.users.repository import UserRepository
from app.writing.schemas import WritingDraftIn, WritingIn


def assign(
    session: Session, writer: str, question_ids: Sequence[int], assigned_by: int | None = None
) -> list[WritingTask]:
    user = UserRepository(session).get_by_username(writer)
    if user is None or not user.is_active:
        raise AppError(f"no active user named {writer!r}", field="writer")
    if user.role != Role.labeler:
        raise AppError(f"{writer} is a {user.role}; only labelers write answers", field="writer")
    if not question_ids:
        raise AppError("choose at least one question", field="question_ids")
    questions = {
        q.id: q for q in session.scalars(select(Question).where(Question.id.in_(question_ids)))
    }
    missing = sorted(set(question_ids) - set(questions))
    if missing:
        raise AppError(f"no question {missing[0]}", field="question_ids")
    labeled = set(
        session.scalars(
            select(PassageExposure.passage_id).where(
                PassageExposure.user_id == user.id,
                PassageExposure.reason != ExposureReason.authored,
            )
        )
    )
    held = set(
        session.scalars(
            select(Task.passage_id).where(
                Task.labeler_id == user.id, Task.status == TaskStatus.assigned
            )
        )
    )
    repo = CorpusRepository(session)
    tasks = []
    for qid in dict.fromkeys(question_ids):
        question = questions[qid]
        # Someone who labeled answers to this passage has seen other answers: their own
        # would not be independent.
        if question.passage_id in labeled | held:
            raise Conflict(
                f"{writer} has already labeled or reviewed passage {question.passage_id} "
                f"(question {qid}); choose another writer",
                field="writer",
            )
        existing = session.scalar(
            select(WritingTask).where(
                WritingTask.question_id == qid, WritingTask.writer_id == user.id
            )
        )
        if existing is not None:
            tasks.append(existing)
            continue
        task = WritingTask(question_id=qid, writer_id=user.id, assigned_by_id=assigned_by)
        session.add(task)
        repo.ensure_exposure(user.id, question.passage_id, ExposureReason.authored)
        tasks.append(task)
    session.flush()
    return tasks


@dataclass(frozen=True)
class WritingView:
    id: int
    status: str
    passage_title: str | None
    passage_text: str
    question: str
    honest_text: str
    misleading_text: str
    intended_critiques: list[dict[str, object]]


def _own(session: Session, writer_id: int, task_id: int) -> WritingTask:
    return get_owned(session, WritingTask, task_id, "writer_id", writer_id, "writing task")


def _open(session: Session, writer_id: int, task_id: int) -> WritingTask:
    task = _own(session, writer_id, task_id)
    if task.status == WritingStatus.submitted:
        raise Conflict(f"writing task {task_id} is already submitted")
    return task


def view(session: Session, writer_id: int, task_id: int) -> WritingView:
    task = _own(session, writer_id, task_id)
    question = session.get(Question, task.question_id)
    assert question is not None
    passage = session.get(Passage, question.passage_id)
    assert passage is not None
    return WritingView(
        id=task.id,
        status=task.status,
        passage_title=passage.title,
        passage_text=passage.text,
        question=question.text,
        honest_text=task.honest_text or "",
        misleading_text=task.misleading_text or "",
        intended_critiques=list(task.intended_draft or []),
    )


def mine(session: Session, writer_id: int) -> Sequence[WritingTask]:
    return session.scalars(
        select(WritingTask).where(WritingTask.writer_id == writer_id).order_by(WritingTask.id)
    ).all()


def mark_opened(session: Session, writer_id: int, task_id: int) -> None:
    task = _own(session, writer_id, task_id)
    task.opened_at = task.opened_at or now()
    session.flush()


def save_draft(session: Session, writer_id: int, task_id: int, draft: WritingDraftIn) -> None:
    task = _open(session, writer_id, task_id)
    task.honest_text = draft.honest_text
    task.misleading_text = draft.misleading_text
    task.intended_draft = draft.intended_critiques
    task.opened_at = task.opened_at or now()
    session.flush()


def submit(
    session: Session, writer_id: int, task_id: int, body: WritingIn | None = None
) -> WritingTask:
    """Store both answers and the intended critiques; a second submit changes nothing."""
    task = _own(session, writer_id, task_id)
    if task.status == WritingStatus.submitted:
        return task
    if body is None:
        try:
            body = WritingIn(
                honest_text=task.honest_text or "",
                misleading_text=task.misleading_text or "",
                intended_critiques=task.intended_draft or [],  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            raise AppError.from_validation(exc) from exc
    question = session.get(Question, task.question_id)
    assert question is not None
    repo = CorpusRepository(session)
    answers = {}
    for source, text in (
        (AnswerSource.human, body.honest_text.strip()),
        (AnswerSource.human_misleading, body.misleading_text.strip()),
    ):
        answer, created = repo.get_or_create_answer(question, source, text, author_id=writer_id)
        if not created:
            raise Conflict(
                f"question {question.id} already has this exact {source} answer",
                field="misleading_text"
                if source == AnswerSource.human_misleading
                else "honest_text",
            )
        answers[source] = answer
    for pos, c in enumerate(body.intended_critiques):
        session.add(
            IntendedCritique(
                answer_id=answers[AnswerSource.human_misleading].id,
                position=pos,
                text=c.text.strip(),
                severity=c.severity,
                category=c.category.value,
                category_text=c.category_text,
            )
        )
    task.honest_text = body.honest_text
    task.misleading_text = body.misleading_text
    task.intended_draft = [c.model_dump(mode="json") for c in body.intended_critiques]
    task.honest_answer_id = answers[AnswerSource.human].id
    task.misleading_answer_id = answers[AnswerSource.human_misleading].id
    task.status = WritingStatus.submitted
    task.submitted_at = now()
    task.opened_at = task.opened_at or task.submitted_at
    session.flush()
    return task


def all_tasks(session: Session) -> Sequence[tuple[WritingTask, str, str]]:
    """Every writing task with its writer's name and question text, newest first."""
    return session.execute(
        select(WritingTask, User.username, Question.text)
        .join(User, User.id == WritingTask.writer_id)
        .join(Question, Question.id == WritingTask.question_id)
        .order_by(WritingTask.id.desc())
    ).all()  # type: ignore[return-value]


@dataclass(frozen=True)
class QuestionChoice:
    id: int
    text: str
    title: str | None  # the passage's


@dataclass(frozen=True)
class AssignChoices:
    writers: Sequence[str]
    questions: Sequence[QuestionChoice]


def assign_choices(session: Session) -> AssignChoices:
    """Who can be asked to write (active labelers) and about which questions."""
    writers = session.scalars(
        select(User.username)
        .where(User.role == Role.labeler, User.is_active.is_(True))
        .order_by(User.username)
    ).all()
    questions = session.execute(
        select(Question.id, Question.text, Passage.title)
        .join(Passage, Passage.id == Question.passage_id)
        .order_by(Question.id)
    ).all()
    return AssignChoices(writers, [QuestionChoice(*q) for q in questions])
