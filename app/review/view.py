"""What a review shows: its reviewer's view (labelers under pseudonyms, never by condition;
app/review/blinding.py strips the internal ids at the edge), and the admin's listings."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Answer,
    AnswerSource,
    IntendedCritique,
    IntendedCritiqueReview,
    LabelerCritique,
    Passage,
    Question,
    ReviewStatus,
    Task,
    TaskStatus,
    User,
)
from app.review.repository import own, tasks_of, verdicts
from app.review.schemas import CritiqueVerdict, LabelerVerdict


@dataclass
class ReviewedCritique:
    id: int  # internal: never shown to the reviewer (see public_view)
    key: str  # what the reviewer sees and sends back: "A1" is Labeler A's first critique
    text: str
    severity: int
    category: str
    category_text: str | None
    valid: bool | None = None
    novel: bool | None = None


@dataclass
class ReviewedLabeler:
    key: str  # "A": a pseudonym for this review only
    label: str  # "Labeler A": no name, no condition
    task_id: int  # internal: never shown to the reviewer (see public_view)
    critiques: list[ReviewedCritique]
    covers: list[int] = field(default_factory=list)
    none: bool = False


@dataclass
class ReviewView:
    id: int
    status: str
    passage_title: str | None
    passage_text: str
    question: str
    answer: str
    intended: list[dict[str, object]]
    labelers: list[ReviewedLabeler]
    delegated: bool


def _letters(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def view(session: Session, user_id: int, review_id: int) -> ReviewView:
    review = own(session, user_id, review_id)
    answer = session.get(Answer, review.answer_id)
    assert answer is not None
    question = session.get(Question, answer.question_id)
    assert question is not None
    passage = session.get(Passage, question.passage_id)
    assert passage is not None
    intended = session.scalars(
        select(IntendedCritique)
        .where(IntendedCritique.answer_id == answer.id)
        .order_by(IntendedCritique.position)
    ).all()
    tasks = tasks_of(session, review)
    by_task: dict[int, list[LabelerCritique]] = defaultdict(list)
    for c in session.scalars(
        select(LabelerCritique)
        .where(LabelerCritique.task_id.in_([t.id for t in tasks]))
        .order_by(LabelerCritique.task_id, LabelerCritique.position)
    ):
        by_task[c.task_id].append(c)
    state = verdicts(session, review)
    labelers = []
    for i, t in enumerate(tasks):
        verdict = state.labelers.get(t.id, LabelerVerdict(task_id=t.id))
        key = _letters(i)
        labelers.append(
            ReviewedLabeler(
                key=key,
                label=f"Labeler {key}",
                task_id=t.id,
                covers=verdict.covers,
                none=verdict.none,
                critiques=[
                    ReviewedCritique(
                        c.id,
                        f"{key}{n}",
                        c.text,
                        c.severity,
                        c.category,
                        c.category_text,
                        state.critiques.get(c.id, CritiqueVerdict(critique_id=c.id)).valid,
                        state.critiques.get(c.id, CritiqueVerdict(critique_id=c.id)).novel,
                    )
                    for n, c in enumerate(by_task[t.id], 1)
                ],
            )
        )
    return ReviewView(
        id=review.id,
        status=review.status,
        passage_title=passage.title,
        passage_text=passage.text,
        question=question.text,
        answer=answer.text,
        intended=[
            {"id": ic.id, "text": ic.text, "severity": ic.severity, "category": ic.category}
            for ic in intended
        ],
        labelers=labelers,
        delegated=review.author_permission is not None,
    )


def mine(session: Session, user_id: int) -> Sequence[IntendedCritiqueReview]:
    return session.scalars(
        select(IntendedCritiqueReview)
        .where(IntendedCritiqueReview.reviewer_id == user_id)
        .order_by(IntendedCritiqueReview.id)
    ).all()


@dataclass(frozen=True)
class ReviewRow:
    id: int
    experiment_id: int
    answer_id: int
    author: str | None
    reviewer: str
    status: str
    author_permission: str | None


def listing(session: Session, experiment_id: int | None = None) -> list[ReviewRow]:
    author = User.__table__.alias("author")
    query = (
        select(
            IntendedCritiqueReview,
            User.username,
            author.c.username,
        )
        .join(User, User.id == IntendedCritiqueReview.reviewer_id)
        .join(Answer, Answer.id == IntendedCritiqueReview.answer_id)
        .outerjoin(author, author.c.id == Answer.author_id)
        .order_by(IntendedCritiqueReview.id)
    )
    if experiment_id is not None:
        query = query.where(IntendedCritiqueReview.experiment_id == experiment_id)
    return [
        ReviewRow(r.id, r.experiment_id, r.answer_id, a, u, r.status, r.author_permission)
        for r, u, a in session.execute(query)
    ]


def counts(session: Session, experiment_id: int) -> dict[str, int]:
    """Reviews open and submitted, and misleading answers whose labeling is not done yet."""
    out = {s.value: 0 for s in ReviewStatus}
    for status, n in session.execute(
        select(IntendedCritiqueReview.status, func.count())
        .where(IntendedCritiqueReview.experiment_id == experiment_id)
        .group_by(IntendedCritiqueReview.status)
    ):
        out[status] = n
    out["waiting_for_labels"] = (
        session.scalar(
            select(func.count(func.distinct(Task.answer_id)))
            .join(Answer, Answer.id == Task.answer_id)
            .where(
                Task.experiment_id == experiment_id,
                Answer.source == AnswerSource.human_misleading,
                Answer.author_id.is_not(None),
                Task.status != TaskStatus.submitted,
            )
        )
        or 0
    )
    return out
