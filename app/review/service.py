"""The intended-critique check.

When every labeling task on an authored misleading answer in an experiment is submitted,
its author gets a review: for each labeler (anonymised, condition hidden) which intended
critiques their critiques cover, and for each critique whether it is valid and, if so,
novel (a real flaw the author did not intend). Drafts are saved as the form changes;
submit checks that every part is decided and stores it once.
"""

import hashlib
import hmac
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict, NotFound
from app.core.locking import get_for_update
from app.core.ownership import get_owned
from app.core.settings import get_settings
from app.corpus.repository import CorpusRepository
from app.models import (
    Answer,
    AnswerSource,
    ExposureReason,
    IntendedCritique,
    IntendedCritiqueReview,
    LabelerCritique,
    Passage,
    Question,
    ReviewCoverage,
    ReviewJudgement,
    ReviewStatus,
    Task,
    TaskStatus,
    User,
)
from app.review.schemas import CritiqueVerdict, LabelerVerdict, ReviewIn
from app.users.repository import UserRepository


def now() -> datetime:
    return datetime.now(UTC)


def open_if_done(session: Session, task: Task) -> IntendedCritiqueReview | None:
    """Called on each labeling submit: the last task on a misleading answer opens its review."""
    answer = session.get(Answer, task.answer_id)
    if answer is None or answer.source != AnswerSource.human_misleading or answer.author_id is None:
        return None
    # Locked before counting: of two last submits on this answer landing together, the
    # second sees the first and opens the review (each would otherwise miss the other).
    get_for_update(session, Answer, answer.id)
    left = session.scalar(
        select(func.count())
        .select_from(Task)
        .where(
            Task.experiment_id == task.experiment_id,
            Task.answer_id == answer.id,
            Task.status != TaskStatus.submitted,
        )
    )
    if left:
        return None
    review = _find(session, answer.id, task.experiment_id)
    if review is None:
        review = IntendedCritiqueReview(
            answer_id=answer.id, experiment_id=task.experiment_id, reviewer_id=answer.author_id
        )
        session.add(review)
        session.flush()
    return review


def _find(session: Session, answer_id: int, experiment_id: int) -> IntendedCritiqueReview | None:
    return session.scalar(
        select(IntendedCritiqueReview).where(
            IntendedCritiqueReview.answer_id == answer_id,
            IntendedCritiqueReview.experiment_id == experiment_id,
        )
    )


def _tasks(session: Session, review: IntendedCritiqueReview) -> list[Task]:
    """The reviewed labelers' tasks in an order that hides their conditions.

    Within an answer the assist tasks were created first, so any order derived from task
    ids (or from anything the reviewer can see) would tell the author who had model help.
    The order is a shuffle seeded by a keyed hash of the review id: random per review,
    fixed across page loads, and not computable without the server's secret.
    """
    tasks = sorted(
        session.scalars(
            select(Task).where(
                Task.experiment_id == review.experiment_id,
                Task.answer_id == review.answer_id,
                Task.status == TaskStatus.submitted,
            )
        ).all(),
        key=lambda t: t.id,
    )
    seed = hmac.new(
        get_settings().secret_key.encode(), f"review-order:{review.id}".encode(), hashlib.sha256
    ).digest()
    random.Random(seed).shuffle(tasks)
    return tasks


def _own(session: Session, user_id: int, review_id: int) -> IntendedCritiqueReview:
    return get_owned(session, IntendedCritiqueReview, review_id, "reviewer_id", user_id, "review")


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
    review = _own(session, user_id, review_id)
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
    tasks = _tasks(session, review)
    by_task: dict[int, list[LabelerCritique]] = defaultdict(list)
    for c in session.scalars(
        select(LabelerCritique)
        .where(LabelerCritique.task_id.in_([t.id for t in tasks]))
        .order_by(LabelerCritique.task_id, LabelerCritique.position)
    ):
        by_task[c.task_id].append(c)
    state = _state(session, review)
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


@dataclass
class _State:
    labelers: dict[int, LabelerVerdict]
    critiques: dict[int, CritiqueVerdict]


def _state(session: Session, review: IntendedCritiqueReview) -> _State:
    """The draft, or once submitted what was stored."""
    if review.status == ReviewStatus.submitted:
        covers: dict[int, list[int]] = defaultdict(list)
        for cov in session.scalars(
            select(ReviewCoverage).where(ReviewCoverage.review_id == review.id)
        ):
            covers[cov.task_id].append(cov.intended_critique_id)
        judged = session.scalars(
            select(ReviewJudgement).where(ReviewJudgement.review_id == review.id)
        ).all()
        return _State(
            {
                t.id: LabelerVerdict(task_id=t.id, covers=covers[t.id], none=not covers[t.id])
                for t in _tasks(session, review)
            },
            {
                j.labeler_critique_id: CritiqueVerdict(
                    critique_id=j.labeler_critique_id, valid=j.valid, novel=j.novel
                )
                for j in judged
            },
        )
    draft = ReviewIn.model_validate(review.draft or {})
    return _State(
        {v.task_id: v for v in draft.labelers}, {v.critique_id: v for v in draft.critiques}
    )


def save_draft(session: Session, user_id: int, review_id: int, body: ReviewIn) -> None:
    review = _own(session, user_id, review_id)
    if review.status == ReviewStatus.submitted:
        raise Conflict(f"review {review_id} is already submitted")
    _check_ids(session, review, body)
    review.draft = body.model_dump(mode="json")
    session.flush()


def _check_ids(session: Session, review: IntendedCritiqueReview, body: ReviewIn) -> None:
    task_ids = {t.id for t in _tasks(session, review)}
    intended_ids = set(
        session.scalars(
            select(IntendedCritique.id).where(IntendedCritique.answer_id == review.answer_id)
        )
    )
    critique_ids = set(
        session.scalars(select(LabelerCritique.id).where(LabelerCritique.task_id.in_(task_ids)))
    )
    for i, v in enumerate(body.labelers):
        if v.task_id not in task_ids:
            raise AppError(f"labeler {v.task_id} is not part of this review", field=f"labelers.{i}")
        if set(v.covers) - intended_ids:
            raise AppError(
                "that intended critique is not this answer's", field=f"labelers.{i}.covers"
            )
    for i, c in enumerate(body.critiques):
        if c.critique_id not in critique_ids:
            raise AppError(
                f"critique {c.critique_id} is not part of this review", field=f"critiques.{i}"
            )


def submit(
    session: Session, user_id: int, review_id: int, body: ReviewIn | None = None
) -> IntendedCritiqueReview:
    """Store the review from the body (or the saved draft); a second submit changes nothing."""
    review = _own(session, user_id, review_id)
    if review.status == ReviewStatus.submitted:
        return review
    body = body if body is not None else ReviewIn.model_validate(review.draft or {})
    _check_ids(session, review, body)
    view_ = view(session, user_id, review_id)
    labelers = {v.task_id: v for v in body.labelers}
    critiques = {c.critique_id: c for c in body.critiques}
    for lab in view_.labelers:
        v = labelers.get(lab.task_id)
        if v is None or (not v.covers and not v.none):
            raise AppError(
                f"{lab.label}: say which intended critiques they found, or none",
                field=f"labeler.{lab.key}",
            )
        if v.covers and v.none:
            raise AppError(
                f"{lab.label}: 'none' and an intended critique are both ticked",
                field=f"labeler.{lab.key}",
            )
        for c in lab.critiques:
            verdict = critiques.get(c.id)
            if verdict is None or verdict.valid is None:
                raise AppError(
                    f"{lab.label}: say whether each critique is valid", field=f"critique.{c.key}"
                )
            if verdict.valid and verdict.novel is None:
                raise AppError(
                    f"{lab.label}: say whether each valid critique is novel",
                    field=f"critique.{c.key}",
                )
    session.execute(delete(ReviewCoverage).where(ReviewCoverage.review_id == review.id))
    session.execute(delete(ReviewJudgement).where(ReviewJudgement.review_id == review.id))
    for lab in view_.labelers:
        for ic in dict.fromkeys(labelers[lab.task_id].covers):
            session.add(
                ReviewCoverage(review_id=review.id, task_id=lab.task_id, intended_critique_id=ic)
            )
        for c in lab.critiques:
            verdict = critiques[c.id]
            session.add(
                ReviewJudgement(
                    review_id=review.id,
                    labeler_critique_id=c.id,
                    valid=verdict.valid,
                    novel=bool(verdict.valid and verdict.novel),
                )
            )
    review.draft = body.model_dump(mode="json")
    review.status = ReviewStatus.submitted
    review.submitted_at = now()
    session.flush()
    return review


def delegate(session: Session, review_id: int, reviewer: str, author_permission: str) -> None:
    """Hand a review to someone else, recording the author's permission in their words."""
    review = session.get(IntendedCritiqueReview, review_id)
    if review is None:
        raise NotFound(f"no review {review_id}")
    if review.status == ReviewStatus.submitted:
        raise Conflict(f"review {review_id} is already submitted")
    if not author_permission.strip():
        raise AppError("record the author's permission", field="author_permission")
    user = UserRepository(session).get_by_username(reviewer)
    if user is None or not user.is_active:
        raise AppError(f"no active user named {reviewer!r}", field="reviewer")
    answer = session.get(Answer, review.answer_id)
    assert answer is not None
    labeled_it = session.scalar(
        select(Task.id).where(Task.answer_id == answer.id, Task.labeler_id == user.id).limit(1)
    )
    if labeled_it is not None:
        raise Conflict(f"{reviewer} labeled this answer and cannot review it", field="reviewer")
    question = session.get(Question, answer.question_id)
    assert question is not None
    holds_passage = session.scalar(
        select(Task.id)
        .where(
            Task.labeler_id == user.id,
            Task.passage_id == question.passage_id,
            Task.status == TaskStatus.assigned,
        )
        .limit(1)
    )
    if holds_passage is not None:
        raise Conflict(f"{reviewer} is labeling this passage right now", field="reviewer")
    review.reviewer_id = user.id
    review.author_permission = author_permission.strip()
    # Reading the passage to review it counts as seeing it.
    CorpusRepository(session).ensure_exposure(user.id, question.passage_id, ExposureReason.reviewed)
    session.flush()


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
